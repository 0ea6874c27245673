# FindRDKit: the RDKit C++ libraries as imported targets RDKit::<Component>
# (e.g. RDKit::GraphMol for libRDKitGraphMol.so). Debian's librdkit-dev ships
# headers and libraries but no CMake package configuration, hence this module.
#
#   find_package(RDKit COMPONENTS GraphMol FileParsers ForceFieldHelpers ...)
#
# Sets RDKit_FOUND, RDKit_INCLUDE_DIR and RDKit_<Component>_LIBRARY.
find_path(RDKit_INCLUDE_DIR GraphMol/ROMol.h PATH_SUFFIXES rdkit)
# RDKit's headers include Boost's.
find_path(RDKit_BOOST_INCLUDE_DIR boost/shared_array.hpp)

set(_rdkit_required_vars RDKit_INCLUDE_DIR RDKit_BOOST_INCLUDE_DIR)
foreach(component IN LISTS RDKit_FIND_COMPONENTS)
  find_library(RDKit_${component}_LIBRARY RDKit${component})
  list(APPEND _rdkit_required_vars RDKit_${component}_LIBRARY)
  if(RDKit_${component}_LIBRARY)
    set(RDKit_${component}_FOUND TRUE)
  endif()
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RDKit REQUIRED_VARS ${_rdkit_required_vars} HANDLE_COMPONENTS)

if(RDKit_FOUND)
  foreach(component IN LISTS RDKit_FIND_COMPONENTS)
    if(NOT TARGET RDKit::${component})
      add_library(RDKit::${component} SHARED IMPORTED)
      set_target_properties(RDKit::${component} PROPERTIES
        IMPORTED_LOCATION ${RDKit_${component}_LIBRARY}
        INTERFACE_INCLUDE_DIRECTORIES "${RDKit_INCLUDE_DIR};${RDKit_BOOST_INCLUDE_DIR}")
    endif()
  endforeach()
endif()
mark_as_advanced(RDKit_INCLUDE_DIR RDKit_BOOST_INCLUDE_DIR)
