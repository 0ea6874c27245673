# cmake.staged_gpu_deps: scripts/gpu-check.sh --stage-deps copies Debian's
# Eigen and GoogleTest sources for a GPU machine whose image lacks them, and
# the top-level CMakeLists.txt configured with the initial cache it writes
# (-C deps.cmake, as gpu-check.sh configures) uses them while this machine's
# own are hidden:
#   1. staging writes deps.cmake, Eigen's headers and CMake package, and
#      GoogleTest's sources, as files (no links into /usr);
#   2. configured with them (Debian's Eigen package and prebuilt GoogleTest
#      hidden), Eigen3_DIR is the staged package, energyloss_core includes the
#      staged headers and not /usr/include/eigen3, GoogleTest is built from the
#      staged sources, and energyloss_core and gtest_main compile;
#   3. a GoogleTest source folder without googletest/CMakeLists.txt is refused
#      naming ENERGYLOSS_GTEST_SOURCE_DIR; with no sources and no prebuilt
#      GoogleTest the configure fails saying what to install.
# Variables: SOURCE_DIR (the project), WORK_DIR (scratch).
file(REMOVE_RECURSE ${WORK_DIR})
set(deps ${WORK_DIR}/deps)

execute_process(COMMAND ${SOURCE_DIR}/scripts/gpu-check.sh --stage-deps ${deps}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT status EQUAL 0 OR NOT EXISTS ${deps}/deps.cmake)
  message(FATAL_ERROR "gpu-check.sh --stage-deps failed (${status}):\n${out}")
endif()
foreach(file include/eigen3/Eigen/Dense share/eigen3/cmake/Eigen3Config.cmake
        googletest/googletest/CMakeLists.txt googletest/googletest/src/gtest-all.cc)
  if(NOT EXISTS ${deps}/${file} OR IS_SYMLINK ${deps}/${file})
    message(FATAL_ERROR "staged ${file} is missing or a link")
  endif()
endforeach()
message(STATUS "1. staged: ${out}")

# This machine's Eigen package and prebuilt GoogleTest hidden (and, where
# ignored lists it, GoogleTest's sources).
set(ignored /usr/share/eigen3/cmake)
function(configure name)
  execute_process(COMMAND ${CMAKE_COMMAND} ${ARGN} -S ${SOURCE_DIR} -B ${WORK_DIR}/${name}
                          -DENERGYLOSS_WITH_TORCH=OFF -DENERGYLOSS_WITH_CUDA=OFF
                          -DENERGYLOSS_WITH_OPENMM=OFF -DENERGYLOSS_WITH_LAMMPS=OFF
                          -DENERGYLOSS_WITH_RDKIT=OFF -DENERGYLOSS_BUILD_EXAMPLES=OFF
                          -DENERGYLOSS_BUILD_BENCH=OFF -DENERGYLOSS_BUILD_TESTS=ON
                          "-DCMAKE_IGNORE_PATH=${ignored}" -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX REPLACE "[ \t\r\n]+" " " out "${out}")
  set(status ${status} PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
endfunction()

configure(staged -C ${deps}/deps.cmake)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "configure with the staged dependencies failed:\n${out}")
endif()
file(STRINGS ${WORK_DIR}/staged/CMakeCache.txt eigen_dir REGEX "^Eigen3_DIR:")
if(NOT eigen_dir STREQUAL "Eigen3_DIR:PATH=${deps}/share/eigen3/cmake")
  message(FATAL_ERROR "Eigen is not the staged package: ${eigen_dir}")
endif()
if(NOT out MATCHES "GoogleTest built from ${deps}/googletest")
  message(FATAL_ERROR "GoogleTest is not built from the staged sources:\n${out}")
endif()
file(READ ${WORK_DIR}/staged/common/CMakeFiles/energyloss_core.dir/flags.make core_flags)
if(NOT core_flags MATCHES "${deps}/include/eigen3" OR core_flags MATCHES "/usr/include/eigen3")
  message(FATAL_ERROR "energyloss_core does not include the staged Eigen alone:\n${core_flags}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/staged -j 2
                        --target energyloss_core gtest_main
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "energyloss_core or gtest_main failed to build with the staged dependencies:\n${out}")
endif()
message(STATUS "2. configured and built with the staged Eigen and GoogleTest")

set(eigen -DEigen3_DIR=${deps}/share/eigen3/cmake)
configure(no_googletest_here ${eigen} -DENERGYLOSS_GTEST_SOURCE_DIR=${deps}/include)
if(status EQUAL 0 OR NOT out MATCHES "ENERGYLOSS_GTEST_SOURCE_DIR \\(${deps}/include\\) holds no googletest/CMakeLists.txt")
  message(FATAL_ERROR "a GoogleTest folder without its CMakeLists.txt was not refused by name:\n${out}")
endif()
list(APPEND ignored /usr/src/googletest)
configure(no_googletest ${eigen})
if(status EQUAL 0 OR NOT out MATCHES "the tests need GoogleTest and no prebuilt GoogleTest was found: install Debian's googletest")
  message(FATAL_ERROR "without GoogleTest the configure did not say what to install:\n${out}")
endif()
message(STATUS "3. refused: a bad ENERGYLOSS_GTEST_SOURCE_DIR, and no GoogleTest at all")
