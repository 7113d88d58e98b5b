// The generator's throughput: values per second filling a preallocated buffer of 2^16 .. 2^20 values.
//
// The local reparameterisation trick draws one normal per pre-activation per step, so Rng::normal<float> must keep
// up with the matrix products: the target is at least 3e8 float normals per second per thread.
//   BM_RngNormalFloat, BM_RngNormalDouble, BM_RngUniformFloat, BM_RngUniformDouble   one thread (scripts/
//                                                                                    bench-overhead.sh reads these)
//   BM_RngThreads_<kind>/<n>/<threads>   the same fills on 1 and 2 threads, timed by the wall clock: a fill of at
//                                        least 2^16 values is split over Eigen::nbThreads() threads
#include <benchmark/benchmark.h>

#include <vector>

#include "bayesdrop/core/rng.hpp"

namespace {

using bayesdrop::Index;
using bayesdrop::Rng;

template <class Scalar, bool Normal>
void fill(benchmark::State& state, int threads) {
  const Index n = state.range(0);
  const int old_threads = Eigen::nbThreads();
  Eigen::setNbThreads(threads);
  std::vector<Scalar> buffer(static_cast<std::size_t>(n));
  Rng rng(42);
  for (auto _ : state) {
    if constexpr (Normal) {
      rng.normal(buffer.data(), n);
    } else {
      rng.uniform(buffer.data(), n);
    }
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  Eigen::setNbThreads(old_threads);
  state.counters["threads"] = threads;
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * Index(sizeof(Scalar)));
}

void BM_RngNormalFloat(benchmark::State& state) {
  fill<float, true>(state, 1);
}
void BM_RngNormalDouble(benchmark::State& state) {
  fill<double, true>(state, 1);
}
void BM_RngUniformFloat(benchmark::State& state) {
  fill<float, false>(state, 1);
}
void BM_RngUniformDouble(benchmark::State& state) {
  fill<double, false>(state, 1);
}

void BM_RngThreads_NormalFloat(benchmark::State& state) {
  fill<float, true>(state, int(state.range(1)));
}
void BM_RngThreads_UniformFloat(benchmark::State& state) {
  fill<float, false>(state, int(state.range(1)));
}

}  // namespace

BENCHMARK(BM_RngNormalFloat)->RangeMultiplier(4)->Range(1 << 16, 1 << 20);
BENCHMARK(BM_RngNormalDouble)->RangeMultiplier(4)->Range(1 << 16, 1 << 20);
BENCHMARK(BM_RngUniformFloat)->RangeMultiplier(4)->Range(1 << 16, 1 << 20);
BENCHMARK(BM_RngUniformDouble)->RangeMultiplier(4)->Range(1 << 16, 1 << 20);
BENCHMARK(BM_RngThreads_NormalFloat)->ArgsProduct({{1 << 16, 1 << 18, 1 << 20}, {1, 2}})->UseRealTime();
BENCHMARK(BM_RngThreads_UniformFloat)->ArgsProduct({{1 << 16, 1 << 18, 1 << 20}, {1, 2}})->UseRealTime();
