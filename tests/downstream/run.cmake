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
# The exported torch targets name torch's own imported target, which
# EnergyLossConfig.cmake's find_package(Torch) defines, not the include dirs
# and libraries of the torch built against (a recreated environment would
# leave them dangling: "Imported target includes non-existent path").
file(GLOB_RECURSE torch_targets ${PREFIX}/*/EnergyLoss_torch_Targets.cmake)
foreach(file ${torch_targets})
  file(STRINGS ${file} lines REGEX "^  INTERFACE_")
  foreach(line ${lines})
    if(line MATCHES "\"(/|[^\"]*;/)")
      message(FATAL_ERROR "${file} exports an absolute path:\n${line}")
    endif()
  endforeach()
  file(STRINGS ${file} links REGEX "^  INTERFACE_LINK_LIBRARIES \"energyloss::core;torch\"$")
  if(NOT links)
    message(FATAL_ERROR "${file}: energyloss::torch does not link energyloss::core and torch:\n${lines}")
  endif()
endforeach()
run_step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${PREFIX}
         -DCMAKE_BUILD_TYPE=Release)
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run_step(${WORK_DIR}/build/downstream_pair)
# The installed Python package finds the installed ops library on its own.
if(PYTHON)
  # (Statements on lines: a ";" would split the argument into a CMake list.)
  run_step(${CMAKE_COMMAND} -E env PYTHONPATH=${PREFIX}/${PYTHON_SUBDIR} ${PYTHON} -c
           "import energyloss, torch
e = energyloss.pair_energy_loss(torch.tensor([[0.,0,0],[2,0,0]]), torch.tensor([[0.,0,0],[1,0,0]]), coeff='constant', k0=3.0)
assert abs(float(e) - 1.5) < 1e-6, e
assert energyloss.__file__.startswith('${PREFIX}'), energyloss.__file__")
  # It finds the library relative to itself: with the prefix moved elsewhere
  # (the install path then no longer exists) it imports and runs the ops from
  # the moved library. The prefix is moved back before any error is raised.
  set(MOVED ${WORK_DIR}/moved_prefix)
  file(RENAME ${PREFIX} ${MOVED})
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env --unset=ENERGYLOSS_TORCH_LIBRARY
            PYTHONPATH=${MOVED}/${PYTHON_SUBDIR} ${PYTHON} -c
            "import os, torch, energyloss
from energyloss import _paths
assert not os.path.exists('${PREFIX}')
assert energyloss.__file__.startswith('${MOVED}/'), energyloss.__file__
assert _paths.TORCH_LIBRARY.startswith('${MOVED}/'), _paths.TORCH_LIBRARY
e = energyloss.mse_loss(torch.ones(2, 3, 3), torch.zeros(2, 3, 3))
assert abs(float(e) - 1.0) < 1e-6, e
maps = open('/proc/self/maps').read()
assert _paths.TORCH_LIBRARY in maps
assert '${PREFIX}/' not in maps"
    RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  file(RENAME ${MOVED} ${PREFIX})
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "the installed package did not work from a moved prefix:\n${out}")
  endif()
endif()
# The installed openmmenergyloss package loads its kernels through its own
# link: two particles 1 nm apart in the reference, 2 nm in the Context, k = 3
# give 1/2 k (2 - 1)^2 = 1.5 kJ/mol on the CPU platform.
if(OPENMM_PYTHON)
  run_step(${CMAKE_COMMAND} -E env PYTHONPATH=${PREFIX}/${PYTHON_SUBDIR} ${OPENMM_PYTHON} -c
           "import openmm, openmmenergyloss
force = openmmenergyloss.EnergyLossForce([[0, 0, 0], [1, 0, 0]], coeff='constant', k0=3.0, per_atom=False)
system = openmm.System()
system.addParticle(1)
system.addParticle(1)
system.addForce(force)
context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName('CPU'))
context.setPositions([[0, 0, 0], [2, 0, 0]])
e = context.getState(getEnergy=True).getPotentialEnergy()._value
assert abs(e - 1.5) < 1e-12, e
assert openmmenergyloss.__file__.startswith('${PREFIX}'), openmmenergyloss.__file__")
endif()
message(STATUS "downstream project built and ran against ${PREFIX}")
