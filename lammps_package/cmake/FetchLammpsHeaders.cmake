# Debian's liblammps-dev ships only part of LAMMPS's headers: pointers.h needs
# command.h, exceptions.h, lammpsplugin.h and LAMMPS's bundled fmt (namespace
# fmt::v7_lmp; the system libfmt will not do). They are in Debian's *source*
# package `lammps`, whose src/ matches the installed headers byte for byte.
# This script downloads that source package once per version with a private
# apt setup (the system's apt lists and cache stay untouched), unpacks only
# src/*.h and src/fmt/*, and caches them outside the build tree. LAMMPS code
# is never committed to this repository.
#
# energyloss_fetch_lammps_headers(<out-var>) sets <out-var> to a folder with
# the source headers, to be added *after* LAMMPS::lammps's own include folder.
# Set ENERGYLOSS_LAMMPS_SOURCE_HEADERS to such a folder to skip the download.

set(ENERGYLOSS_LAMMPS_SOURCE_HEADERS "" CACHE PATH
    "Folder with LAMMPS's src/*.h and src/fmt/* matching the installed liblammps-dev (empty: fetch from Debian)")

function(_energyloss_lammps_fetch_failed step detail)
  message(FATAL_ERROR
    "energyloss LAMMPS package: could not get the LAMMPS source headers that liblammps-dev lacks "
    "(pointers.h needs command.h, fmt/*.h, ...).\n"
    "Step that failed: ${step}\n${detail}\n"
    "Fix: allow network access to deb.debian.org, or unpack src/*.h and src/fmt/* of Debian's "
    "source package 'lammps' (same version as liblammps-dev) into a folder and configure with "
    "-DENERGYLOSS_LAMMPS_SOURCE_HEADERS=<folder>, or build without -DENERGYLOSS_BUILD_LAMMPS_PACKAGE=ON.")
endfunction()

# The installed headers must be the ones the fetched sources were built from:
# compare a header present in both.
function(_energyloss_lammps_headers_match folder out_var)
  set(installed "")
  foreach(dir IN LISTS LAMMPS_INSTALLED_INCLUDE_DIRS)
    if(EXISTS "${dir}/pointers.h")
      set(installed "${dir}/pointers.h")
    endif()
  endforeach()
  set(${out_var} FALSE PARENT_SCOPE)
  if(installed AND EXISTS "${folder}/pointers.h" AND EXISTS "${folder}/command.h"
     AND EXISTS "${folder}/fmt/format.h")
    file(SHA256 "${installed}" installed_hash)
    file(SHA256 "${folder}/pointers.h" fetched_hash)
    if(installed_hash STREQUAL fetched_hash)
      set(${out_var} TRUE PARENT_SCOPE)
    endif()
  endif()
endfunction()

