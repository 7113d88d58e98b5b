# Header hygiene, included from tests/CMakeLists.txt.
#
#  test_headers_compile  (built by default; a broken header fails the build) one generated .cpp per public header,
#                        `#include "bayesdrop/<path>"` and nothing else: every header includes what it uses.
#  test_odr              (ctest, label unit) two translation units that both include the umbrella header, linked
#                        together: a non-inline function or variable defined in a header breaks the link.
#  test_headers_umbrella (ctest, label unit) fails when a header under include/bayesdrop/ is missing from
#                        bayesdrop/bayesdrop.hpp (see check_umbrella.cmake).
#  test_header_levels    (ctest, label unit) fails on an include of a higher or peer level (check_levels.py, the
#                        levels of docs/design.md).

# --- every header compiles on its own ---------------------------------------------------------------------------
# Off in the asan preset: the check is about includes, which one build (release) settles; it saves ~45 compiles.
option(BAYESDROP_CHECK_HEADERS "Build test_headers_compile: every public header compiled on its own" ON)
if(BAYESDROP_CHECK_HEADERS)
  file(GLOB_RECURSE bayesdrop_public_headers CONFIGURE_DEPENDS RELATIVE "${PROJECT_SOURCE_DIR}/include"
       "${PROJECT_SOURCE_DIR}/include/bayesdrop/*.hpp")
  set(bayesdrop_header_tus)
  foreach(header IN LISTS bayesdrop_public_headers)
    string(MAKE_C_IDENTIFIER "${header}" tu)
    set(tu "${CMAKE_CURRENT_BINARY_DIR}/header_compile/${tu}.cpp")
    file(CONFIGURE OUTPUT "${tu}" CONTENT "#include \"${header}\"\n" @ONLY)  # rewritten only when it changes
    list(APPEND bayesdrop_header_tus "${tu}")
  endforeach()
  add_library(test_headers_compile OBJECT ${bayesdrop_header_tus})
  target_link_libraries(test_headers_compile PRIVATE bayesdrop::bayesdrop bayesdrop_build_settings)
endif()

# --- one definition rule: two TUs with the umbrella header in one program ---------------------------------------
add_executable(test_odr odr/odr_main.cpp odr/odr_a.cpp odr/odr_b.cpp)
target_link_libraries(test_odr PRIVATE bayesdrop::bayesdrop bayesdrop_build_settings)
add_test(NAME test_odr COMMAND test_odr)
set_tests_properties(test_odr PROPERTIES LABELS unit)

# --- the umbrella header lists every header -----------------------------------------------------------------------
# Globs at test time (not configure time), so a header added since the last configure is caught too.
add_test(NAME test_headers_umbrella
         COMMAND "${CMAKE_COMMAND}" -DBAYESDROP_INCLUDE_DIR=${PROJECT_SOURCE_DIR}/include
                 -P "${CMAKE_CURRENT_LIST_DIR}/check_umbrella.cmake")
set_tests_properties(test_headers_umbrella PROPERTIES LABELS unit)

# --- every `extern template` of the headers has its definition in the compiled library's src/ ----------------------
find_program(BAYESDROP_PYTHON3 python3 HINTS /usr/bin)
if(BAYESDROP_PYTHON3)
  add_test(NAME test_compiled_instantiations
           COMMAND ${BAYESDROP_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_instantiations.py ${PROJECT_SOURCE_DIR})
  set_tests_properties(test_compiled_instantiations PROPERTIES LABELS unit)
  # --- no include runs back up: the levels of docs/design.md ("Levels of the include graph") -------------------------
  add_test(NAME test_header_levels
           COMMAND ${BAYESDROP_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_levels.py ${PROJECT_SOURCE_DIR})
  set_tests_properties(test_header_levels PROPERTIES LABELS unit)
endif()
