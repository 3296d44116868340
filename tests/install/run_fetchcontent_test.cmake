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
# inside another project).
set(launcher -DTOCSIN_PCH=ON)
if(COMPILER_LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${COMPILER_LAUNCHER})
endif()
# No build type: tocsin must not impose one on its parent, and the unoptimised build is the
# cheapest.
run("configure" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR} -G ${GENERATOR}
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE= -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
  -DTOCSIN_SOURCE_DIR=${SOURCE_DIR} ${launcher})

# tocsin's warnings-as-errors apply to its own sources only: every compile of a file under
# SOURCE_DIR/src has -Werror, the consumer's own file (consumer/main.cpp) has not.
file(READ ${WORK_DIR}/compile_commands.json commands)
string(JSON count LENGTH "${commands}")
set(own 0)
set(consumer 0)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON file GET "${commands}" ${i} file)
  string(JSON command GET "${commands}" ${i} command)
  string(FIND "${file}" "${SOURCE_DIR}/src/" at)
  if(at EQUAL 0)
    math(EXPR own "${own} + 1")
    if(NOT command MATCHES "(^| )-Werror( |$)")
      message(FATAL_ERROR "[fetchcontent test] FAILED: ${file} is compiled without -Werror")
    endif()
  elseif(file MATCHES "/consumer/main\\.cpp$")
    math(EXPR consumer "${consumer} + 1")
    if(command MATCHES "-Werror")
      message(FATAL_ERROR "[fetchcontent test] FAILED: tocsin's -Werror reached the consumer's "
                          "${file}")
    endif()
  endif()
endforeach()
if(own EQUAL 0 OR NOT consumer EQUAL 2)
  message(FATAL_ERROR "[fetchcontent test] FAILED: ${own} compiles of tocsin's sources and "
                      "${consumer} of the consumer's (2 expected) in compile_commands.json")
endif()
message(STATUS "[fetchcontent test] ${own} compiles of tocsin's sources with -Werror, "
               "the consumer's without")

# Everything `app` (tocsin::tocsin) needs is in the build graph: a dry run (every source and
# dependency resolves). Compiling the whole library again here would repeat the build that runs
# these tests (about 150 CPU seconds, docs/building.md); the tocsin::tocsin consumer is built,
# linked and run by tocsin.install, and every source of the library by the build itself.
run("dry run of app (tocsin::tocsin)" ${CMAKE_COMMAND} --build ${WORK_DIR} --target app -- -n)
# tocsin::dispatch is compiled from source here, linked and run.
run("build app_dispatch (tocsin::dispatch)" ${CMAKE_COMMAND} --build ${WORK_DIR}
  --target app_dispatch)
run("run (tocsin::dispatch)" ${WORK_DIR}/app_dispatch)
message(STATUS "[fetchcontent test] all checks passed")