function(energyloss_fetch_lammps_headers out_var)
  get_target_property(LAMMPS_INSTALLED_INCLUDE_DIRS LAMMPS::lammps INTERFACE_INCLUDE_DIRECTORIES)

  if(ENERGYLOSS_LAMMPS_SOURCE_HEADERS)
    _energyloss_lammps_headers_match("${ENERGYLOSS_LAMMPS_SOURCE_HEADERS}" ok)
    if(NOT ok)
      _energyloss_lammps_fetch_failed("check ENERGYLOSS_LAMMPS_SOURCE_HEADERS"
        "'${ENERGYLOSS_LAMMPS_SOURCE_HEADERS}' lacks pointers.h, command.h or fmt/format.h, or its pointers.h differs from the installed one.")
    endif()
    set(${out_var} "${ENERGYLOSS_LAMMPS_SOURCE_HEADERS}" PARENT_SCOPE)
    return()
  endif()

  # The source version of the installed headers names the cache folder and
  # is what apt must fetch (binary rebuilds like +b2 share their source).
  execute_process(COMMAND dpkg-query -W -f=\${source:Version} liblammps-dev
                  OUTPUT_VARIABLE version RESULT_VARIABLE rc ERROR_VARIABLE err
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0 OR version STREQUAL "")
    _energyloss_lammps_fetch_failed("dpkg-query liblammps-dev" "${err}")
  endif()

  if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
    set(cache_root "$ENV{XDG_CACHE_HOME}")
  else()
    set(cache_root "$ENV{HOME}/.cache")
  endif()
  string(REGEX REPLACE "[^A-Za-z0-9.+_-]" "_" version_tag "${version}")
  set(cache "${cache_root}/energyloss/lammps-${version_tag}")
  set(headers "${cache}/include")

  _energyloss_lammps_headers_match("${headers}" ok)
  if(ok)
    set(${out_var} "${headers}" PARENT_SCOPE)
    return()
  endif()

  message(STATUS "Fetching LAMMPS source headers (Debian source package lammps=${version}) into ${cache}")
  set(apt "${cache}/apt")
  file(REMOVE_RECURSE "${apt}" "${headers}")
  file(MAKE_DIRECTORY "${apt}/parts" "${apt}/lists/partial" "${apt}/cache/archives/partial"
                      "${apt}/download" "${headers}")
  file(WRITE "${apt}/empty.list" "")
  # deb-src entries derived from the machine's own Debian sources.
  set(system_sources /etc/apt/sources.list.d/debian.sources)
  if(EXISTS ${system_sources})
    file(READ ${system_sources} sources)
    string(REGEX REPLACE "Types: deb\n" "Types: deb-src\n" sources "${sources}")
    file(WRITE "${apt}/parts/debian-src.sources" "${sources}")
  elseif(EXISTS /etc/apt/sources.list)
    file(STRINGS /etc/apt/sources.list lines REGEX "^deb ")
    list(TRANSFORM lines REPLACE "^deb " "deb-src ")
    list(JOIN lines "\n" sources)
    file(WRITE "${apt}/parts/debian-src.list" "${sources}\n")
  else()
    _energyloss_lammps_fetch_failed("find the system's apt sources"
      "neither ${system_sources} nor /etc/apt/sources.list exists.")
  endif()
  set(apt_options -o Dir::Etc::SourceList=${apt}/empty.list -o Dir::Etc::SourceParts=${apt}/parts
                  -o Dir::State::Lists=${apt}/lists -o Dir::Cache=${apt}/cache
                  -o Debug::NoLocking=1)

  execute_process(COMMAND apt-get ${apt_options} update
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    _energyloss_lammps_fetch_failed("apt-get update (private deb-src index)" "${out}${err}")
  endif()
  execute_process(COMMAND apt-get ${apt_options} source --download-only lammps=${version}
                  WORKING_DIRECTORY "${apt}/download"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  file(GLOB tarball "${apt}/download/lammps_*.orig.tar.*")
  if(NOT rc EQUAL 0 OR NOT tarball)
    _energyloss_lammps_fetch_failed("apt-get source --download-only lammps=${version}" "${out}${err}")
  endif()

  # Only the top-level src/*.h and src/fmt/*: no package sub-folders.
  execute_process(COMMAND tar -xf "${tarball}" -C "${apt}/download" --wildcards
                          --no-wildcards-match-slash "*/src/*.h" "*/src/fmt/*"
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  file(GLOB src_dir LIST_DIRECTORIES true "${apt}/download/*/src")
  if(NOT rc EQUAL 0 OR NOT src_dir)
    _energyloss_lammps_fetch_failed("unpack src/*.h from ${tarball}" "${err}")
  endif()
  file(GLOB src_headers "${src_dir}/*.h")
  file(COPY ${src_headers} "${src_dir}/fmt" DESTINATION "${headers}")
  # The 80 MB download and the index are no longer needed.
  file(REMOVE_RECURSE "${apt}")

  _energyloss_lammps_headers_match("${headers}" ok)
  if(NOT ok)
    _energyloss_lammps_fetch_failed("compare with the installed headers"
      "the fetched pointers.h (in ${headers}) differs from the installed one: the source package does not match liblammps-dev ${version}.")
  endif()
  set(${out_var} "${headers}" PARENT_SCOPE)
endfunction()
