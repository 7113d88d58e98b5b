// Linked into every benchmark executable (bench/CMakeLists.txt): its output's context (the "context" object of
// --benchmark_format=json) names the library version and the commit it was built from, as the programs' reports do
// (examples/common/provenance.hpp). A file of its own (the object library bench_build_context), so that a new
// commit recompiles this alone.
#include <benchmark/benchmark.h>

#include "bayesdrop/version.hpp"

#if __has_include("bayesdrop_build_info.hpp")
#include "bayesdrop_build_info.hpp"  // cmake/build_info.cmake: bayesdrop_stamp_build_info
#endif
#ifndef BAYESDROP_BUILD_COMMIT
#define BAYESDROP_BUILD_COMMIT "unknown"
#endif

namespace {

const bool context_added = [] {
  benchmark::AddCustomContext("bayesdrop_version", bayesdrop::version());
  benchmark::AddCustomContext("bayesdrop_commit", BAYESDROP_BUILD_COMMIT);
  return true;
}();

}  // namespace
