# cmake.python_install_dir: ENERGYLOSS_PYTHON_INSTALL_DIR as README tells a
# venv user to give it. The top level configured (only) from another folder
# with -DENERGYLOSS_PYTHON_INSTALL_DIR=lib/pythonX.Y/site-packages (untyped, as
# typed on a command line), then `cmake --install --prefix <venv> --component
# python_files` (the packages' files, which need no build):
#   1. the cache keeps the value relative, and the energyloss package (and
#      openmmenergyloss's files, with OPENMM) land in <venv>/lib/pythonX.Y/site-packages,
#      nothing under the folder cmake ran in;
#   2. the installed _paths.py names <venv>/<libdir>/libenergyloss_torch.so, and
#      openmmenergyloss/plugins links to <venv>/<libdir>/openmm_plugins;
# and with an absolute value (a folder outside the prefix):
#   3. the packages land there, _paths.py and the plugins link still name the
#      libraries under the prefix;
# and with an empty value:
#   4. the configure fails naming ENERGYLOSS_PYTHON_INSTALL_DIR (it would install
#      the packages at the filesystem's root);
# and (OPENMM) a full install with the absolute value of 3, whose SWIG module's
# RPATH names the libraries under the configure's prefix:
#   5. under another prefix, it stops before writing any file, naming both
#      prefixes and ENERGYLOSS_PYTHON_INSTALL_DIR; under the configure's prefix
#      (with DESTDIR) that check lets it through (the install then stops at the
#      first library, none being built here).
# Variables: SOURCE_DIR, WORK_DIR, TORCH_DIR, PYTHON, OPENMM (ON: the plugin's package too).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/cwd)
execute_process(COMMAND ${PYTHON} -c "import sys; print('lib/python%d.%d/site-packages' % sys.version_info[:2])"
                OUTPUT_VARIABLE site OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)

function(run)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR}/cwd
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}\n${out}")
  endif()
endfunction()

# Configures <name> with ENERGYLOSS_PYTHON_INSTALL_DIR=<value> and installs the
# python_files component into <prefix>.
function(configure_and_install name value prefix)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/${name} -DTorch_DIR=${TORCH_DIR}
      -DENERGYLOSS_PYTHON=${PYTHON} -DENERGYLOSS_PYTHON_INSTALL_DIR=${value}
      -DENERGYLOSS_WITH_OPENMM=${OPENMM} -DENERGYLOSS_WITH_LAMMPS=OFF -DENERGYLOSS_WITH_RDKIT=OFF
      -DENERGYLOSS_WITH_CUDA=OFF -DENERGYLOSS_BUILD_TESTS=OFF -DENERGYLOSS_BUILD_BENCH=OFF
      -DENERGYLOSS_BUILD_EXAMPLES=OFF)
  run(${CMAKE_COMMAND} --install ${WORK_DIR}/${name} --prefix ${prefix} --component python_files)
endfunction()

