# cmake.torch_logic: cmake/EnergyLossTorch.cmake's functions on made-up
# inputs (TORCH_CXX_FLAGS with ABI 0, 1 or none; stand-in library files whose
# symbols use either libstdc++ ABI or neither; torch version strings; stand-in
# ATen/ATen.h headers with each torch's C++ standard guard).
# Run: cmake -DMODULE=<cmake/EnergyLossTorch.cmake> -DWORK_DIR=<scratch> -P test_torch_logic.cmake
# With -DCHILD_ABI=<abi> -DCHILD_LIBRARY=<file> [-DCHILD_OPTION=<option>] it
# only runs energyloss_check_cxx11_abi (the parent checks that it fails or
# passes, and that a failure names the option that leaves the library out).
cmake_minimum_required(VERSION 3.25)
include(${MODULE})

if(DEFINED CHILD_ABI)
  energyloss_check_cxx11_abi("${CHILD_ABI}" "TestLib" "${CHILD_LIBRARY}" ${CHILD_OPTION})
  message(STATUS "check passed")
  return()
endif()

set(failures 0)
function(expect what got want)
  if(NOT "${got}" STREQUAL "${want}")
    message(SEND_ERROR "${what}: got '${got}', want '${want}'")
  else()
    message(STATUS "ok: ${what} = '${got}'")
  endif()
endfunction()

# TORCH_CXX_FLAGS -> ABI
energyloss_torch_cxx11_abi(abi "-D_GLIBCXX_USE_CXX11_ABI=0")
expect("ABI of -D_GLIBCXX_USE_CXX11_ABI=0" "${abi}" "0")
energyloss_torch_cxx11_abi(abi "-D_GLIBCXX_USE_CXX11_ABI=1")
expect("ABI of -D_GLIBCXX_USE_CXX11_ABI=1" "${abi}" "1")
energyloss_torch_cxx11_abi(abi "")
expect("ABI of empty flags" "${abi}" "")
energyloss_torch_cxx11_abi(abi)
expect("ABI of no flags" "${abi}" "")
energyloss_torch_cxx11_abi(abi "-fPIC -D_GLIBCXX_USE_CXX11_ABI=0 -O2")
expect("ABI in a flag string" "${abi}" "0")
energyloss_torch_cxx11_abi(abi -fPIC -D_GLIBCXX_USE_CXX11_ABI=1)
expect("ABI in a flag list" "${abi}" "1")
energyloss_torch_cxx11_abi(abi "-D_GLIBCXX_USE_CXX11_ABI=0 -D_GLIBCXX_USE_CXX11_ABI=1")
expect("ABI, last one wins" "${abi}" "1")
energyloss_torch_cxx11_abi(abi "-DFOO_GLIBCXX_USE_CXX11_ABI -Wall")
expect("ABI of unrelated flags" "${abi}" "")

# torch versions -> X.Y.Z
set(versions "2.3.1+cu121" "1.13.0a0" "2.6.0.dev20241112" "2.4" "1.13.0" "" "unknown")
set(bases "2.3.1" "1.13.0" "2.6.0" "2.4.0" "1.13.0" "" "")
foreach(version base IN ZIP_LISTS versions bases)
  energyloss_torch_base_version(got "${version}")
  expect("base version of '${version}'" "${got}" "${base}")
endforeach()

# Stand-in include dirs -> the C++ standard torch's headers require (ATen/ATen.h's
# guard: torch 1.13 says C++14, 2.1-2.13 C++17, >= 2.14 C++20 and names MSVC too).
file(MAKE_DIRECTORY ${WORK_DIR})
foreach(case "14;#if !defined(_MSC_VER) && __cplusplus < 201402L;"
             "17;#if !defined(_MSC_VER) && __cplusplus < 201703L;"
             "20;#if !defined(_MSC_VER) && __cplusplus < 202002L;20"
             "20b;#if __cplusplus < 202002L;20"
             "23;#if __cplusplus <202302L;23")
  list(GET case 0 name)
  list(GET case 1 guard)
  list(GET case 2 want)
  file(WRITE ${WORK_DIR}/torch${name}/include/ATen/ATen.h
       "#pragma once\n\n${guard}\n#error C++ too old to use ATen.\n#endif\n")
  energyloss_torch_cxx_standard(standard ${WORK_DIR}/missing ${WORK_DIR}/torch${name}/include)
  expect("C++ standard of ATen.h with '${guard}'" "${standard}" "${want}")
endforeach()
energyloss_torch_cxx_standard(standard ${WORK_DIR}/missing)
expect("C++ standard without ATen/ATen.h" "${standard}" "")
energyloss_torch_cxx_standard(standard ${WORK_DIR}/torch17/include ${WORK_DIR}/torch20/include)
expect("C++ standard of two include dirs" "${standard}" "20")

# Stand-in libraries: a string table like a .so's .dynstr.
set(new_abi ${WORK_DIR}/libnew.so)
set(old_abi ${WORK_DIR}/libold.so)
set(neither ${WORK_DIR}/libneither.so)
file(WRITE ${new_abi} "ELF\n_ZN6OpenMM8Platform19getPlatformByNameERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE\n_ZN6OpenMM6System11addParticleEd\n")
file(WRITE ${old_abi} "ELF\n_ZN6OpenMM8Platform19getPlatformByNameERKSs\n_ZN6OpenMM6System11addParticleEd\n")
file(WRITE ${neither} "ELF\n_ZN6OpenMM6System11addParticleEd\nmalloc\n")
energyloss_library_cxx11_abi(abi ${new_abi})
expect("ABI of a library with std::__cxx11 symbols" "${abi}" "1")
energyloss_library_cxx11_abi(abi ${old_abi})
expect("ABI of a library with old-ABI std::string symbols" "${abi}" "0")
energyloss_library_cxx11_abi(abi ${neither})
expect("ABI of a library without string symbols" "${abi}" "")
energyloss_library_cxx11_abi(abi ${WORK_DIR}/missing.so)
expect("ABI of a missing file" "${abi}" "")

# The configure-time check: fails on a known mismatch only, naming the library.
foreach(case "0;${new_abi};FAIL" "1;${old_abi};FAIL" "1;${new_abi};PASS" "0;${old_abi};PASS"
             "0;${neither};PASS" ";${new_abi};PASS")
  list(GET case 0 abi)
  list(GET case 1 library)
  list(GET case 2 want)
  execute_process(COMMAND ${CMAKE_COMMAND} -DMODULE=${MODULE} -DCHILD_ABI=${abi}
                          -DCHILD_LIBRARY=${library} -DCHILD_OPTION=ENERGYLOSS_WITH_TESTLIB
                          -P ${CMAKE_CURRENT_LIST_FILE}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX REPLACE "[ \t\r\n]+" " " out "${out}")
  set(got PASS)
  if(NOT status EQUAL 0)
    set(got FAIL)
    if(NOT out MATCHES "C\\+\\+ ABI mismatch.*_GLIBCXX_USE_CXX11_ABI=${abi}.*TestLib \\(${library}\\)")
      message(SEND_ERROR "check with ABI '${abi}' on ${library} failed without naming both:\n${out}")
    endif()
    # The way out names the exact option, not a pattern of options.
    if(NOT out MATCHES "leave TestLib out of this build \\(-DENERGYLOSS_WITH_TESTLIB=OFF\\)")
      message(SEND_ERROR "check with ABI '${abi}' on ${library} failed without naming "
              "-DENERGYLOSS_WITH_TESTLIB=OFF:\n${out}")
    endif()
  endif()
  expect("check with torch ABI '${abi}' on ${library}" "${got}" "${want}")
endforeach()
