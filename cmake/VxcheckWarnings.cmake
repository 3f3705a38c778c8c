# vxcheck_set_warnings(<target>): the project's warning set, -Werror with VXCHECK_WERROR.
function(vxcheck_set_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
                                             -Wnon-virtual-dtor -Wold-style-cast)
    if(VXCHECK_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
