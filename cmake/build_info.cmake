# The commit stamp of our own programs (not part of the library: a consumer's build never runs it).
#   bayesdrop_stamp_build_info(<target>)  <target> may #include "bayesdrop_build_info.hpp" (BAYESDROP_BUILD_COMMIT),
#                                         which is brought up to date before <target> is compiled
# The header lives in the build tree (<build>/build_info/), never in the sources; cmake/stamp_build_info.cmake writes
# it at every build and rewrites it only when the commit or the tree's cleanliness changed.
find_program(BAYESDROP_GIT git)
mark_as_advanced(BAYESDROP_GIT)
set(BAYESDROP_BUILD_INFO_DIR "${PROJECT_BINARY_DIR}/build_info")
if(NOT TARGET bayesdrop_build_info)
  add_custom_target(bayesdrop_build_info
    COMMAND "${CMAKE_COMMAND}" -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
            -DOUTPUT=${BAYESDROP_BUILD_INFO_DIR}/bayesdrop_build_info.hpp -DGIT=${BAYESDROP_GIT}
            -P "${PROJECT_SOURCE_DIR}/cmake/stamp_build_info.cmake"
    BYPRODUCTS "${BAYESDROP_BUILD_INFO_DIR}/bayesdrop_build_info.hpp"
    VERBATIM)
endif()

function(bayesdrop_stamp_build_info target)
  target_include_directories(${target} PRIVATE "${BAYESDROP_BUILD_INFO_DIR}")
  add_dependencies(${target} bayesdrop_build_info)
endfunction()
