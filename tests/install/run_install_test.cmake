# cmake -P script run by the `tocsin.install` test (see CMakeLists.txt for the -D inputs).
# Any failing step stops the script with a non-zero exit (message(FATAL_ERROR)).
cmake_minimum_required(VERSION 3.25)

foreach(v TOCSIN_BUILD_DIR WORK_DIR CONSUMER_DIR INSTALL_LIBDIR PKGCONFIG_DIR GENERATOR
          CXX_COMPILER)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "run_install_test.cmake: -D${v}=... is required")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# run(<description> <command...>): echo, run, fail the test on a non-zero exit.
function(run what)
  list(JOIN ARGN " " _cmdline)
  message(STATUS "[install test] ${what}: ${_cmdline}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[install test] FAILED (${rc}): ${what}")
  endif()
endfunction()

# 1. Install this build tree into a scratch prefix.
set(config_args)
if(TOCSIN_CONFIG)
  set(config_args --config ${TOCSIN_CONFIG})
endif()
run("install" ${CMAKE_COMMAND} --install ${TOCSIN_BUILD_DIR} --prefix ${prefix} ${config_args})

# A shared libtocsin (BUILD_SHARED_LIBS=ON) must be found at run time too.
set(ENV{LD_LIBRARY_PATH} "${prefix}/${INSTALL_LIBDIR}:$ENV{LD_LIBRARY_PATH}")

# 2. An unrelated project: find_package(tocsin CONFIG REQUIRED) + tocsin::tocsin.
set(build_type_arg)
if(TOCSIN_CONFIG)
  set(build_type_arg -DCMAKE_BUILD_TYPE=${TOCSIN_CONFIG})
endif()
run("configure consumer"
  ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${consumer_build} -G ${GENERATOR}
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_PREFIX_PATH=${prefix}
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
  -DTOCSIN_EXPECT_ADMIN=${EXPECT_ADMIN}
  ${build_type_arg})
run("build consumer" ${CMAKE_COMMAND} --build ${consumer_build} ${config_args})
if(EXISTS ${consumer_build}/app)
  set(app ${consumer_build}/app)
elseif(TOCSIN_CONFIG AND EXISTS ${consumer_build}/${TOCSIN_CONFIG}/app)
  set(app ${consumer_build}/${TOCSIN_CONFIG}/app)
else()
  message(FATAL_ERROR "[install test] FAILED: consumer executable not found in ${consumer_build}")
endif()
run("run consumer (find_package)" ${app})
get_filename_component(app_dir ${app} DIRECTORY)
run("run consumer of tocsin::dispatch (find_package)" ${app_dir}/app_dispatch)
if(EXPECT_ADMIN)
  run("run consumer of tocsin::admin and <tocsin/remote.hpp> (find_package)" ${app_dir}/app_admin)
endif()

# 3.-5. The consumers through pkg-config. pkgconfig_consumer(<module> <source> <program>
# [FORBID <regex>]): the module's flags (failing when pkg-config does, or when they match
# <regex>), then compile <source> with them into <program> and run it.
if(NOT PKG_CONFIG OR NOT EXISTS "${PKG_CONFIG}")
  message(STATUS "[install test] pkg-config not found: skipping the pkg-config check")
  return()
endif()
set(ENV{PKG_CONFIG_PATH} "${prefix}/${PKGCONFIG_DIR}")
unset(ENV{PKG_CONFIG_LIBDIR}) # keep the system dirs too (for dependencies' .pc files)

function(pkgconfig_consumer module source program)
  cmake_parse_arguments(PARSE_ARGV 3 arg "" "FORBID" "")
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ${module}
    RESULT_VARIABLE rc OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[install test] FAILED (${rc}): pkg-config --cflags --libs ${module}")
  endif()
  message(STATUS "[install test] pkg-config --cflags --libs ${module}: ${pc_flags}")
  if(arg_FORBID AND pc_flags MATCHES "${arg_FORBID}")
    message(FATAL_ERROR "[install test] FAILED: ${module} brings more than it should "
                        "(matches ${arg_FORBID})")
  endif()
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  run("compile with pkg-config flags (${module})"
    ${CXX_COMPILER} -std=c++20 ${source} -o ${WORK_DIR}/${program} ${pc_flags})
  run("run consumer of ${module} (pkg-config)" ${WORK_DIR}/${program})
endfunction()

# 3. The same main.cpp through pkg-config.
pkgconfig_consumer(tocsin ${CONSUMER_DIR}/main.cpp app-pkgconfig)
# 4. The signals alone: tocsin-dispatch, with no SQLite or libpq.
pkgconfig_consumer(tocsin-dispatch ${CONSUMER_DIR}/main.cpp app-dispatch-pkgconfig
  FORBID "sqlite|-lpq|-ltocsin( |$)")
# 5. The admin: tocsin-admin (cpp-httplib's flags and definitions with it).
if(EXPECT_ADMIN)
  pkgconfig_consumer(tocsin-admin ${CONSUMER_DIR}/admin_main.cpp app-admin-pkgconfig)
endif()
message(STATUS "[install test] all checks passed")
