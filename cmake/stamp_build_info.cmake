# cmake -DSOURCE_DIR=<repo> -DOUTPUT=<build>/build_info/bayesdrop_build_info.hpp [-DGIT=<git>] -P stamp_build_info.cmake
#
# Writes the header that tells the programs which commit they were built from (examples/common/provenance.hpp):
#   #define BAYESDROP_BUILD_COMMIT "<40 hex digits>"          HEAD of the checkout at SOURCE_DIR
#                                  "<40 hex digits>-dirty"    ... with uncommitted changes to tracked files (as
#                                                             `git describe --dirty` counts them: untracked files not)
#                                  "unknown"                  SOURCE_DIR is not the top of a git checkout (a tarball,
#                                                             or a copy inside another project's repository), or no git
# Run at every build by the target bayesdrop_build_info (cmake/build_info.cmake), so a new HEAD is stamped without a
# reconfigure; the file is rewritten only when its text changes, so an unchanged commit recompiles nothing.
cmake_minimum_required(VERSION 3.21)
if(NOT SOURCE_DIR OR NOT OUTPUT)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<repo> -DOUTPUT=<header> [-DGIT=<git>] -P stamp_build_info.cmake")
endif()
if(NOT GIT)
  find_program(GIT git)
endif()

set(commit "unknown")
if(GIT)
  # --no-optional-locks: the stamp never takes the index lock from a git command the user runs meanwhile.
  execute_process(COMMAND "${GIT}" --no-optional-locks -C "${SOURCE_DIR}" rev-parse --show-toplevel
                  RESULT_VARIABLE rc OUTPUT_VARIABLE top OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(rc EQUAL 0)
    file(REAL_PATH "${top}" top)
    file(REAL_PATH "${SOURCE_DIR}" source)
  endif()
  if(rc EQUAL 0 AND top STREQUAL source)
    execute_process(COMMAND "${GIT}" --no-optional-locks -C "${SOURCE_DIR}" rev-parse --verify HEAD
                    RESULT_VARIABLE rc OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(rc EQUAL 0 AND head MATCHES "^[0-9a-f]+$")
      set(commit "${head}")
      execute_process(COMMAND "${GIT}" --no-optional-locks -C "${SOURCE_DIR}" status --porcelain
                              --untracked-files=no
                      RESULT_VARIABLE rc OUTPUT_VARIABLE changes ERROR_QUIET)
      if(NOT rc EQUAL 0 OR NOT changes STREQUAL "")
        string(APPEND commit "-dirty")
      endif()
    endif()
  endif()
endif()

set(text "// Written by cmake/stamp_build_info.cmake at build time: the commit the programs were built from.
#pragma once
#define BAYESDROP_BUILD_COMMIT \"${commit}\"
")
set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUTPUT}" "${text}")
endif()
