# Runs an example against a fresh SQLite file and checks what it printed and what it left in
# the database. cmake -DEXE=… -DDB=… -DEXPECTED=<file> [-DCHECKS=<file>] [-DARGS=a;b]
# [-DSOURCE_DIR=<dir>] -P run_example.cmake
# CHECKS holds lines "SQL query|expected sqlite3 output" (rows joined with ';'). ARGS are passed
# after the database file. SOURCE_DIR/ is removed from the output before the comparison.
file(REMOVE ${DB} ${DB}-wal ${DB}-shm)
execute_process(COMMAND ${EXE} ${DB} ${ARGS} OUTPUT_VARIABLE out ERROR_VARIABLE err
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}\n${out}\n${err}")
endif()
if(SOURCE_DIR)
  string(REPLACE "${SOURCE_DIR}/" "" out "${out}")
  # A compiler launcher that rewrites paths relative to the build dir (ccache's base_dir) prints
  # "../examples/…" for a build dir inside the source tree: the same file.
  string(REGEX REPLACE "(^|[ =(\n])(\\.\\./)+examples/" "\\1examples/" out "${out}")
endif()
file(READ ${EXPECTED} expected)
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "output differs from ${EXPECTED}\n--- got:\n${out}\n--- expected:\n${expected}")
endif()
if(CHECKS)
  find_program(SQLITE3 sqlite3 REQUIRED)
  file(STRINGS ${CHECKS} lines)
  foreach(line ${lines})
    string(FIND "${line}" "|" bar)
    string(SUBSTRING "${line}" 0 ${bar} sql)
    math(EXPR start "${bar} + 1")
    string(SUBSTRING "${line}" ${start} -1 want)
    execute_process(COMMAND ${SQLITE3} ${DB} "${sql}" OUTPUT_VARIABLE got RESULT_VARIABLE rc)
    string(STRIP "${got}" got)
    string(REPLACE "\n" ";" got "${got}")
    if(NOT rc EQUAL 0 OR NOT got STREQUAL want)
      message(FATAL_ERROR "database check failed: ${sql}\n got: ${got}\nwant: ${want}")
    endif()
  endforeach()
endif()
message(STATUS "example output and database as expected")
