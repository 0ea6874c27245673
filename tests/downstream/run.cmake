# Installs the build tree into a scratch prefix, then configures, builds and
# runs an external project that only knows find_package(EnergyLoss).
file(REMOVE_RECURSE ${WORK_DIR})
set(PREFIX ${WORK_DIR}/prefix)
function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "step failed (${status}): ${ARGN}\n${out}")
  endif()
endfunction()
run_step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
run_step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${PREFIX}
         -DCMAKE_BUILD_TYPE=Release)
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run_step(${WORK_DIR}/build/downstream_pair)
# The installed Python package finds the installed ops library on its own.
if(PYTHON)
  run_step(${CMAKE_COMMAND} -E env PYTHONPATH=${PREFIX}/${PYTHON_SUBDIR} ${PYTHON} -c
           "import energyloss, torch; e = energyloss.pair_energy_loss(torch.tensor([[0.,0,0],[2,0,0]]), torch.tensor([[0.,0,0],[1,0,0]]), coeff='constant', k0=3.0); assert abs(float(e) - 1.5) < 1e-6, e; assert energyloss.__file__.startswith('${PREFIX}'), energyloss.__file__")
endif()
message(STATUS "downstream project built and ran against ${PREFIX}")
