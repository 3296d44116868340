# cmake -DCXX=<compiler> -DSOURCE=<file> -DINCLUDE=<dir> -DEXPECTED=<regex> -P run_compile_fail.cmake
# Passes when SOURCE compiles with -DTOCSIN_COMPILE_FAIL_CONTROL, does not compile without it,
# and the compiler's output matches EXPECTED.
set(flags -std=c++20 -fsyntax-only -I${INCLUDE})
execute_process(COMMAND ${CXX} ${flags} -DTOCSIN_COMPILE_FAIL_CONTROL ${SOURCE}
                RESULT_VARIABLE control_rc OUTPUT_VARIABLE control_out ERROR_VARIABLE control_out)
if(NOT control_rc EQUAL 0)
  message(FATAL_ERROR "the control form of ${SOURCE} does not compile:\n${control_out}")
endif()
execute_process(COMMAND ${CXX} ${flags} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
if(NOT out MATCHES "${EXPECTED}")
  message(FATAL_ERROR "${SOURCE} failed to compile without saying \"${EXPECTED}\":\n${out}")
endif()
string(REGEX MATCHALL "error:" errors "${out}")
list(LENGTH errors count)
message(STATUS "${SOURCE}: fails as expected (${count} error lines)")
