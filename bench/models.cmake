# models_bench: the model layer (create N users with a post_save receiver creating each Profile,
# save() with 0 and 10 receivers, memory over rounds) against raw prepared sqlite3 statements, the
# floor (Google Benchmark); the paired cases (*_over_*) give the ratios on a noisy machine. Django's figure: bench/django_create_users.py. Skipped, with a
# message, when Google Benchmark is missing.
#   cmake -S . -B build-mbench -G Ninja -DCMAKE_BUILD_TYPE=Release -DTOCSIN_BUILD_TESTS=OFF
#   cmake --build build-mbench --target models_bench
#   build-mbench/bench/models_bench --benchmark_repetitions=3
#   build-mbench/bench/models_bench --django --benchmark_filter=django   # Django side by side
#   /usr/bin/python3 bench/django_create_users.py -n 100000 -r 3

find_package(benchmark QUIET)  # Debian: libbenchmark-dev
if(NOT benchmark_FOUND)
  message(STATUS "tocsin: skipping models_bench, missing: Google Benchmark (libbenchmark-dev)")
else()
  if(CMAKE_BUILD_TYPE AND NOT CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo)$")
    message(STATUS "tocsin: models_bench in a ${CMAKE_BUILD_TYPE} build: figures are not meaningful")
  endif()
  find_package(SQLite3 REQUIRED)  # the floor calls the sqlite3 C API directly
  add_executable(models_bench ${CMAKE_CURRENT_LIST_DIR}/models_bench.cpp)
  target_link_libraries(models_bench PRIVATE
    tocsin::tocsin tocsin_warnings benchmark::benchmark SQLite::SQLite3)
  # --django runs this script (Django's side of the create_users pairs).
  target_compile_definitions(models_bench PRIVATE
    TOCSIN_DJANGO_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/django_create_users.py")

  if(TOCSIN_BUILD_TESTS)
    # Smoke test: every case runs briefly on small counts; exits 1 if a case did not do its work
    # (row counts, receiver calls, pragmas) or if the floor's tables differ from tocsin's.
    add_test(NAME models_bench_smoke
             COMMAND models_bench --users=200 --saves=50 --pairs=3 --benchmark_min_time=0.01)
    set_tests_properties(models_bench_smoke PROPERTIES LABELS "bench" TIMEOUT 60)
    # The Django pairs, briefly, when Debian's python3-django is there.
    execute_process(COMMAND /usr/bin/python3 -c "import django"
                    RESULT_VARIABLE _tocsin_no_django OUTPUT_QUIET ERROR_QUIET)
    if(_tocsin_no_django EQUAL 0)
      add_test(NAME models_bench_django_smoke
               COMMAND models_bench --users=200 --pairs=1 --django
                       --benchmark_filter=django_over_tocsin --benchmark_min_time=0.01)
      set_tests_properties(models_bench_django_smoke PROPERTIES LABELS "bench" TIMEOUT 120)
    else()
      message(STATUS "tocsin: no models_bench_django_smoke test, missing: python3-django")
    endif()
  endif()
endif()
