# lammps.package.cmake_module: installs the build tree into a scratch prefix,
# then configures and builds mock_lammps/ (a LAMMPS-like build that uses
# Packages/ENERGYLOSS.cmake) against it. Variables: BUILD_DIR, WORK_DIR,
# SOURCE_DIR (mock_lammps), and those mock_lammps/CMakeLists.txt takes.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "step failed (${status}): ${ARGN}\n${out}")
  endif()
endfunction()
run_step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run_step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${prefix}
         -DCMAKE_BUILD_TYPE=Release -DPACKAGE_DIR=${PACKAGE_DIR} -DPLUGIN_DIR=${PLUGIN_DIR}
         -DMODULES_DIR=${MODULES_DIR} -DSTYLE_DIR=${STYLE_DIR} -DLMP_SOURCE=${LMP_SOURCE}
         -DLAMMPS_SOURCE_HEADERS=${LAMMPS_SOURCE_HEADERS})
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
message(STATUS "mock LAMMPS with the ENERGYLOSS package built: ${WORK_DIR}/build/lmp")
