# Which torch the project builds against, before the options are declared
# (included once by the top-level CMakeLists.txt, in its scope):
# - ENERGYLOSS_PYTHON, run once: the interpreter it runs, its torch's version
#   and CMake package folder (_python_exe, _python_torch, _python_torch_dir,
#   ENERGYLOSS_PYTHON_STATUS/_ERROR, and ENERGYLOSS_TORCH_DIR_OF_PYTHON, the
#   -DTorch_DIR advice the messages give);
# - Torch_DIR checked (absolute, a folder holding TorchConfig.cmake), that
#   torch's own Caffe2 package chosen, a previous torch's cached paths dropped;
# - find_package(Torch) unless ENERGYLOSS_WITH_TORCH is OFF (_torch_off),
#   with _torch_dir and _torch_disabled for the messages that follow.
# Test: cmake.torch_choice.

# Debian's python3-torch is only visible to the system interpreter. A bare
# name (-DENERGYLOSS_PYTHON=python3) is looked up on PATH; a relative path is
# refused (a FILEPATH entry would turn it into <the folder cmake ran in>/...).
if(DEFINED CACHE{ENERGYLOSS_PYTHON} AND NOT IS_ABSOLUTE "${ENERGYLOSS_PYTHON}")
  if(ENERGYLOSS_PYTHON STREQUAL "" OR ENERGYLOSS_PYTHON MATCHES "/")
    message(FATAL_ERROR "energyloss: ENERGYLOSS_PYTHON='${ENERGYLOSS_PYTHON}' is not an absolute "
            "path: give the absolute path of a Python (e.g. -DENERGYLOSS_PYTHON=$PWD/"
            "${ENERGYLOSS_PYTHON}, or -DENERGYLOSS_PYTHON=$(command -v python3))")
  endif()
  find_program(_energyloss_python NAMES "${ENERGYLOSS_PYTHON}" NO_CACHE)
  if(NOT _energyloss_python)
    message(FATAL_ERROR "energyloss: ENERGYLOSS_PYTHON=${ENERGYLOSS_PYTHON} is not on PATH: give "
            "the absolute path of a Python (e.g. -DENERGYLOSS_PYTHON=$(command -v python3))")
  endif()
  message(STATUS "energyloss: ENERGYLOSS_PYTHON=${ENERGYLOSS_PYTHON}: ${_energyloss_python} (on PATH)")
  set(ENERGYLOSS_PYTHON "${_energyloss_python}" CACHE FILEPATH "Python that imports Debian's torch"
      FORCE)
endif()
set(ENERGYLOSS_PYTHON "/usr/bin/python3" CACHE FILEPATH "Python that imports Debian's torch")
# Run once: the interpreter it runs (a shim's), its torch's version and that
# torch's CMake package folder, for the checks and messages below.
execute_process(COMMAND ${ENERGYLOSS_PYTHON} -c "import sys, os; print(sys.executable, flush=True)
import torch; print(torch.__version__)
print(os.path.join(torch.utils.cmake_prefix_path, 'Torch'))"
                RESULT_VARIABLE ENERGYLOSS_PYTHON_STATUS OUTPUT_VARIABLE _python_out
                ERROR_VARIABLE ENERGYLOSS_PYTHON_ERROR
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_STRIP_TRAILING_WHITESPACE)
string(REGEX REPLACE ".*\n" "" ENERGYLOSS_PYTHON_ERROR "${ENERGYLOSS_PYTHON_ERROR}")  # its last line
string(REPLACE "\n" ";" _python_out "${_python_out}")
foreach(_i _python_exe _python_torch _python_torch_dir)
  list(POP_FRONT _python_out ${_i})
