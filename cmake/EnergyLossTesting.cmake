# One ctest (or one discovered GoogleTest suite) per test file, the same way
# in every folder:
#
#   energyloss_add_gtests(GLOB <pattern> | SOURCES <files>...
#                         LIBRARIES <libs>... [EXCLUDE <regex>]
#                         [TARGET_PREFIX <p>] [TEST_PREFIX <p>] [DISCOVERY_TIMEOUT <s>]
#                         [DEFINITIONS <defs>...] [PROPERTIES <name> <value>...])
#     an executable per source (<TARGET_PREFIX><file name>, linked with
#     GTest::gtest_main) whose tests gtest_discover_tests registers.
#
#   energyloss_add_pytests(GLOB <pattern> | SOURCES <files>... PREFIX <p>
#                          [EXCLUDE <regex>] [PYTHONPATH <dir>]
#                          [WORKING_DIRECTORY <dir>] [TIMEOUT <s>])
#     a ctest <PREFIX><file name> per file: pytest on ${ENERGYLOSS_PYTHON},
#     with PYTHONPATH (default ${CMAKE_BINARY_DIR}/python),
#     ENERGYLOSS_BUILD_DIR and ENERGYLOSS_SOURCE_DIR set.
#
# GLOB patterns are relative to the calling folder and re-read when files
# are added (CONFIGURE_DEPENDS); EXCLUDE drops the files it matches.
find_package(GTest REQUIRED)
include(GoogleTest)

# The test files a call names: SOURCES plus GLOB matches, less EXCLUDE.
macro(_energyloss_test_files out)
  set(${out} ${ARG_SOURCES})
  if(ARG_GLOB)
    file(GLOB _globbed CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_GLOB})
    list(APPEND ${out} ${_globbed})
  endif()
  if(ARG_EXCLUDE)
    list(FILTER ${out} EXCLUDE REGEX "${ARG_EXCLUDE}")
  endif()
endmacro()

function(energyloss_add_gtests)
  cmake_parse_arguments(ARG "" "GLOB;EXCLUDE;TARGET_PREFIX;TEST_PREFIX;DISCOVERY_TIMEOUT"
                        "SOURCES;LIBRARIES;DEFINITIONS;PROPERTIES" ${ARGN})
  if(NOT ARG_DISCOVERY_TIMEOUT)
    set(ARG_DISCOVERY_TIMEOUT 60)
  endif()
  set(discover_options DISCOVERY_TIMEOUT ${ARG_DISCOVERY_TIMEOUT})
  if(ARG_TEST_PREFIX)
    list(APPEND discover_options TEST_PREFIX ${ARG_TEST_PREFIX})
  endif()
  if(ARG_PROPERTIES)
    list(APPEND discover_options PROPERTIES ${ARG_PROPERTIES})
  endif()
  _energyloss_test_files(sources)
  foreach(source ${sources})
    get_filename_component(name ${source} NAME_WE)
    set(target ${ARG_TARGET_PREFIX}${name})
    add_executable(${target} ${source})
    target_link_libraries(${target} PRIVATE ${ARG_LIBRARIES} GTest::gtest_main)
    if(ARG_DEFINITIONS)
      target_compile_definitions(${target} PRIVATE ${ARG_DEFINITIONS})
    endif()
    gtest_discover_tests(${target} ${discover_options})
  endforeach()
endfunction()

function(energyloss_add_pytests)
  cmake_parse_arguments(ARG "" "GLOB;EXCLUDE;PREFIX;PYTHONPATH;WORKING_DIRECTORY;TIMEOUT"
                        "SOURCES" ${ARGN})
  if(NOT ARG_PYTHONPATH)
    set(ARG_PYTHONPATH ${CMAKE_BINARY_DIR}/python)
  endif()
  set(environment "PYTHONPATH=${ARG_PYTHONPATH}" "ENERGYLOSS_BUILD_DIR=${CMAKE_BINARY_DIR}"
                  "ENERGYLOSS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  set(working_directory)
  if(ARG_WORKING_DIRECTORY)
    set(working_directory WORKING_DIRECTORY ${ARG_WORKING_DIRECTORY})
  endif()
  _energyloss_test_files(sources)
  foreach(source ${sources})
    get_filename_component(name ${source} NAME_WE)
    add_test(NAME ${ARG_PREFIX}${name}
             COMMAND ${ENERGYLOSS_PYTHON} -m pytest -q -p no:cacheprovider ${source}
             ${working_directory})
    set_tests_properties(${ARG_PREFIX}${name} PROPERTIES ENVIRONMENT "${environment}")
    if(ARG_TIMEOUT)
      set_tests_properties(${ARG_PREFIX}${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
    endif()
  endforeach()
endfunction()
