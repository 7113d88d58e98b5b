# Install rules, the CMake package (find_package(bayesdrop CONFIG)) and the Debian package (CPack).
#
# Included at the end of the top-level CMakeLists.txt, after examples/ so that if(TARGET bayesdrop-mnist) sees it.
#
#   cmake -S . -B build/x -DBAYESDROP_BUILD_TESTS=OFF && cmake --install build/x --prefix /some/prefix
#   then a consumer:  find_package(bayesdrop CONFIG REQUIRED)  +  target_link_libraries(app PRIVATE bayesdrop::bayesdrop)
#   (tests/package/ is that consumer; scripts/check-package.sh runs it.)
#
# Debian package: packagers configure WITHOUT -march=native, or the trainer in the .deb only runs on CPUs like the
# build machine's:
#   cmake --preset package          (= -DCMAKE_BUILD_TYPE=Release -DBAYESDROP_NATIVE_ARCH=OFF, tests/benchmarks off)
#   cmake --build --preset package && (cd build/package && cpack -G DEB)
# The package is arch-specific only because of the bayesdrop-mnist trainer; the headers and CMake files in it are
# arch-independent.

include(CMakePackageConfigHelpers)

# The package files go to share/ (the headers are arch-independent); the optional compiled library, when built, to
# lib/ beside them.
set(BAYESDROP_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/bayesdrop"
    CACHE STRING "Where to install bayesdropConfig.cmake and friends, relative to the prefix")
mark_as_advanced(BAYESDROP_INSTALL_CMAKEDIR)

# --- headers and the imported target -----------------------------------------------------------------------------
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/bayesdrop"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT bayesdrop_development
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

# Only the library target is exported. bayesdrop_build_settings (warnings, -march=native, OpenMP for our own
# programs) is deliberately NOT installed: those flags are never pushed onto consumers.
install(TARGETS bayesdrop EXPORT bayesdropTargets COMPONENT bayesdrop_development)
# The optional compiled library (bayesdrop::compiled): libbayesdrop.a with the templates' instantiations.
if(TARGET bayesdrop_compiled)
  install(TARGETS bayesdrop_compiled EXPORT bayesdropTargets
          ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT bayesdrop_development)
endif()
install(EXPORT bayesdropTargets
        NAMESPACE bayesdrop::
        DESTINATION "${BAYESDROP_INSTALL_CMAKEDIR}"
        COMPONENT bayesdrop_development)

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/bayesdropConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/bayesdropConfig.cmake"
  INSTALL_DESTINATION "${BAYESDROP_INSTALL_CMAKEDIR}")
# Arch-independent unless it holds the compiled library.
set(_bayesdrop_arch_independent ARCH_INDEPENDENT)
if(TARGET bayesdrop_compiled)
  set(_bayesdrop_arch_independent "")
endif()
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/bayesdropConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion
  ${_bayesdrop_arch_independent})
install(FILES "${PROJECT_BINARY_DIR}/bayesdropConfig.cmake" "${PROJECT_BINARY_DIR}/bayesdropConfigVersion.cmake"
        DESTINATION "${BAYESDROP_INSTALL_CMAKEDIR}"
        COMPONENT bayesdrop_development)

# --- the MNIST trainer, when examples/ defines it -----------------------------------------------------------------
if(TARGET bayesdrop-mnist)
  install(TARGETS bayesdrop-mnist RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT bayesdrop_runtime)
endif()

# --- Debian package: `cpack -G DEB` in the build directory ----------------------------------------------------------
# Only when bayesdrop is the top-level project: a parent that add_subdirectory()s us keeps its own CPack settings.
if(PROJECT_IS_TOP_LEVEL)
  set(CPACK_PACKAGE_NAME "bayesdrop")
  set(CPACK_PACKAGE_VENDOR "bayesdrop developers")
  set(CPACK_PACKAGE_CONTACT "bayesdrop developers")
  set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
  set(CPACK_PACKAGE_DESCRIPTION
      "Header-only C++17 library of Bayesian dropout layers (binary, Gaussian, variational, sparse variational, \
beta-Bernoulli, structured Bayesian pruning) on Eigen, with the CMake package files for \
find_package(bayesdrop CONFIG) and, when built, the bayesdrop-mnist trainer.")
  set(CPACK_GENERATOR "DEB")  # what a bare `cpack` makes
  set(CPACK_DEBIAN_PACKAGE_NAME "bayesdrop")
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # bayesdrop_<version>_<arch>.deb
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "bayesdrop developers")
  set(CPACK_DEBIAN_PACKAGE_SECTION "libdevel")
  # The headers need Eigen and zlib at compile time; the trainer's shared libraries (libstdc++, libgomp, libz, ...)
  # are added by dpkg-shlibdeps.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libeigen3-dev (>= 3.3), zlib1g-dev")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # Source tarballs (`cpack --config CPackSourceConfig.cmake`) leave out build trees, data and VCS files.
  set(CPACK_SOURCE_GENERATOR "TGZ")
  # (regexes on absolute paths, anchored at the source dir so that a checkout inside e.g. /tmp/build-x/ still works;
  # written without backslashes, which CPack would need doubled in CPackSourceConfig.cmake)
  string(REGEX REPLACE "([.+*?()$|])" "[\\1]" _bayesdrop_src_re "${PROJECT_SOURCE_DIR}")
  set(CPACK_SOURCE_IGNORE_FILES "^${_bayesdrop_src_re}/([.]git|build|build-[^/]*|out|data|[.]cache)/")
  include(CPack)
endif()
