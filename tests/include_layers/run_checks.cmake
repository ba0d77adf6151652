# The include-layer check on the source tree must pass, and on a tree with
# one upward include (bad/: core including graph) must fail: the check can
# fail.
execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${SOURCE_DIR} -P ${CMAKE_CURRENT_LIST_DIR}/check_include_layers.cmake
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "${out}${err}")
endif()
message(STATUS "${out}${err}")
execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${CMAKE_CURRENT_LIST_DIR}/bad -P ${CMAKE_CURRENT_LIST_DIR}/check_include_layers.cmake
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc OR NOT err MATCHES "core_thing.hpp \\(core\\) includes runtime/graph/graph_thing.hpp \\(graph\\)")
  message(FATAL_ERROR "the check let an upward include pass:\n${out}${err}")
endif()
