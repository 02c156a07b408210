# Runs a libFuzzer binary for CTest (fuzz/CMakeLists.txt). Either replays every file in INPUTS
# (the regression inputs; a crash fails the test), or fuzzes for SECONDS from a fresh copy of the
# SEEDS corpus with DICTIONARY; what it finds that crashes is left in WORK_DIR (crash-*, leak-*,
# timeout-*) and named in the failure message.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(common -close_fd_mask=3 -timeout=60 -rss_limit_mb=4096 -artifact_prefix=${WORK_DIR}/)
if(DEFINED INPUTS)
  file(GLOB inputs ${INPUTS}/*)
  list(FILTER inputs EXCLUDE REGEX "README")
  if(NOT inputs)
    message(STATUS "no regression inputs in ${INPUTS}")
    return()
  endif()
  execute_process(COMMAND ${FUZZER} ${common} ${inputs} WORKING_DIRECTORY ${WORK_DIR}
                  RESULT_VARIABLE status)
else()
  file(COPY ${SEEDS}/ DESTINATION ${WORK_DIR}/corpus)
  execute_process(COMMAND ${FUZZER} ${common} -max_total_time=${SECONDS} -dict=${DICTIONARY}
                          -print_final_stats=1 ${WORK_DIR}/corpus
                  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE status)
endif()
if(NOT status EQUAL 0)
  file(GLOB found ${WORK_DIR}/crash-* ${WORK_DIR}/leak-* ${WORK_DIR}/timeout-* ${WORK_DIR}/oom-*)
  message(FATAL_ERROR "${FUZZER} failed (status ${status}); inputs: ${found}")
endif()
