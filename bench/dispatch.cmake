# dispatch_bench: tocsin's dispatch side by side with direct calls, std::function, Boost.Signals2 and
# libsigc++ 3 (Google Benchmark). Skipped, with a message, when a peer or Google Benchmark is missing.
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-bench --target dispatch_bench
#   build-bench/bench/dispatch_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

set(_tocsin_bench_missing "")

find_package(benchmark QUIET)  # Debian: libbenchmark-dev
if(NOT benchmark_FOUND)
  list(APPEND _tocsin_bench_missing "Google Benchmark (libbenchmark-dev)")
endif()

find_package(Boost QUIET)  # Debian: libboost-dev; Signals2 is header-only
if(Boost_FOUND)
  find_path(TOCSIN_BOOST_SIGNALS2_INCLUDE_DIR boost/signals2.hpp HINTS ${Boost_INCLUDE_DIRS})
endif()
if(NOT Boost_FOUND OR NOT TOCSIN_BOOST_SIGNALS2_INCLUDE_DIR)
  list(APPEND _tocsin_bench_missing "Boost.Signals2 headers (libboost-dev)")
endif()

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(TOCSIN_SIGC QUIET IMPORTED_TARGET sigc++-3.0)
endif()
if(NOT TOCSIN_SIGC_FOUND)
  list(APPEND _tocsin_bench_missing "libsigc++ 3 (libsigc++-3.0-dev, pkg-config sigc++-3.0)")
endif()

if(_tocsin_bench_missing)
  list(JOIN _tocsin_bench_missing ", " _tocsin_bench_missing)
  message(STATUS "tocsin: skipping dispatch_bench, missing: ${_tocsin_bench_missing}")
else()
  if(CMAKE_BUILD_TYPE AND NOT CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo)$")
    message(STATUS "tocsin: dispatch_bench in a ${CMAKE_BUILD_TYPE} build: figures are not meaningful")
  endif()
  add_executable(dispatch_bench ${CMAKE_CURRENT_LIST_DIR}/dispatch_bench.cpp)
  target_link_libraries(dispatch_bench PRIVATE
    tocsin::dispatch tocsin_warnings benchmark::benchmark Boost::headers PkgConfig::TOCSIN_SIGC)

  # connect_pair/boost/<N>'s pairs in a plain loop, for callgrind beside connect_pair_count.
  add_executable(connect_pair_count_boost ${CMAKE_CURRENT_LIST_DIR}/connect_pair_count_boost.cpp)
  target_link_libraries(connect_pair_count_boost PRIVATE tocsin_warnings Boost::headers)

  if(TOCSIN_BUILD_TESTS)
    # Smoke test: every case runs briefly; exits 1 if a library called the wrong receivers or if
    # tocsin's send allocated.
    add_test(NAME dispatch_bench_smoke COMMAND dispatch_bench --benchmark_min_time=0.001)
    set_tests_properties(dispatch_bench_smoke PROPERTIES LABELS "bench" TIMEOUT 120)
  endif()
endif()
unset(_tocsin_bench_missing)

# connect_pair_count: connect_pair/tocsin/<N>'s pairs in a plain loop, for callgrind's instruction
# counts (docs/benchmarks.md); no dependency besides tocsin::dispatch.
add_executable(connect_pair_count ${CMAKE_CURRENT_LIST_DIR}/connect_pair_count.cpp)
target_link_libraries(connect_pair_count PRIVATE tocsin::dispatch tocsin_warnings)
