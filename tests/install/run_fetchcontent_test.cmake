# cmake -P script run by the `tocsin.fetchcontent` test: configure, build and run a project that
# builds tocsin from this source tree through FetchContent (fetchcontent_consumer/).
cmake_minimum_required(VERSION 3.25)

foreach(v SOURCE_DIR WORK_DIR CONSUMER_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "run_fetchcontent_test.cmake: -D${v}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})

function(run what)
  list(JOIN ARGN " " _cmdline)
  message(STATUS "[fetchcontent test] ${what}: ${_cmdline}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[fetchcontent test] FAILED (${rc}): ${what}")
  endif()
endfunction()

# Without a compiler launcher, the library's precompiled headers (TOCSIN_PCH, off by default
# inside another project): this test compiles the whole library again while the other tests
# run, and they take about a third of its compile time off.
set(launcher -DTOCSIN_PCH=ON)
if(COMPILER_LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${COMPILER_LAUNCHER})
endif()
# No build type: tocsin must not impose one on its parent, and the unoptimised build is the
# cheapest.
run("configure" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR} -G ${GENERATOR}
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=
  -DTOCSIN_SOURCE_DIR=${SOURCE_DIR} ${launcher})
run("build" ${CMAKE_COMMAND} --build ${WORK_DIR} --target app app_dispatch)
run("run" ${WORK_DIR}/app)
run("run (tocsin::dispatch)" ${WORK_DIR}/app_dispatch)
message(STATUS "[fetchcontent test] all checks passed")
