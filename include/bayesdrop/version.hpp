// The library's version. The top-level CMakeLists.txt reads the three numbers below for project(VERSION), so this
// header is the one place the version is written: the package's version file, the programs' reports and
// `bayesdrop::version()` all say the same.
#pragma once

#define BAYESDROP_VERSION_MAJOR 0
#define BAYESDROP_VERSION_MINOR 1
#define BAYESDROP_VERSION_PATCH 0

#define BAYESDROP_DETAIL_STRINGIFY2(x) #x
#define BAYESDROP_DETAIL_STRINGIFY(x) BAYESDROP_DETAIL_STRINGIFY2(x)
/// "MAJOR.MINOR.PATCH", as a string literal.
#define BAYESDROP_VERSION_STRING                      \
  BAYESDROP_DETAIL_STRINGIFY(BAYESDROP_VERSION_MAJOR) \
  "." BAYESDROP_DETAIL_STRINGIFY(BAYESDROP_VERSION_MINOR) "." BAYESDROP_DETAIL_STRINGIFY(BAYESDROP_VERSION_PATCH)
/// MAJOR * 10000 + MINOR * 100 + PATCH, for `#if BAYESDROP_VERSION >= 200` tests.
#define BAYESDROP_VERSION (BAYESDROP_VERSION_MAJOR * 10000 + BAYESDROP_VERSION_MINOR * 100 + BAYESDROP_VERSION_PATCH)

namespace bayesdrop {

/// The library's version, "MAJOR.MINOR.PATCH" (the CMake project's version).
constexpr const char* version() noexcept {
  return BAYESDROP_VERSION_STRING;
}

}  // namespace bayesdrop
