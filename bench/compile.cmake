# compile_time_smoke: bench/compile_time.sh runs (one pair, --against this very tree) and the
# user translation unit it times, bench/compile/models_user.cpp, compiles with the project's
# warnings as errors. The timings themselves are read by hand (docs/benchmarks.md), never here.
find_program(TOCSIN_TIME_PROGRAM time PATHS /usr/bin NO_DEFAULT_PATH)  # Debian: time
if(TOCSIN_TIME_PROGRAM)
  add_test(NAME compile_time_smoke
           COMMAND ${CMAKE_COMMAND} -E env CXX=${CMAKE_CXX_COMPILER}
                   "CXXFLAGS=$<JOIN:$<TARGET_PROPERTY:tocsin_warnings,INTERFACE_COMPILE_OPTIONS>, >"
                   sh bench/compile_time.sh -n 1 --against ${PROJECT_SOURCE_DIR}
                   bench/compile/models_user.cpp
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(compile_time_smoke PROPERTIES LABELS "bench" TIMEOUT 180
    PASS_REGULAR_EXPRESSION "bench/compile/models_user.cpp +[0-9.]+ +[0-9.]+ +[0-9.]+")
else()
  message(STATUS "tocsin: no compile_time_smoke test, missing: /usr/bin/time (Debian: time)")
endif()
