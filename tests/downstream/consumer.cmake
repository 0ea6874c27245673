# downstream.<mode>: configures, builds and runs the user's project
# (CMakeLists.txt here) with -DMODE=<MODE> against the prefix that
# downstream.find_package installed (run.cmake). Variables:
#   PREFIX, SOURCE_DIR (this folder), WORK_DIR (scratch), MODE
#   HIDE        packages the consumer must not see: Find<name>.cmake modules that
#               record the search in DOWNSTREAM_HIDDEN_SEARCHED and report not found
#   FAKE_TORCH  "<version>,<abi>": Torch_DIR names a stand-in TorchConfig.cmake of that
#               version and TORCH_CXX_FLAGS -D_GLIBCXX_USE_CXX11_ABI=<abi> (another torch)
#   EXPECT_FAIL a regex: the configure must fail with output matching it
#   README      openmm: a README whose C++ blocks become the program (README_CPP),
#               written by CHECKER (tests/readme/check_readme_blocks.py) run on PYTHON
#   RUN_IN      the folder the program runs in (default WORK_DIR)
#   LINK_BUILD  a link RUN_IN/build -> PREFIX, so the README's "build/lib/..." paths
#               name the installed files
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
string(REPLACE "," ";" HIDE "${HIDE}")  # (a "," list: ";" would split the ctest command)
set(options -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_BUILD_TYPE=Release -DMODE=${MODE})
foreach(name ${HIDE})
  file(WRITE ${WORK_DIR}/hide/Find${name}.cmake
"# Written by downstream's consumer.cmake: ${name} is not on this machine.
set_property(GLOBAL APPEND PROPERTY DOWNSTREAM_HIDDEN_SEARCHED ${name})
set(${name}_FOUND FALSE)
if(${name}_FIND_REQUIRED)
  message(FATAL_ERROR \"Could NOT find ${name} (hidden by the test)\")
endif()
")
  list(APPEND options -DCMAKE_MODULE_PATH=${WORK_DIR}/hide)
  if(name STREQUAL "CUDAToolkit")
    list(APPEND options -DHIDDEN_CUDA=ON)
  elseif(name STREQUAL "Torch")
    list(APPEND options -DHIDDEN_TORCH=ON)
  endif()
endforeach()
list(REMOVE_DUPLICATES options)
if(FAKE_TORCH)
  string(REPLACE "," ";" FAKE_TORCH "${FAKE_TORCH}")
  list(GET FAKE_TORCH 0 fake_version)
  list(GET FAKE_TORCH 1 fake_abi)
  file(WRITE ${WORK_DIR}/faketorch/TorchConfigVersion.cmake
       "set(PACKAGE_VERSION ${fake_version})\nset(PACKAGE_VERSION_COMPATIBLE TRUE)\n")
  file(WRITE ${WORK_DIR}/faketorch/TorchConfig.cmake
       "set(TORCH_CXX_FLAGS \"-D_GLIBCXX_USE_CXX11_ABI=${fake_abi}\")\nset(Torch_FOUND TRUE)\n")
  list(APPEND options -DTorch_DIR=${WORK_DIR}/faketorch)
endif()
if(README)
  execute_process(COMMAND ${PYTHON} ${CHECKER} ${README} --write-cpp ${WORK_DIR}/readme.cpp
                  COMMAND_ERROR_IS_FATAL ANY)
  list(APPEND options -DREADME_CPP=${WORK_DIR}/readme.cpp)
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build ${options}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(EXPECT_FAIL)
  if(status EQUAL 0)
    message(FATAL_ERROR "configure succeeded, expected it to fail matching '${EXPECT_FAIL}':\n${out}")
  endif()
  # (CMake wraps long messages: match on the text with its line breaks as spaces.)
  string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}")
  if(NOT flat MATCHES "${EXPECT_FAIL}")
    message(FATAL_ERROR "configure failed without '${EXPECT_FAIL}':\n${out}")
  endif()
  message(STATUS "configure failed as expected:\n${out}")
  return()
endif()
if(NOT status EQUAL 0)
  message(FATAL_ERROR "configure failed (${status}):\n${out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "build failed (${status}):\n${out}")
endif()
if(NOT RUN_IN)
  set(RUN_IN ${WORK_DIR})
endif()
if(LINK_BUILD)
  file(MAKE_DIRECTORY ${RUN_IN})
  file(CREATE_LINK ${PREFIX} ${RUN_IN}/build SYMBOLIC)
endif()
file(GLOB programs ${WORK_DIR}/build/downstream_*)
foreach(program ${programs})
  execute_process(COMMAND ${program} WORKING_DIRECTORY ${RUN_IN}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${program} failed (${status}):\n${out}")
  endif()
  message(STATUS "${program}: ${out}")
endforeach()
