// bayesdrop/version.hpp: the version the library says it is, which the CMake project reads from the same header.
#include <catch2/catch.hpp>
#include <string>

#include "bayesdrop/version.hpp"

TEST_CASE("provenance: bayesdrop::version() is the CMake project's version, MAJOR.MINOR.PATCH", "[core][provenance]") {
  const std::string v = bayesdrop::version();
  CHECK(v == std::to_string(BAYESDROP_VERSION_MAJOR) + "." + std::to_string(BAYESDROP_VERSION_MINOR) + "." +
                 std::to_string(BAYESDROP_VERSION_PATCH));
  CHECK(v == BAYESDROP_PROJECT_VERSION);  // tests/CMakeLists.txt passes ${PROJECT_VERSION}
  CHECK(BAYESDROP_VERSION == BAYESDROP_VERSION_MAJOR * 10000 + BAYESDROP_VERSION_MINOR * 100 + BAYESDROP_VERSION_PATCH);
  static_assert(bayesdrop::version()[0] != '\0', "version() is usable in constant expressions");
}