# The package's files and links, given where it should be and where the libraries are.
function(check_installed site_dir lib_dir)
  foreach(file energyloss/__init__.py energyloss/_paths.py)
    if(NOT EXISTS ${site_dir}/${file})
      file(GLOB_RECURSE found LIST_DIRECTORIES false RELATIVE ${WORK_DIR} ${WORK_DIR}/*/_paths.py)
      message(FATAL_ERROR "${site_dir}/${file} not installed; _paths.py files under ${WORK_DIR}: ${found}")
    endif()
  endforeach()
  execute_process(COMMAND ${PYTHON} -c
                  "import runpy; print(runpy.run_path('${site_dir}/energyloss/_paths.py')['RELATIVE_LIBRARY'])"
                  OUTPUT_VARIABLE library OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  if(NOT library STREQUAL "${lib_dir}/libenergyloss_torch.so")
    message(FATAL_ERROR "installed _paths.py names ${library}, not ${lib_dir}/libenergyloss_torch.so")
  endif()
  if(OPENMM)
    if(NOT EXISTS ${site_dir}/openmmenergyloss/__init__.py)
      message(FATAL_ERROR "openmmenergyloss not installed in ${site_dir}")
    endif()
    file(READ_SYMLINK ${site_dir}/openmmenergyloss/plugins link)
    file(REAL_PATH ${link} target BASE_DIRECTORY ${site_dir}/openmmenergyloss)
    if(IS_ABSOLUTE "${link}" OR NOT target STREQUAL "${lib_dir}/openmm_plugins")
      message(FATAL_ERROR "openmmenergyloss/plugins -> ${link} (${target}), not a relative "
              "link to ${lib_dir}/openmm_plugins")
    endif()
  endif()
endfunction()

set(venv ${WORK_DIR}/venv)
configure_and_install(relative ${site} ${venv})
file(STRINGS ${WORK_DIR}/relative/CMakeCache.txt cached REGEX "^ENERGYLOSS_PYTHON_INSTALL_DIR:")
if(NOT cached STREQUAL "ENERGYLOSS_PYTHON_INSTALL_DIR:STRING=${site}")
  message(FATAL_ERROR "the cache holds ${cached}, not the relative ${site}")
endif()
file(GLOB_RECURSE strays ${WORK_DIR}/cwd/*)
if(strays)
  message(FATAL_ERROR "files installed under the folder cmake ran in: ${strays}")
endif()
file(STRINGS ${WORK_DIR}/relative/CMakeCache.txt libdir REGEX "^CMAKE_INSTALL_LIBDIR:")
string(REGEX REPLACE "^[^=]*=" "" libdir "${libdir}")
check_installed(${venv}/${site} ${venv}/${libdir})
message(STATUS "1, 2. relative ${site}: installed in ${venv}/${site}, libraries named in ${venv}/${libdir}")

configure_and_install(absolute ${WORK_DIR}/site ${WORK_DIR}/prefix)
check_installed(${WORK_DIR}/site ${WORK_DIR}/prefix/${libdir})
message(STATUS "3. absolute ${WORK_DIR}/site: installed there, libraries named in the prefix")

# 4. An empty value (the packages would go to the filesystem's root): refused.
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/empty -DTorch_DIR=${TORCH_DIR}
                        -DENERGYLOSS_PYTHON=${PYTHON} -DENERGYLOSS_PYTHON_INSTALL_DIR=
                        -DENERGYLOSS_WITH_OPENMM=${OPENMM} -DENERGYLOSS_WITH_LAMMPS=OFF
                        -DENERGYLOSS_WITH_RDKIT=OFF -DENERGYLOSS_WITH_CUDA=OFF
                        -DENERGYLOSS_BUILD_TESTS=OFF -DENERGYLOSS_BUILD_BENCH=OFF
                        -DENERGYLOSS_BUILD_EXAMPLES=OFF
                WORKING_DIRECTORY ${WORK_DIR}/cwd RESULT_VARIABLE status OUTPUT_VARIABLE out
                ERROR_VARIABLE out)
if(status EQUAL 0 OR NOT out MATCHES "ENERGYLOSS_PYTHON_INSTALL_DIR is empty")
  message(FATAL_ERROR "an empty ENERGYLOSS_PYTHON_INSTALL_DIR was not refused (${status}):\n${out}")
endif()
message(STATUS "4. an empty ENERGYLOSS_PYTHON_INSTALL_DIR: refused, naming it")

# 5. A full install (the default component) with the absolute folder of 3.
if(OPENMM)
  file(STRINGS ${WORK_DIR}/absolute/CMakeCache.txt configured REGEX "^CMAKE_INSTALL_PREFIX:")
  string(REGEX REPLACE "^[^=]*=" "" configured "${configured}")
  file(REMOVE_RECURSE ${WORK_DIR}/site)
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${WORK_DIR}/absolute --prefix ${WORK_DIR}/other
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX REPLACE "[ \t\r\n]+" " " out "${out}")
  if(status EQUAL 0 OR NOT out MATCHES "ENERGYLOSS_PYTHON_INSTALL_DIR=${WORK_DIR}/site"
     OR NOT out MATCHES "CMAKE_INSTALL_PREFIX=${configured} \\(the configure's\\)"
     OR NOT out MATCHES "-DCMAKE_INSTALL_PREFIX=${WORK_DIR}/other")
    message(FATAL_ERROR "an install under another prefix was not refused, naming both "
            "prefixes (${status}):\n${out}")
  endif()
  if(EXISTS ${WORK_DIR}/other OR EXISTS ${WORK_DIR}/site)
    message(FATAL_ERROR "refused, but files were installed:\n${out}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E env DESTDIR=${WORK_DIR}/destdir
                          ${CMAKE_COMMAND} --install ${WORK_DIR}/absolute
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(out MATCHES "ENERGYLOSS_PYTHON_INSTALL_DIR=")
    message(FATAL_ERROR "an install under the configure's prefix was refused:\n${out}")
  endif()
  message(STATUS "5. a full install under another prefix than the configure's: refused, "
          "naming both, nothing written")
endif()
