# outbox_bench: remote receivers end to end (produce in transactions of 100, consume with 1 and 2
# worker threads, a one-row effect), and commit -> receiver start latency at a steady rate; on
# PostgreSQL (LISTEN/NOTIFY, SKIP LOCKED) and SQLite (polling) side by side. Starts its own
# throw-away cluster unless given --url. The Celery 5.2 + Redis side: bench/celery_outbox.py.
#   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DTOCSIN_BUILD_TESTS=OFF
#   cmake --build build-rel --target outbox_bench
#   build-rel/bench/outbox_bench --events=20000 --rounds=3 --celery
#   build-rel/bench/outbox_bench --help   (the options: --payload-bytes=N, --pg-compression=...)
add_executable(outbox_bench ${CMAKE_CURRENT_LIST_DIR}/outbox_bench.cpp)
target_link_libraries(outbox_bench PRIVATE tocsin::tocsin tocsin_warnings)
target_compile_definitions(outbox_bench PRIVATE
  TOCSIN_PG_CLUSTER_SCRIPT="${PROJECT_SOURCE_DIR}/tests/support/pg_cluster.sh"
  TOCSIN_CELERY_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/celery_outbox.py")
if(TOCSIN_BUILD_TESTS)
  # Smoke test: both engines briefly; exits 1 when an event was lost or applied twice.
  add_test(NAME outbox_bench_smoke
           COMMAND outbox_bench --events=300 --rounds=1 --latency-events=50 --rate=500)
  set_tests_properties(outbox_bench_smoke PROPERTIES LABELS "bench;postgresql" TIMEOUT 180)
  # The options of the payload: ~300-byte tickets (checked by their receivers), and PostgreSQL's
  # payload column set back to pglz.
  add_test(NAME outbox_bench_payload_smoke
           COMMAND outbox_bench --phases=custom,batch --events=300 --rounds=1 --payload-bytes=300
                   --pg-compression=pglz)
  set_tests_properties(outbox_bench_payload_smoke PROPERTIES LABELS "bench;postgresql" TIMEOUT 180)
endif()
