# Writes OUT, the header behind `vxcheck --version`: the project's version and `git describe`
# of the source tree ("" when git or the repository is missing, as in a release tarball).
# Run at every build (src/CMakeLists.txt); file(CONFIGURE) leaves OUT alone when nothing
# changed, so nothing is recompiled then.
# Usage: cmake -DSOURCE_DIR=... -DOUT=... -DVERSION=... -P GitDescribe.cmake
cmake_minimum_required(VERSION 3.25)
find_package(Git QUIET)
set(describe "")
if(GIT_FOUND)
    execute_process(COMMAND "${GIT_EXECUTABLE}" describe --always --dirty --tags
                    WORKING_DIRECTORY "${SOURCE_DIR}"
                    OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE
                    ERROR_QUIET RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        set(describe "")
    endif()
endif()
file(CONFIGURE OUTPUT "${OUT}"
     CONTENT "#pragma once\n#define VXCHECK_VERSION \"@VERSION@\"\n#define VXCHECK_GIT_DESCRIBE \"@describe@\"\n"
     @ONLY)
