# energyloss_copy_python_sources(<target> <source dir> <build dir>)
#
# The build tree's ready-to-import copy of a pure-Python package: every
# <source dir>/*.py copied (when changed) to <build dir> by the custom target
# <target>, built with ALL. Sets <target>_SOURCES in the caller's scope (the
# files to install). Used by the energyloss and openmmenergyloss packages.
include_guard(GLOBAL)

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
