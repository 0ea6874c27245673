# cmake.torch_choice: which torch the top level takes, and what it says
# (configure only; the engines, tests, benchmarks and examples off):
#   1. -DTorch_DIR=<a folder without TorchConfig.cmake>: the configure fails
#      naming that Torch_DIR and the file looked for (not: Debian's torch, or
#      none, taken silently);
#   2. no torch findable (find_package(Torch) disabled), nobody asking: it
#      succeeds without torch and says what is not built, that
#      CMAKE_DISABLE_FIND_PACKAGE_Torch is ON, and to point Torch_DIR and give
#      -DENERGYLOSS_WITH_TORCH=ON; -DENERGYLOSS_WITH_TORCH=ON instead: it fails
#      saying so (and that CMAKE_DISABLE_FIND_PACKAGE_Torch is ON); a Torch_DIR
#      given with it ON fails saying that, not "did not find its LibTorch";
#   3. that build folder re-run with find_package(Torch) enabled and
#      -DENERGYLOSS_WITH_TORCH=OFF: it stays OFF (the user's value is kept);
#      with -DTorch_DIR=<the real one>: still OFF, saying Torch_DIR is not used
#      and to add -DENERGYLOSS_WITH_TORCH=ON; with that: it takes it;
#   4. a folder configured with the real torch and ENERGYLOSS_PYTHON a
#      stand-in environment's python (its torch package has the real torch's
#      version and a cmake_prefix_path whose Torch/ forwards to the real
#      config, as a pip torch's), re-run with -DTorch_DIR of a stand-in torch
#      9.9.9 (with its own libtorch.so): it takes the stand-in and its library
#      (not the one the previous torch's config cached), and warns that
#      ENERGYLOSS_PYTHON imports another torch, with advice naming this build
#      folder and -DTorch_DIR=<the environment's torch's CMake package folder>,
#      literally; the advice's command, run by sh as given, takes the
#      environment's torch and its library back in that folder, and the
#      warning is gone (the advice does not loop);
#   5. ENERGYLOSS_PYTHON a shim whose Python cannot import torch: the warning
#      says it cannot import torch and names the shim and the interpreter;
#   6. the CUDA kernels of the pair ops OFF, with the reason: ENERGYLOSS_WITH_CUDA
#      OFF; with it ON (where nvcc is found) and this CPU torch, a CPU-only Torch.
#   7. Torch_DIR a stand-in torch whose TorchConfig.cmake asks for Caffe2 as
#      torch's does (find_package(Caffe2 PATHS <its folder>/../Caffe2)) and
#      whose Caffe2Config.cmake records that it was loaded (then loads the real
#      one): its own Caffe2 is loaded and cached, not the system's (Debian's
#      libtorch-dev's); re-run with the real Torch_DIR, Caffe2_DIR follows;
#   8. configured with the real torch, then -DENERGYLOSS_WITH_TORCH=OFF, then
#      -DTorch_DIR=<torch 9.9.9>, then -DENERGYLOSS_WITH_TORCH=ON: takes 9.9.9's
#      library (the real torch's cached entries were dropped while OFF); the same
#      Torch_DIR with a trailing slash is not a change;
#   9. a relative Torch_DIR (existing from the folder cmake runs in) fails asking
#      for an absolute path; a Torch_DIR naming TorchConfig.cmake fails saying
#      to give its folder;
#  10. ENERGYLOSS_PYTHON a file that does not exist: warned that it cannot be
#      run, naming it; -DENERGYLOSS_PYTHON=<a bare name>: the program of that
#      name on PATH is cached; -DENERGYLOSS_PYTHON=./<name>: fails asking for an
#      absolute path;
#  11. ENERGYLOSS_PYTHON whose torch has no CMake package folder (Debian's
#      python3-torch): the no-torch message says so and where Debian's is,
#      and gives no $(...) command.
# Variables: SOURCE_DIR, WORK_DIR (scratch), TORCH_DIR (a real CPU torch's), PYTHON
# (an interpreter importing that torch).
file(REMOVE_RECURSE ${WORK_DIR})

