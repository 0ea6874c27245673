# Which LibTorch the project is built for, and whether its C++ ABI fits the
# other C++ libraries linked with it. Used by the top-level CMakeLists.txt
# and, installed next to it, by EnergyLossConfig.cmake (component `torch`);
# tests/cmake/test_torch_logic.cmake runs the functions on made-up inputs.
#
#   energyloss_torch_cxx11_abi(<out> <flags>...)
#     <out> = "0" or "1", the last -D_GLIBCXX_USE_CXX11_ABI=<n> in <flags>
#     (TORCH_CXX_FLAGS: a list or one space-separated string), or "" when the
#     flags do not set it (torch then follows the compiler's default).
#
#   energyloss_library_cxx11_abi(<out> <library file>)
#     <out> = "1" when the library's symbols use the C++11 ABI of libstdc++
#     (std::__cxx11::basic_string and friends), "0" when they use the old
#     one (std::string mangled `Ss`, as in a `const std::string&` parameter),
#     "" when its symbols tell neither (no strings in its interface).
#
#   energyloss_check_cxx11_abi(<abi> <name> <library file> [<option>])
#     FATAL_ERROR when <abi> ("0"/"1") and the library's ABI are both known
#     and differ: code compiled for one cannot call the other's std::string
#     functions, which would otherwise surface as undefined references at
#     link time (or crashes at run time). The message names <option>, the
#     cache option that leaves the library out (e.g. ENERGYLOSS_WITH_OPENMM).
#
#   energyloss_torch_cxx_standard(<out> <include dir>...)
#     <out> = the C++ standard (e.g. "20") that the LibTorch headers under the
#     include dirs (TORCH_INCLUDE_DIRS) require, the newest that any of their
#     ATen/ATen.h asks for in its guard
#     `__cplusplus < 202002L` (torch >= 2.14: "C++20 or later compatible
#     compiler is required to use ATen"); "" when they accept C++17.
#
#   energyloss_torch_base_version(<out> <version>)
#     <out> = "X.Y.Z" from a torch version such as "2.3.1+cu121",
#     "1.13.0a0" or "2.6.0.dev20241112" (CMake's Torch_VERSION has no local
#     or pre-release part; torch.__version__ may); "" when it has none.
include_guard(GLOBAL)

function(energyloss_torch_cxx11_abi out)
  string(JOIN " " flags ${ARGN})
  set(abi "")
  string(REGEX MATCHALL "-D_GLIBCXX_USE_CXX11_ABI=[01]" matches "${flags}")
  if(matches)
    list(GET matches -1 last)
    string(REGEX REPLACE ".*=" "" abi "${last}")
  endif()
  set(${out} "${abi}" PARENT_SCOPE)
endfunction()

function(energyloss_library_cxx11_abi out library)
  set(abi "")
  if(EXISTS "${library}" AND NOT IS_DIRECTORY "${library}")
    file(STRINGS "${library}" new_abi REGEX "(__cxx11|B5cxx11)" LIMIT_COUNT 1)
    if(new_abi)
      set(abi 1)
    else()
      # Old ABI: std::string is the substitution `Ss`; `RKSs` is a
      # `const std::string&` parameter, which string-taking APIs have.
      file(STRINGS "${library}" old_abi REGEX "^_Z.*RKSs" LIMIT_COUNT 1)
      if(old_abi)
        set(abi 0)
      endif()
    endif()
  endif()
  set(${out} "${abi}" PARENT_SCOPE)
endfunction()

function(energyloss_check_cxx11_abi abi name library)
  if(abi STREQUAL "")
    return()
  endif()
  set(leave_out "its option OFF")
  if(ARGC GREATER 3)
    set(leave_out "-D${ARGV3}=OFF")
  endif()
  energyloss_library_cxx11_abi(library_abi "${library}")
  if(NOT library_abi STREQUAL "" AND NOT library_abi STREQUAL abi)
    message(FATAL_ERROR
      "energyloss: C++ ABI mismatch. The LibTorch found (Torch_DIR=${Torch_DIR}) was built with "
      "-D_GLIBCXX_USE_CXX11_ABI=${abi} (its TORCH_CXX_FLAGS), but ${name} (${library}) uses "
      "_GLIBCXX_USE_CXX11_ABI=${library_abi}; energyloss's libraries pass std::string between "
      "both and would not link. Either use a LibTorch built with _GLIBCXX_USE_CXX11_ABI="
      "${library_abi} (pip wheels of torch >= 2.7, conda-forge's pytorch, or the 'cxx11 ABI' "
      "LibTorch download), or leave ${name} out of this build (${leave_out}).")
  endif()
endfunction()

function(energyloss_torch_cxx_standard out)
  set(standard "")
  foreach(dir ${ARGN})
    if(EXISTS "${dir}/ATen/ATen.h")
      file(STRINGS "${dir}/ATen/ATen.h" guards REGEX "__cplusplus *< *20[0-9][0-9][0-9][0-9]L")
      foreach(guard ${guards})
        # __cplusplus by year: 201703L is C++17 (no change), 202002L C++20, 202302L C++23.
        if(guard MATCHES "20([0-9][0-9])[0-9][0-9]L" AND CMAKE_MATCH_1 GREATER_EQUAL 20
           AND (standard STREQUAL "" OR CMAKE_MATCH_1 GREATER standard))
          set(standard ${CMAKE_MATCH_1})
        endif()
      endforeach()
    endif()
  endforeach()
  set(${out} "${standard}" PARENT_SCOPE)
endfunction()

function(energyloss_torch_base_version out version)
  set(base "")
  if(version MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)")
    set(base "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}.${CMAKE_MATCH_3}")
  elseif(version MATCHES "^([0-9]+)\\.([0-9]+)")
    set(base "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}.0")
  endif()
  set(${out} "${base}" PARENT_SCOPE)
endfunction()
