// The generator's throughput: values per second filling a preallocated buffer of 2^16 .. 2^20 values, one thread.
//
// The local reparameterisation trick draws one normal per pre-activation per step, so Rng::normal<float> must keep
// up with the matrix products: the target is at least 3e8 float normals per second per thread.
#include <benchmark/benchmark.h>

#include <vector>

#include "bayesdrop/core/rng.hpp"

namespace {

using bayesdrop::Index;
using bayesdrop::Rng;

template <class Scalar, bool Normal>
void BM_RngFill(benchmark::State& state) {
  const Index n = state.range(0);
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
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * Index(sizeof(Scalar)));
}

void BM_RngNormalFloat(benchmark::State& state) {
  BM_RngFill<float, true>(state);
}
void BM_RngNormalDouble(benchmark::State& state) {
  BM_RngFill<double, true>(state);
}
void BM_RngUniformFloat(benchmark::State& state) {
  BM_RngFill<float, false>(state);
}

}  // namespace

BENCHMARK(BM_RngNormalFloat)->RangeMultiplier(4)->Range(1 << 16, 1 << 20);
BENCHMARK(BM_RngNormalDouble)->RangeMultiplier(4)->Range(1 << 16, 1 << 20);
BENCHMARK(BM_RngUniformFloat)->RangeMultiplier(4)->Range(1 << 16, 1 << 20);
