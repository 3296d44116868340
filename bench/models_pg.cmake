# models_pg_bench: the model layer on PostgreSQL against raw libpq issuing the same statements
# (the floor) and against Django 3.2 + psycopg2 (bench/django_pg_workload.py), side by side; and
# bulk_create against the floor's multi-row INSERTs. Starts its own throw-away cluster unless
# given --url.
#   cmake -S . -B build-mbench -G Ninja -DCMAKE_BUILD_TYPE=Release -DTOCSIN_BUILD_TESTS=OFF
#   cmake --build build-mbench --target models_pg_bench
#   build-mbench/bench/models_pg_bench --users=10000 --bulk=100000 --rounds=5 --django
find_package(PostgreSQL REQUIRED)  # the floor calls libpq directly
add_executable(models_pg_bench ${CMAKE_CURRENT_LIST_DIR}/models_pg_bench.cpp)
target_link_libraries(models_pg_bench PRIVATE tocsin::tocsin tocsin_warnings PostgreSQL::PostgreSQL)
target_compile_definitions(models_pg_bench PRIVATE
  TOCSIN_DJANGO_PG_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/django_pg_workload.py"
  TOCSIN_PG_CLUSTER_SCRIPT="${PROJECT_SOURCE_DIR}/tests/support/pg_cluster.sh")
if(TOCSIN_BUILD_TESTS)
  # Smoke test: every side runs briefly; exits 1 when one did not do its work.
  add_test(NAME models_pg_bench_smoke
           COMMAND models_pg_bench --users=200 --bulk=2500 --rounds=1)
  set_tests_properties(models_pg_bench_smoke PROPERTIES LABELS "bench;postgresql" TIMEOUT 120)
  # Django's side too, when Debian's python3-django and python3-psycopg2 are there.
  execute_process(COMMAND /usr/bin/python3 -c "import django, psycopg2"
                  RESULT_VARIABLE _tocsin_no_django_pg OUTPUT_QUIET ERROR_QUIET)
  if(_tocsin_no_django_pg EQUAL 0)
    add_test(NAME models_pg_bench_django_smoke
             COMMAND models_pg_bench --users=200 --bulk=2500 --rounds=1 --django)
    set_tests_properties(models_pg_bench_django_smoke PROPERTIES
      LABELS "bench;postgresql" TIMEOUT 180)
  else()
    message(STATUS "tocsin: no models_pg_bench_django_smoke test, missing: python3-django or "
                   "python3-psycopg2")
  endif()
endif()
