# cmake -DBAYESDROP_INCLUDE_DIR=<repo>/include -P check_umbrella.cmake
# Fails (exit code 1) when a header under include/bayesdrop/ is not included by bayesdrop/bayesdrop.hpp, or when the
# umbrella includes a bayesdrop header that does not exist.
#
# cmake -DBAYESDROP_INCLUDE_DIR=<repo>/include -DUPDATE=ON -P check_umbrella.cmake
# rewrites bayesdrop/bayesdrop.hpp from the headers that exist: one sorted block per directory.
cmake_minimum_required(VERSION 3.21)
if(NOT BAYESDROP_INCLUDE_DIR)
  message(FATAL_ERROR "usage: cmake -DBAYESDROP_INCLUDE_DIR=<repo>/include -P check_umbrella.cmake")
endif()
get_filename_component(BAYESDROP_INCLUDE_DIR "${BAYESDROP_INCLUDE_DIR}" ABSOLUTE)
set(umbrella "${BAYESDROP_INCLUDE_DIR}/bayesdrop/bayesdrop.hpp")
if(NOT EXISTS "${umbrella}")
  message(FATAL_ERROR "umbrella header ${umbrella} does not exist")
endif()

file(GLOB_RECURSE headers RELATIVE "${BAYESDROP_INCLUDE_DIR}" "${BAYESDROP_INCLUDE_DIR}/bayesdrop/*.hpp")
list(REMOVE_ITEM headers "bayesdrop/bayesdrop.hpp")
list(SORT headers)
if(NOT headers)
  message(FATAL_ERROR "no headers found under ${BAYESDROP_INCLUDE_DIR}/bayesdrop")
endif()

if(UPDATE)
  set(titles
    "core=core: types, errors, random numbers, the layer contract"
    "math=math: special functions, distributions, KL terms"
    "io=data: IDX/MNIST readers (io/idx.hpp needs zlib, which the bayesdrop target links)"
    "layers=layers"
    "losses=losses"
    "models=models: networks, the dropout-family registry and zoo, compact(), model files"
    "optim=optimisers and learning-rate schedules"
    "training=training loop")
  set(order core math io layers losses models optim training)
  set(groups)
  foreach(h IN LISTS headers)
    string(REGEX MATCH "^bayesdrop/([^/]+)/" _ "${h}")
    set(g "${CMAKE_MATCH_1}")
    if(g STREQUAL "")
      set(g "_top")
    endif()
    list(APPEND "hdrs_${g}" "${h}")
    if(NOT g IN_LIST groups)
      list(APPEND groups "${g}")
    endif()
  endforeach()
  set(ordered)
  foreach(g IN LISTS order)
    if(g IN_LIST groups)
      list(APPEND ordered "${g}")
    endif()
  endforeach()
  list(SORT groups)
  foreach(g IN LISTS groups)
    if(NOT g IN_LIST ordered)
      list(APPEND ordered "${g}")
    endif()
  endforeach()
  set(text [=[// The whole library in one include: `#include <bayesdrop/bayesdrop.hpp>`.
//
// Every public header under include/bayesdrop/ must be listed here. The ctest test `test_headers_umbrella`
// (tests/headers/check_umbrella.cmake) fails when one is missing. To regenerate this file from the tree:
//   cmake -DBAYESDROP_INCLUDE_DIR=include -DUPDATE=ON -P tests/headers/check_umbrella.cmake
// Each header also compiles on its own (target test_headers_compile) and may be included directly instead.
#pragma once
]=])
  foreach(g IN LISTS ordered)
    set(title "${g}")
    foreach(t IN LISTS titles)
      if(t MATCHES "^${g}=(.*)$")
        set(title "${CMAKE_MATCH_1}")
      endif()
    endforeach()
    if(g STREQUAL "_top")
      set(title "top-level headers")
    endif()
    string(APPEND text "\n// ${title}\n")
    foreach(h IN LISTS "hdrs_${g}")
      string(APPEND text "#include \"${h}\"\n")
    endforeach()
  endforeach()
  file(WRITE "${umbrella}.tmp" "${text}")
  file(RENAME "${umbrella}.tmp" "${umbrella}")
  list(LENGTH headers n)
  message(STATUS "wrote ${umbrella} with ${n} headers")
  return()
endif()

# The umbrella's includes of our headers: #include "bayesdrop/x.hpp" or #include <bayesdrop/x.hpp>
file(STRINGS "${umbrella}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]bayesdrop/[^\">]+[\">]")
set(included)
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[\"<](bayesdrop/[^\">]+)[\">].*$" "\\1" path "${line}")
  list(APPEND included "${path}")
endforeach()

set(missing)
foreach(h IN LISTS headers)
  if(NOT h IN_LIST included)
    list(APPEND missing "${h}")
  endif()
endforeach()
set(dangling)
foreach(h IN LISTS included)
  if(NOT EXISTS "${BAYESDROP_INCLUDE_DIR}/${h}")
    list(APPEND dangling "${h}")
  endif()
endforeach()

list(LENGTH headers n_headers)
if(missing OR dangling)
  foreach(h IN LISTS missing)
    message("missing from bayesdrop/bayesdrop.hpp: #include \"${h}\"")
  endforeach()
  foreach(h IN LISTS dangling)
    message("bayesdrop/bayesdrop.hpp includes a header that does not exist: ${h}")
  endforeach()
  message(FATAL_ERROR "the umbrella header is out of date: add the missing includes to ${umbrella}, or regenerate it:\n"
                      "  cmake -DBAYESDROP_INCLUDE_DIR=include -DUPDATE=ON -P tests/headers/check_umbrella.cmake")
endif()
message(STATUS "umbrella header includes all ${n_headers} headers")
