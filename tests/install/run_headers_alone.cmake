# cmake -DCXX=<compiler> -DINCLUDE=<dir> -DHEADERS=<a.hpp|b.hpp|...> [-DEXPECT_FAILURE=<header>]
#       -P run_headers_alone.cmake
# Compiles each header on its own (a translation unit holding only `#include <header>`, the
# project's warnings as errors, -pedantic-errors: no compiler extensions), so that a header that
# leans on what another header happened to include first fails here, not in a user's build.
# Passes when every header compiles; lists each one that does not with its first errors.
# EXPECT_FAILURE=<header> (the test of this script): passes only when exactly that header fails,
# with an error naming it.
set(flags -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -pedantic-errors -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference
  -Wimplicit-fallthrough -Wno-missing-field-initializers -Werror -I${INCLUDE} -x c++)
string(REPLACE "|" ";" headers "${HEADERS}")
set(failed "")
set(report "")
foreach(header ${headers})
  file(WRITE ${WORK_DIR}/alone.cpp "#include <${header}>\n")
  execute_process(COMMAND ${CXX} ${flags} ${WORK_DIR}/alone.cpp
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(APPEND failed ${header})
    string(REGEX MATCHALL "[^\n]*error:[^\n]*" errors "${out}")
    list(SUBLIST errors 0 3 errors)
    list(JOIN errors "\n    " errors)
    string(APPEND report "  <${header}> does not compile on its own:\n    ${errors}\n")
  endif()
endforeach()
list(LENGTH headers count)
if(DEFINED EXPECT_FAILURE)
  if(NOT failed STREQUAL EXPECT_FAILURE OR NOT report MATCHES "${EXPECT_FAILURE}")
    message(FATAL_ERROR "expected only <${EXPECT_FAILURE}> to fail; failed: '${failed}'\n${report}")
  endif()
  message(STATUS "<${EXPECT_FAILURE}> fails on its own, as it must:\n${report}")
elseif(failed)
  list(LENGTH failed n)
  message(FATAL_ERROR "${n} of ${count} headers do not compile on their own:\n${report}")
else()
  message(STATUS "${count} headers compile on their own")
endif()