endforeach()
# How to name a torch's CMake package folder, for the messages below: the
# folder of ENERGYLOSS_PYTHON's torch when it has one.
set(ENERGYLOSS_TORCH_DIR_OF_PYTHON "-DTorch_DIR=<a torch's CMake package folder, the folder of its TorchConfig.cmake> (")
if(NOT ENERGYLOSS_PYTHON_STATUS MATCHES "^[0-9]+$")
  string(APPEND ENERGYLOSS_TORCH_DIR_OF_PYTHON "ENERGYLOSS_PYTHON=${ENERGYLOSS_PYTHON} cannot be run: "
         "${ENERGYLOSS_PYTHON_STATUS})")
elseif(NOT ENERGYLOSS_PYTHON_STATUS EQUAL 0)
  string(APPEND ENERGYLOSS_TORCH_DIR_OF_PYTHON "<torch.utils.cmake_prefix_path>/Torch for a pip or "
         "conda torch; ENERGYLOSS_PYTHON=${ENERGYLOSS_PYTHON} cannot import torch)")
elseif(IS_DIRECTORY "${_python_torch_dir}")
  set(ENERGYLOSS_TORCH_DIR_OF_PYTHON "-DTorch_DIR=${_python_torch_dir}")
else()
  set(_debian_torch_dir /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/Torch)
  if(NOT CMAKE_LIBRARY_ARCHITECTURE)
    set(_debian_torch_dir /usr/lib/x86_64-linux-gnu/cmake/Torch)
  endif()
  string(APPEND ENERGYLOSS_TORCH_DIR_OF_PYTHON "ENERGYLOSS_PYTHON=${ENERGYLOSS_PYTHON}'s torch "
         "${_python_torch} ships no CMake package: there is no ${_python_torch_dir}; Debian's "
         "python3-torch: its CMake package comes with libtorch-dev, in ${_debian_torch_dir})")
endif()

# Optional dependencies default ON when they are found. Torch: Debian's, or any
# LibTorch on CMAKE_PREFIX_PATH / Torch_DIR, e.g. a pip or conda torch's
# Torch_DIR=<torch.utils.cmake_prefix_path>/Torch. The first configure sets
# ENERGYLOSS_WITH_TORCH to whether one is found; the value in the cache (the
# user's) is kept after that, and with it OFF no torch is looked for.
unset(ENERGYLOSS_WITH_TORCH_DEFAULT CACHE)  # (what a former version kept)
set(_torch_off OFF)
if(DEFINED CACHE{ENERGYLOSS_WITH_TORCH} AND NOT ENERGYLOSS_WITH_TORCH)
  set(_torch_off ON)
endif()
set(_torch_dir "")  # Torch_DIR given or kept in the cache, without trailing slashes
if(Torch_DIR AND NOT Torch_DIR MATCHES "-NOTFOUND$")
  string(REGEX REPLACE "(.)/+$" "\\1" _torch_dir "${Torch_DIR}")
endif()
# Another Torch_DIR than the last configure's (whatever ENERGYLOSS_WITH_TORCH
# is): forget what the previous torch's config cached (its libraries, its
# Caffe2 package), which would win over the new one's.
if(DEFINED CACHE{ENERGYLOSS_TORCH_DIR_CONFIGURED}
   AND NOT _torch_dir STREQUAL ENERGYLOSS_TORCH_DIR_CONFIGURED)
  foreach(_v Caffe2_DIR TORCH_LIBRARY c10_LIBRARY kineto_LIBRARY C10_CUDA_LIBRARY LIBNVTOOLSEXT
             CAFFE2_NVRTC_LIBRARY ENERGYLOSS_TORCH_CUDA_HEADERS)
    unset(${_v} CACHE)
  endforeach()
  message(STATUS "energyloss: Torch_DIR changed from '${ENERGYLOSS_TORCH_DIR_CONFIGURED}' to "
                 "'${_torch_dir}': the previous torch's cached library paths are dropped")
endif()
set(_torch_disabled "")
if(CMAKE_DISABLE_FIND_PACKAGE_Torch)
  set(_torch_disabled "CMAKE_DISABLE_FIND_PACKAGE_Torch is ON (in the cache; "
                      "-DCMAKE_DISABLE_FIND_PACKAGE_Torch=OFF looks for one)")
