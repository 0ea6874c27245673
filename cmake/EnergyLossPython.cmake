# energyloss_copy_python_sources(<target> <source dir> <build dir>)
#
# The build tree's ready-to-import copy of a pure-Python package: every
# <source dir>/*.py copied (when changed) to <build dir> by the custom target
# <target>, built with ALL. Sets <target>_SOURCES in the caller's scope (the
# files to install). Used by the energyloss and openmmenergyloss packages.
#
# ENERGYLOSS_PYTHON_INSTALL_DIR: where the Python packages are installed, a
# STRING: relative to the install prefix (as cmake --install --prefix gives
# it at install time), or absolute. (A PATH cache entry would turn a relative
# -D value into an absolute one under the folder cmake ran in.)
#
# energyloss_python_install_code(<out> <subdir>)
#   <out> = install(CODE) text that sets _energyloss_package_dir to the
#   installed <ENERGYLOSS_PYTHON_INSTALL_DIR>/<subdir>, absolute, for the
#   prefix of this install (without DESTDIR).
include_guard(GLOBAL)

set(ENERGYLOSS_PYTHON_INSTALL_DIR "lib/python3/dist-packages" CACHE STRING
    "Where the Python packages are installed: relative to the install prefix, or absolute")
if(ENERGYLOSS_PYTHON_INSTALL_DIR STREQUAL "")
  # (It would install the packages at the filesystem's root: /energyloss.)
  message(FATAL_ERROR "ENERGYLOSS_PYTHON_INSTALL_DIR is empty: give the folder the Python packages "
          "go to, relative to the install prefix (e.g. lib/python3/dist-packages, or "
          "lib/python3.X/site-packages in a venv) or absolute")
endif()

function(energyloss_python_install_code out subdir)
  set(${out} "
  set(_energyloss_package_dir \"${ENERGYLOSS_PYTHON_INSTALL_DIR}/${subdir}\")
  if(NOT IS_ABSOLUTE \"\${_energyloss_package_dir}\")
    set(_energyloss_package_dir \"\${CMAKE_INSTALL_PREFIX}/\${_energyloss_package_dir}\")
  endif()" PARENT_SCOPE)
endfunction()

function(energyloss_copy_python_sources target source_dir build_dir)
  file(GLOB sources CONFIGURE_DEPENDS ${source_dir}/*.py)
  set(copies)
  foreach(source ${sources})
    get_filename_component(name ${source} NAME)
    add_custom_command(OUTPUT ${build_dir}/${name}
                       COMMAND ${CMAKE_COMMAND} -E copy_if_different ${source} ${build_dir}/${name}
                       DEPENDS ${source})
    list(APPEND copies ${build_dir}/${name})
  endforeach()
  add_custom_target(${target} ALL DEPENDS ${copies})
  set(${target}_SOURCES ${sources} PARENT_SCOPE)
endfunction()
