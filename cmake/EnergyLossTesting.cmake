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
#   energyloss_set_test_timeout(<test> <seconds>)
#     the test's TIMEOUT, times ENERGYLOSS_TEST_TIMEOUT_FACTOR (default 1;
#     scripts/sanitize.sh raises it: instrumented runs are several times
#     slower). Tests without one get ctest's --timeout.
#
# GLOB patterns are relative to the calling folder and re-read when files
# are added (CONFIGURE_DEPENDS); EXCLUDE drops the files it matches.
#
# GoogleTest is Debian's prebuilt one (libgtest-dev). It is built from its
# sources instead (targets GTest::gtest and GTest::gtest_main all the same)
# when this build compiles with the C++ ABI that is not the compiler's default
# (ENERGYLOSS_FORCED_CXX11_ABI: a LibTorch with the other
# _GLIBCXX_USE_CXX11_ABI, top-level CMakeLists.txt), or when no prebuilt one
# is found, as on a GPU machine with CUDA and PyTorch but no Debian -dev
# packages (scripts/gpu-check.sh --stage-deps carries Debian's sources there).
# ENERGYLOSS_GTEST_SOURCE_DIR: a folder with googletest/CMakeLists.txt
# (default: Debian's googletest package, /usr/src/googletest).
set(ENERGYLOSS_GTEST_FROM_SOURCE OFF)
if(NOT ENERGYLOSS_FORCED_CXX11_ABI)
  find_package(GTest QUIET)
endif()
if(NOT GTest_FOUND)
  find_path(ENERGYLOSS_GTEST_SOURCE_DIR googletest/CMakeLists.txt PATHS /usr/src/googletest
            DOC "GoogleTest's sources, built with this build's compiler and C++ ABI")
  if(ENERGYLOSS_GTEST_SOURCE_DIR AND NOT EXISTS ${ENERGYLOSS_GTEST_SOURCE_DIR}/googletest/CMakeLists.txt)
    message(FATAL_ERROR "energyloss: ENERGYLOSS_GTEST_SOURCE_DIR (${ENERGYLOSS_GTEST_SOURCE_DIR}) "
                        "holds no googletest/CMakeLists.txt: name the folder of GoogleTest's "
                        "sources that holds it (Debian's is /usr/src/googletest).")
  elseif(NOT ENERGYLOSS_GTEST_SOURCE_DIR)
    if(ENERGYLOSS_FORCED_CXX11_ABI)
      string(CONCAT _why "this build uses _GLIBCXX_USE_CXX11_ABI=${ENERGYLOSS_CXX11_ABI} "
                         "(torch's), unlike a prebuilt GoogleTest, so it needs GoogleTest's sources")
    else()
      set(_why "no prebuilt GoogleTest was found")
    endif()
    message(FATAL_ERROR "energyloss: the tests need GoogleTest and ${_why}: install Debian's "
                        "googletest (or libgtest-dev), set ENERGYLOSS_GTEST_SOURCE_DIR to a "
                        "folder holding googletest/CMakeLists.txt, or configure with "
                        "-DENERGYLOSS_BUILD_TESTS=OFF.")
  endif()
  set(ENERGYLOSS_GTEST_FROM_SOURCE ON)
  set(BUILD_GMOCK OFF CACHE BOOL "GoogleTest built from source: without GoogleMock")
  set(INSTALL_GTEST OFF CACHE BOOL "GoogleTest built from source: not installed")
  # Its own warning flags, not ours.
  get_property(_options DIRECTORY PROPERTY COMPILE_OPTIONS)
  set_property(DIRECTORY PROPERTY COMPILE_OPTIONS "")
  add_subdirectory(${ENERGYLOSS_GTEST_SOURCE_DIR} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  set_property(DIRECTORY PROPERTY COMPILE_OPTIONS "${_options}")
  if(NOT TARGET GTest::gtest_main)  # (googletest >= 1.11 defines them itself)
    add_library(GTest::gtest ALIAS gtest)
    add_library(GTest::gtest_main ALIAS gtest_main)
  endif()
  message(STATUS "energyloss: GoogleTest built from ${ENERGYLOSS_GTEST_SOURCE_DIR}")
endif()
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

set(ENERGYLOSS_TEST_TIMEOUT_FACTOR 1 CACHE STRING
    "Multiplies the tests' own TIMEOUTs (slow instrumented builds)")
if(NOT ENERGYLOSS_TEST_TIMEOUT_FACTOR MATCHES "^[1-9][0-9]*$")
  message(FATAL_ERROR "ENERGYLOSS_TEST_TIMEOUT_FACTOR must be a positive integer, "
                      "got '${ENERGYLOSS_TEST_TIMEOUT_FACTOR}'")
endif()

function(energyloss_set_test_timeout test seconds)
  math(EXPR seconds "${seconds} * ${ENERGYLOSS_TEST_TIMEOUT_FACTOR}")
  set_tests_properties(${test} PROPERTIES TIMEOUT ${seconds})
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
      energyloss_set_test_timeout(${ARG_PREFIX}${name} ${ARG_TIMEOUT})
    endif()
  endforeach()
endfunction()