set(base -DENERGYLOSS_WITH_OPENMM=OFF -DENERGYLOSS_WITH_LAMMPS=OFF -DENERGYLOSS_WITH_RDKIT=OFF
    -DENERGYLOSS_BUILD_TESTS=OFF -DENERGYLOSS_BUILD_BENCH=OFF -DENERGYLOSS_BUILD_EXAMPLES=OFF)
# configure(<folder> <args>...): status, out (whitespace runs as one space), raw.
set(cwd ${CMAKE_CURRENT_BINARY_DIR})  # where cmake runs
function(configure folder)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/${folder} ${base} ${ARGN}
                  WORKING_DIRECTORY ${cwd} RESULT_VARIABLE status OUTPUT_VARIABLE raw ERROR_VARIABLE raw)
  string(REGEX REPLACE "[ \t\r\n]+" " " out "${raw}")
  set(status ${status} PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
  set(raw "${raw}" PARENT_SCOPE)
endfunction()
function(expect what var)  # var: the name of the caller's TRUE/FALSE variable
  if(NOT ${var})
    message(SEND_ERROR "${what}:\n${raw}")
    return()
  endif()
  message(STATUS "ok: ${what}")
endfunction()
function(cached folder name out)
  file(STRINGS ${WORK_DIR}/${folder}/CMakeCache.txt line REGEX "^${name}:")
  string(REGEX REPLACE "^[^=]*=" "" line "${line}")
  set(${out} "${line}" PARENT_SCOPE)
endfunction()
string(REPLACE "+" "\\+" torch_dir_re "${TORCH_DIR}")

# 1.
set(missing ${WORK_DIR}/nonexistent/share/cmake/Torch)
configure(missing -DTorch_DIR=${missing} -DENERGYLOSS_WITH_CUDA=OFF)
set(ok FALSE)
if(NOT status EQUAL 0 AND out MATCHES "Torch_DIR=${missing} has no TorchConfig.cmake")
  set(ok TRUE)
endif()
expect("1. a Torch_DIR without TorchConfig.cmake fails the configure, naming both" ok)

# 2.
configure(none -DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON -DENERGYLOSS_WITH_CUDA=OFF)
cached(none ENERGYLOSS_WITH_TORCH with_torch)
set(ok FALSE)
if(status EQUAL 0 AND NOT with_torch AND out MATCHES "no LibTorch found \\(CMAKE_DISABLE_FIND_PACKAGE_Torch is ON[^)]*\\), so none was looked for\\): the torch ops \\(energyloss::torch\\), the Python package, the OpenMM plugin and the LAMMPS package are not built.*point Torch_DIR .*-DTorch_DIR=.* -DENERGYLOSS_WITH_TORCH=ON")
  set(ok TRUE)
endif()
expect("2. no torch: configured without it, saying what is not built, that CMAKE_DISABLE_FIND_PACKAGE_Torch is ON, and to give Torch_DIR and -DENERGYLOSS_WITH_TORCH=ON" ok)
configure(none_asked -DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON -DENERGYLOSS_WITH_TORCH=ON
          -DENERGYLOSS_WITH_CUDA=OFF)
set(ok FALSE)
if(NOT status EQUAL 0 AND out MATCHES "ENERGYLOSS_WITH_TORCH is ON but no LibTorch was found \\(CMAKE_DISABLE_FIND_PACKAGE_Torch is ON.*Torch_DIR")
  set(ok TRUE)
endif()
expect("2. no torch, ENERGYLOSS_WITH_TORCH=ON: the configure fails saying so, and that CMAKE_DISABLE_FIND_PACKAGE_Torch is ON" ok)
configure(none_asked -DTorch_DIR=${TORCH_DIR})
set(ok FALSE)
if(NOT status EQUAL 0 AND out MATCHES "Torch_DIR=${torch_dir_re} is not looked at: CMAKE_DISABLE_FIND_PACKAGE_Torch is ON"
   AND NOT out MATCHES "did not find its LibTorch")
  set(ok TRUE)
endif()
expect("2. a Torch_DIR with CMAKE_DISABLE_FIND_PACKAGE_Torch=ON cached: the configure fails saying that" ok)

# 3.
configure(none -DCMAKE_DISABLE_FIND_PACKAGE_Torch=OFF -DENERGYLOSS_WITH_TORCH=OFF)
cached(none ENERGYLOSS_WITH_TORCH with_torch)
set(ok FALSE)
if(status EQUAL 0 AND NOT with_torch)
  set(ok TRUE)
endif()
expect("3. torch findable again, -DENERGYLOSS_WITH_TORCH=OFF: kept OFF (ENERGYLOSS_WITH_TORCH=${with_torch})" ok)
configure(none -DTorch_DIR=${TORCH_DIR})
cached(none ENERGYLOSS_WITH_TORCH with_torch)
set(ok FALSE)
if(status EQUAL 0 AND NOT with_torch AND out MATCHES "Torch_DIR=${torch_dir_re} is not used: ENERGYLOSS_WITH_TORCH is OFF \\(add -DENERGYLOSS_WITH_TORCH=ON\\)")
  set(ok TRUE)
endif()
expect("3. a Torch_DIR given with ENERGYLOSS_WITH_TORCH OFF: kept OFF, saying Torch_DIR is not used" ok)
configure(none -DENERGYLOSS_WITH_TORCH=ON)
cached(none ENERGYLOSS_WITH_TORCH with_torch)
set(ok FALSE)
if(status EQUAL 0 AND with_torch AND out MATCHES "energyloss: LibTorch [0-9.]+ at ${torch_dir_re},")
  set(ok TRUE)
endif()
expect("3. then -DENERGYLOSS_WITH_TORCH=ON: takes that Torch_DIR" ok)

# 4. A stand-in torch 9.9.9 with its own libtorch.so (found first), the real config for the rest.
set(fake ${WORK_DIR}/faketorch/share/cmake/Torch)
file(WRITE ${WORK_DIR}/faketorch/lib/libtorch.so "")
file(WRITE ${fake}/TorchConfigVersion.cmake "set(PACKAGE_VERSION 9.9.9)\nset(PACKAGE_VERSION_COMPATIBLE TRUE)\n")
file(WRITE ${fake}/TorchConfig.cmake
     "find_library(TORCH_LIBRARY torch PATHS ${WORK_DIR}/faketorch/lib NO_DEFAULT_PATH)
include(${TORCH_DIR}/TorchConfig.cmake)
")
# A stand-in environment whose python imports a torch package of the real
# torch's version, with torch.utils.cmake_prefix_path a folder whose Torch/
# forwards to the real config (as a pip torch's site-packages/torch/share/cmake).
execute_process(COMMAND ${PYTHON} -c "import torch; print(torch.__version__)"
                OUTPUT_VARIABLE real_version OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
set(env ${WORK_DIR}/env)
set(env_torch_dir ${env}/site/torch/share/cmake/Torch)
file(WRITE ${env}/site/torch/__init__.py "from . import utils\n__version__ = '${real_version}'\n")
file(WRITE ${env}/site/torch/utils.py "cmake_prefix_path = '${env}/site/torch/share/cmake'\n")
file(WRITE ${env_torch_dir}/TorchConfigVersion.cmake "include(${TORCH_DIR}/TorchConfigVersion.cmake)\n")
file(WRITE ${env_torch_dir}/TorchConfig.cmake "include(${TORCH_DIR}/TorchConfig.cmake)\n")
file(WRITE ${env}/bin/python "#!/bin/sh\nPYTHONPATH=${env}/site exec ${PYTHON} -S \"$@\"\n")
file(CHMOD ${env}/bin/python PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
set(python_torch_dir "-DTorch_DIR=${env_torch_dir}")

configure(switch -DTorch_DIR=${TORCH_DIR} -DENERGYLOSS_PYTHON=${env}/bin/python -DENERGYLOSS_WITH_CUDA=OFF)
cached(switch TORCH_LIBRARY library)
set(ok FALSE)
if(status EQUAL 0 AND NOT out MATCHES "CMake Warning")
  set(ok TRUE)
endif()
expect("4. configured with the real torch, the environment's python importing its version" ok)
configure(switch -DTorch_DIR=${fake})
cached(switch TORCH_LIBRARY fake_library)
set(ok FALSE)
if(status EQUAL 0 AND out MATCHES "energyloss: LibTorch 9.9.9 at ${fake},"
   AND fake_library STREQUAL "${WORK_DIR}/faketorch/lib/libtorch.so")
  set(ok TRUE)
endif()
expect("4. re-run with -DTorch_DIR of torch 9.9.9: took it and its library (was ${library}, now ${fake_library})" ok)
set(ok FALSE)
if(out MATCHES "CMake Warning.*ENERGYLOSS_PYTHON \\(${env}/bin/python, which runs [^)]*\\) imports torch '${real_version}', but the LibTorch found is 9.9.9.*cmake -S [^ ]+ -B ${WORK_DIR}/switch ${python_torch_dir}"
   AND NOT out MATCHES "CMAKE_PREFIX_PATH=")
  set(ok TRUE)
endif()
expect("4. warned, advising -DTorch_DIR=<the environment's torch's folder> for this build folder" ok)
# The advice's command as the user runs it: sh evaluates the $(...).
string(REGEX MATCH "cmake -S [^\n]+ -B ${WORK_DIR}/switch -DTorch_DIR=[^\n]+" advice "${raw}")
execute_process(COMMAND sh -c "${advice}" RESULT_VARIABLE status OUTPUT_VARIABLE raw
                ERROR_VARIABLE raw)
string(REGEX REPLACE "[ \t\r\n]+" " " out "${raw}")
cached(switch TORCH_LIBRARY library_again)
set(ok FALSE)
if(status EQUAL 0 AND out MATCHES "energyloss: LibTorch [0-9.]+ at ${env_torch_dir},"
   AND NOT out MATCHES "CMake Warning" AND library_again STREQUAL library)
  set(ok TRUE)
endif()
expect("4. the advice run as given (${advice}) took the environment's torch and its library, no warning" ok)

# 5.
file(WRITE ${WORK_DIR}/shim/python3 "#!/bin/sh\n# A Python without site-packages, so without torch.\nexec ${PYTHON} -S \"$@\"\n")
file(CHMOD ${WORK_DIR}/shim/python3 PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
execute_process(COMMAND ${PYTHON} -c "import sys; print(sys.executable)" OUTPUT_VARIABLE executable
                OUTPUT_STRIP_TRAILING_WHITESPACE)
configure(shim -DTorch_DIR=${TORCH_DIR} -DENERGYLOSS_WITH_PYTHON=ON -DENERGYLOSS_WITH_CUDA=OFF
          -DENERGYLOSS_PYTHON=${WORK_DIR}/shim/python3)
set(ok FALSE)
if(status EQUAL 0 AND out MATCHES "CMake Warning.*ENERGYLOSS_PYTHON \\(${WORK_DIR}/shim/python3, which runs ${executable}\\) cannot import torch \\(ModuleNotFoundError: No module named 'torch'\\)"
   AND NOT out MATCHES "imports torch ''")
  set(ok TRUE)
endif()
expect("5. an interpreter without torch: said so, naming the shim and its interpreter" ok)

# 6.
set(ok FALSE)
if(out MATCHES "energyloss: CUDA kernels of the torch pair ops: OFF \\(ENERGYLOSS_WITH_CUDA is OFF\\)")
  set(ok TRUE)
endif()
expect("6. CUDA kernels OFF: ENERGYLOSS_WITH_CUDA is OFF" ok)
cached(shim CMAKE_CUDA_COMPILER nvcc)
if(nvcc AND NOT nvcc MATCHES "NOTFOUND")
  configure(cuda -DTorch_DIR=${TORCH_DIR} -DENERGYLOSS_WITH_CUDA=ON)
  set(ok FALSE)
  if(status EQUAL 0 AND out MATCHES "energyloss: CUDA kernels of the torch pair ops: OFF \\(the Torch found \\(Torch_DIR=${torch_dir_re}\\) is a CPU-only build")
    set(ok TRUE)
  endif()
  expect("6. CUDA kernels OFF with ENERGYLOSS_WITH_CUDA=ON: a CPU-only Torch" ok)
else()
  message(STATUS "6. (no nvcc here: the CPU-only-Torch reason is not checked)")
endif()

# 7. A stand-in torch asking for its own Caffe2 as TorchConfig.cmake does; its
# Caffe2Config.cmake records the load, then loads the real one (once).
get_filename_component(real_caffe2 ${TORCH_DIR}/../Caffe2 ABSOLUTE)
set(c2 ${WORK_DIR}/c2torch/share/cmake)
set(loaded ${WORK_DIR}/c2torch_caffe2_loaded)
file(WRITE ${c2}/Torch/TorchConfigVersion.cmake "include(${TORCH_DIR}/TorchConfigVersion.cmake)\n")
file(WRITE ${c2}/Torch/TorchConfig.cmake
     "find_package(Caffe2 REQUIRED PATHS \${CMAKE_CURRENT_LIST_DIR}/../Caffe2)
include(${TORCH_DIR}/TorchConfig.cmake)
")
file(WRITE ${c2}/Caffe2/Caffe2Config.cmake "include_guard(GLOBAL)
file(APPEND ${loaded} \"\${CMAKE_CURRENT_LIST_FILE}\\n\")
include(${real_caffe2}/Caffe2Config.cmake)
")
configure(caffe2 -DTorch_DIR=${c2}/Torch -DENERGYLOSS_WITH_CUDA=OFF)
cached(caffe2 Caffe2_DIR caffe2_dir)
set(ok FALSE)
if(status EQUAL 0 AND EXISTS ${loaded} AND caffe2_dir STREQUAL "${c2}/Caffe2")
  set(ok TRUE)
endif()
expect("7. a Torch_DIR with its own Caffe2: that Caffe2 loaded (Caffe2_DIR=${caffe2_dir})" ok)
configure(caffe2 -DTorch_DIR=${TORCH_DIR})
cached(caffe2 Caffe2_DIR caffe2_dir)
set(ok FALSE)
if(status EQUAL 0 AND caffe2_dir STREQUAL real_caffe2)
  set(ok TRUE)
endif()
expect("7. re-run with the real Torch_DIR: Caffe2_DIR follows (${caffe2_dir})" ok)

# 8.
configure(off -DTorch_DIR=${TORCH_DIR} -DENERGYLOSS_WITH_CUDA=OFF)
cached(off TORCH_LIBRARY library)
configure(off -DENERGYLOSS_WITH_TORCH=OFF)
configure(off -DTorch_DIR=${fake})
configure(off -DENERGYLOSS_WITH_TORCH=ON)
cached(off TORCH_LIBRARY off_library)
set(ok FALSE)
if(status EQUAL 0 AND out MATCHES "energyloss: LibTorch 9.9.9 at ${fake},"
   AND off_library STREQUAL "${WORK_DIR}/faketorch/lib/libtorch.so")
  set(ok TRUE)
endif()
expect("8. Torch_DIR changed while ENERGYLOSS_WITH_TORCH was OFF, then ON: the new torch's library (was ${library}, now ${off_library})" ok)
configure(off -DTorch_DIR=${fake}/)
set(ok FALSE)
if(status EQUAL 0 AND NOT out MATCHES "Torch_DIR changed")
  set(ok TRUE)
endif()
expect("8. the same Torch_DIR with a trailing slash: not a change" ok)

# 9.
set(cwd ${WORK_DIR})
configure(relative -DTorch_DIR=faketorch/share/cmake/Torch)
set(cwd ${CMAKE_CURRENT_BINARY_DIR})
set(ok FALSE)
if(NOT status EQUAL 0 AND out MATCHES "Torch_DIR=faketorch/share/cmake/Torch is a relative path.*give an absolute one")
  set(ok TRUE)
endif()
expect("9. a relative Torch_DIR fails, asking for an absolute one" ok)
configure(file -DTorch_DIR=${TORCH_DIR}/TorchConfig.cmake)
set(ok FALSE)
if(NOT status EQUAL 0 AND out MATCHES "Torch_DIR=${torch_dir_re}/TorchConfig.cmake is a file: give its folder \\(-DTorch_DIR=${torch_dir_re}\\)")
  set(ok TRUE)
endif()
expect("9. a Torch_DIR naming TorchConfig.cmake fails: give its folder" ok)

# 10.
configure(nopython -DTorch_DIR=${TORCH_DIR} -DENERGYLOSS_WITH_PYTHON=ON -DENERGYLOSS_WITH_CUDA=OFF
          -DENERGYLOSS_PYTHON=${WORK_DIR}/nonexistent/python3)
set(ok FALSE)
if(status EQUAL 0 AND out MATCHES "CMake Warning.*ENERGYLOSS_PYTHON=${WORK_DIR}/nonexistent/python3 cannot be run"
   AND NOT out MATCHES "cannot import torch \\(\\)")
  set(ok TRUE)
endif()
expect("10. an ENERGYLOSS_PYTHON that does not exist: warned that it cannot be run" ok)
get_filename_component(python_name ${PYTHON} NAME)
execute_process(COMMAND sh -c "command -v ${python_name}" OUTPUT_VARIABLE on_path
                OUTPUT_STRIP_TRAILING_WHITESPACE)
configure(bare -DTorch_DIR=${TORCH_DIR} -DENERGYLOSS_WITH_CUDA=OFF -DENERGYLOSS_PYTHON=${python_name})
cached(bare ENERGYLOSS_PYTHON bare_python)
set(ok FALSE)
if(status EQUAL 0 AND bare_python STREQUAL on_path)
  set(ok TRUE)
endif()
expect("10. -DENERGYLOSS_PYTHON=${python_name}: the one on PATH (${on_path}), cached ${bare_python}" ok)
configure(dotslash -DTorch_DIR=${TORCH_DIR} -DENERGYLOSS_WITH_CUDA=OFF
          -DENERGYLOSS_PYTHON=./${python_name})
set(ok FALSE)
if(NOT status EQUAL 0 AND out MATCHES "ENERGYLOSS_PYTHON='./${python_name}' is not an absolute path")
  set(ok TRUE)
endif()
expect("10. -DENERGYLOSS_PYTHON=./${python_name}: fails asking for an absolute path" ok)

# 11. An environment whose torch has no share/cmake (as Debian's python3-torch).
set(nopkg ${WORK_DIR}/nopkg)
file(WRITE ${nopkg}/site/torch/__init__.py "from . import utils\n__version__ = '${real_version}'\n")
file(WRITE ${nopkg}/site/torch/utils.py "cmake_prefix_path = '${nopkg}/site/torch/share/cmake'\n")
file(WRITE ${nopkg}/bin/python "#!/bin/sh\nPYTHONPATH=${nopkg}/site exec ${PYTHON} -S \"$@\"\n")
file(CHMOD ${nopkg}/bin/python PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
configure(nopkg -DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON -DENERGYLOSS_WITH_CUDA=OFF
          -DENERGYLOSS_PYTHON=${nopkg}/bin/python)
set(ok FALSE)
if(status EQUAL 0 AND out MATCHES "no LibTorch found.*ENERGYLOSS_PYTHON=${nopkg}/bin/python's torch [^ ]+ ships no CMake package: there is no ${nopkg}/site/torch/share/cmake/Torch; Debian's python3-torch: its CMake package comes with libtorch-dev, in /usr/lib/"
   AND NOT out MATCHES "\\$\\(")
  set(ok TRUE)
endif()
expect("11. a Python whose torch has no CMake package: said so, no $(...) command" ok)
configure(envpkg -DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON -DENERGYLOSS_WITH_CUDA=OFF
          -DENERGYLOSS_PYTHON=${env}/bin/python)
set(ok FALSE)
if(status EQUAL 0 AND out MATCHES "no LibTorch found.*-DTorch_DIR=${env_torch_dir} -DENERGYLOSS_WITH_TORCH=ON")
  set(ok TRUE)
endif()
expect("11. a Python whose torch has one: its folder given literally" ok)
