# lammps.package.cmake_module: installs the build tree into a scratch prefix,
# then configures and builds mock_lammps/ (a LAMMPS-like build that uses
# Packages/ENERGYLOSS.cmake) against it; any failing step fails the test with
# its output. Variables: BUILD_DIR, WORK_DIR, SOURCE_DIR (mock_lammps), and
# those mock_lammps/CMakeLists.txt takes.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
                OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
                        -DPACKAGE_DIR=${PACKAGE_DIR} -DPLUGIN_DIR=${PLUGIN_DIR}
                        -DMODULES_DIR=${MODULES_DIR} -DSTYLE_DIR=${STYLE_DIR}
                        -DLMP_SOURCE=${LMP_SOURCE} -DLAMMPS_SOURCE_HEADERS=${LAMMPS_SOURCE_HEADERS}
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build COMMAND_ERROR_IS_FATAL ANY)
message(STATUS "mock LAMMPS with the ENERGYLOSS package built: ${WORK_DIR}/build/lmp")
