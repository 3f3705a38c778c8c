# vxcheck_set_warnings(<target>): the project's warning set, -Werror with VXCHECK_WERROR.
function(vxcheck_set_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
                                             -Wnon-virtual-dtor -Wold-style-cast)
    # GCC 12 reports -Wrestrict inside libstdc++'s std::string concatenation (GCC bug 105651):
    # noise, not our code.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
        target_compile_options(${target} PRIVATE -Wno-restrict)
    endif()
    if(VXCHECK_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
