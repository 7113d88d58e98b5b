// The plain MLP training step beside the matrix products it performs.
//
// Model: 784-500-300-10 (Linear+ReLU, Linear+ReLU, Linear), float, batch 100, Glorot init, Adam (lr 1e-3). The data
// are random inputs in (0, 1] with random labels 0..9, prepared once outside the timing loops: a pool of 60 batches
// that the steps cycle through. One batch repeated is memorised within a few hundred steps, after which a step is no
// longer typical (vanishing gradients, subnormal floats) and its time drifts.
//
//   BM_MlpTrainStep        forward (train), softmax cross-entropy forward + backward, backward, Adam step (which
//                          clears the gradients it consumed, as in the trainer's loop)
//   BM_MlpStepMatmulsOnly  exactly the eight matrix products of that step, same shapes, preallocated, .noalias()
//   BM_MlpEvalForward      forward in evaluation mode
//
// Each runs with 1 and 2 Eigen threads (the argument). The step's time over its products' time is the overhead the
// rest of the library must keep small; scripts/bench-overhead.sh prints it. Counters: items_per_second counts
// examples (100 per step) and epoch_s is the time of the 600 steps of an MNIST epoch (60000 examples).
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "bayesdrop/core/context.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/losses/softmax_cross_entropy.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bench_support.hpp"

namespace {

namespace bd = bayesdrop;
using bench::Mat;
using bench::MlpProducts;

constexpr bd::Index kIn = MlpProducts::kIn, kH1 = MlpProducts::kH1, kH2 = MlpProducts::kH2, kOut = MlpProducts::kOut;
constexpr bd::Index kBatch = bench::kBatch;
constexpr std::uint64_t kSeed = 20240601;
constexpr int kPoolBatches = 60;

/// The data: kPoolBatches batches of inputs (kIn x kBatch, uniform on (0, 1]) and labels, built once.
struct DataPool {
  std::vector<Mat> x;
  std::vector<bd::Labels> labels;
};

const DataPool& data_pool() {
  static const DataPool pool = [] {
    DataPool p;
    p.x = bench::random_batches(kIn, kBatch, kPoolBatches, kSeed + 1);
    bd::Rng rng(kSeed + 2);
    for (int b = 0; b < kPoolBatches; ++b) {
      p.labels.emplace_back(kBatch);
      for (bd::Index j = 0; j < kBatch; ++j) p.labels.back()[j] = bd::Label(rng.uniform_index(kOut));
    }
    return p;
  }();
  return pool;
}

/// The model, freshly initialised with a fixed seed.
struct Mlp {
  bd::Rng rng{kSeed};
  bd::Sequential<float> net;

  Mlp() {
    net.emplace<bd::Linear>(kIn, kH1, rng);
    net.emplace<bd::ReLU>(kH1);
    net.emplace<bd::Linear>(kH1, kH2, rng);
    net.emplace<bd::ReLU>(kH2);
    net.emplace<bd::Linear>(kH2, kOut, rng);
  }
};

void BM_MlpTrainStep(benchmark::State& state) {
  bench::set_threads(state);
  const DataPool& data = data_pool();
  Mlp m;
  bd::SoftmaxCrossEntropy<float> loss;
  bd::Adam<float> adam({bd::ParamGroup<float>{"all", m.net.parameters(), 1e-3}});
  Mat dlogits;
  const bd::Context ctx = bd::Context::train(m.rng);
  int b = 0;
  auto step = [&] {
    const Mat& x = data.x[b];
    const bd::Labels& labels = data.labels[b];
    b = (b + 1) % kPoolBatches;
    const Mat& logits = m.net.forward(x, ctx);
    benchmark::DoNotOptimize(loss.forward(logits, labels));
    loss.backward(labels, dlogits);
    m.net.backward(x, dlogits, nullptr);
    adam.step();
  };
  step();  // warm-up: sizes every buffer
  for (auto _ : state) {
    step();
    benchmark::ClobberMemory();
  }
  bench::report_steps(state);
}

void BM_MlpStepMatmulsOnly(benchmark::State& state) {
  bench::set_threads(state);
  bench::time_products(state, data_pool().x, kSeed);
}

void BM_MlpEvalForward(benchmark::State& state) {
  bench::set_threads(state);
  const DataPool& data = data_pool();
  Mlp m;
  const bd::Context ctx = bd::Context::eval();
  int b = 0;
  benchmark::DoNotOptimize(m.net.forward(data.x[0], ctx).data());  // warm-up
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.net.forward(data.x[b], ctx).data());
    b = (b + 1) % kPoolBatches;
    benchmark::ClobberMemory();
  }
  bench::report_steps(state);
}

}  // namespace

BENCHMARK(BM_MlpTrainStep)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MlpStepMatmulsOnly)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MlpEvalForward)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