endif()
if(_torch_off)
  if(_torch_dir)
    message(STATUS "energyloss: Torch_DIR=${_torch_dir} is not used: ENERGYLOSS_WITH_TORCH is OFF "
                   "(add -DENERGYLOSS_WITH_TORCH=ON)")
  endif()
elseif(_torch_dir)
  # A Torch_DIR given (command line, or kept in the cache) asks for that torch.
  if(NOT IS_ABSOLUTE "${_torch_dir}")
    message(FATAL_ERROR "energyloss: Torch_DIR=${Torch_DIR} is a relative path, which find_package "
            "would take relative to the build folder: give an absolute one (e.g. "
            "-DTorch_DIR=$PWD/${_torch_dir})")
  elseif(EXISTS "${_torch_dir}" AND NOT IS_DIRECTORY "${_torch_dir}")
    get_filename_component(_v "${_torch_dir}" DIRECTORY)
    message(FATAL_ERROR "energyloss: Torch_DIR=${Torch_DIR} is a file: give its folder "
            "(-DTorch_DIR=${_v})")
  elseif(NOT EXISTS "${_torch_dir}/TorchConfig.cmake" AND NOT EXISTS "${_torch_dir}/torch-config.cmake")
    message(FATAL_ERROR "energyloss: Torch_DIR=${Torch_DIR} has no TorchConfig.cmake (nor "
            "torch-config.cmake), so no LibTorch is there. Point it at a torch's CMake package "
            "folder: ${ENERGYLOSS_TORCH_DIR_OF_PYTHON} (or -DENERGYLOSS_WITH_TORCH=OFF to build "
            "without torch).")
  elseif(_torch_disabled)
    message(FATAL_ERROR "energyloss: Torch_DIR=${Torch_DIR} is not looked at: ${_torch_disabled}, "
            "or -DENERGYLOSS_WITH_TORCH=OFF to build without torch.")
  endif()
  # That torch's own Caffe2 package: TorchConfig.cmake asks for it with
  # find_package(Caffe2 PATHS <its folder>/../Caffe2), which searches the
  # system's folders first (Debian's libtorch-dev: another torch's). Kept when
  # the user set Caffe2_DIR to a folder that is not another torch's.
  get_filename_component(_caffe2_dir "${_torch_dir}/../Caffe2" ABSOLUTE)
  if(EXISTS "${_caffe2_dir}/Caffe2Config.cmake" OR EXISTS "${_caffe2_dir}/caffe2-config.cmake")
    set(_take ON)
    if(Caffe2_DIR AND NOT Caffe2_DIR MATCHES "-NOTFOUND$")
      get_filename_component(_v "${Caffe2_DIR}" ABSOLUTE)
      get_filename_component(_its_torch "${Caffe2_DIR}/../Torch" ABSOLUTE)
      get_filename_component(_torch "${_torch_dir}" ABSOLUTE)
      if(_v STREQUAL _caffe2_dir OR NOT EXISTS "${_its_torch}/TorchConfig.cmake"
         OR _its_torch STREQUAL _torch)
        set(_take OFF)
      else()
        message(STATUS "energyloss: Caffe2_DIR=${Caffe2_DIR} is another torch's: taking "
                       "${_caffe2_dir}, Torch_DIR's")
      endif()
    endif()
    if(_take)
      set(Caffe2_DIR "${_caffe2_dir}" CACHE PATH
          "The directory containing a CMake configuration file for Caffe2." FORCE)
    endif()
  endif()
endif()
set(Torch_FOUND OFF)
if(NOT _torch_off)
  find_package(Torch QUIET)
endif()
set(_v "")
if(Torch_DIR AND NOT Torch_DIR MATCHES "-NOTFOUND$")
  string(REGEX REPLACE "(.)/+$" "\\1" _v "${Torch_DIR}")
endif()
set(ENERGYLOSS_TORCH_DIR_CONFIGURED "${_v}" CACHE INTERNAL "The Torch_DIR configured last")
