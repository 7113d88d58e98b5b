// The plain MLP training step beside the matrix products it performs.
//
// Model: 784-500-300-10 (Linear+ReLU, Linear+ReLU, Linear), float, batch 100, Glorot init, Adam (lr 1e-3). The data
// are random inputs in (0, 1] with random labels 0..9, prepared once outside the timing loops: a pool of 60 batches
// that the steps cycle through. One batch repeated is memorised within a few hundred steps, after which a step is no
// longer typical (vanishing gradients, subnormal floats) and its time drifts.
//
//   BM_MlpTrainStep        zero_grad, forward (train), softmax cross-entropy forward + backward, backward, Adam step
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

namespace {

namespace bd = bayesdrop;
using Mat = bd::Matrix<float>;

constexpr bd::Index kIn = 784, kH1 = 500, kH2 = 300, kOut = 10, kBatch = 100;
constexpr double kStepsPerEpoch = 60000.0 / kBatch;
constexpr std::uint64_t kSeed = 20240601;

/// The data: kPoolBatches batches of inputs (kIn x kBatch, uniform on (0, 1]) and labels, built once.
struct DataPool {
  std::vector<Mat> x;
  std::vector<bd::Labels> labels;
};
constexpr int kPoolBatches = 60;

const DataPool& data_pool() {
  static const DataPool pool = [] {
    bd::Rng rng(kSeed + 1);
    DataPool p;
    for (int b = 0; b < kPoolBatches; ++b) {
      p.x.emplace_back(kIn, kBatch);
      rng.uniform(p.x.back());
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

void set_threads(benchmark::State& state) {
  Eigen::setNbThreads(int(state.range(0)));
  // Without OpenMP Eigen ignores the request; report what it really uses.
  state.counters["eigen_threads"] = Eigen::nbThreads();
}

void report_examples(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * kBatch);
  // Rate counters divide by the measured time; inverted, iterations / 600 per second becomes seconds per epoch.
  state.counters["epoch_s"] = benchmark::Counter(double(state.iterations()) / kStepsPerEpoch,
                                                 benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_MlpTrainStep(benchmark::State& state) {
  set_threads(state);
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
    adam.zero_grad();
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
  report_examples(state);
}

void BM_MlpStepMatmulsOnly(benchmark::State& state) {
  set_threads(state);
  const DataPool& data = data_pool();
  bd::Rng rng(kSeed);
  auto random = [&](bd::Index rows, bd::Index cols) {  // uniform on (-0.5, 0.5]
    Mat r(rows, cols);
    rng.uniform(r);
    r.array() -= 0.5f;
    return r;
  };
  const Mat w1 = random(kH1, kIn), w2 = random(kH2, kH1), w3 = random(kOut, kH2);
  const Mat d3 = random(kOut, kBatch);
  Mat h1(kH1, kBatch), h2(kH2, kBatch), z(kOut, kBatch), d2(kH2, kBatch), d1(kH1, kBatch);
  Mat dw1 = Mat::Zero(kH1, kIn), dw2 = Mat::Zero(kH2, kH1), dw3 = Mat::Zero(kOut, kH2);
  int b = 0;
  for (auto _ : state) {
    const Mat& x = data.x[b];
    b = (b + 1) % kPoolBatches;
    h1.noalias() = w1 * x;  // forward
    h2.noalias() = w2 * h1;
    z.noalias() = w3 * h2;
    dw3.noalias() += d3 * h2.transpose();  // backward; the first layer needs no dx
    d2.noalias() = w3.transpose() * d3;
    dw2.noalias() += d2 * h1.transpose();
    d1.noalias() = w2.transpose() * d2;
    dw1.noalias() += d1 * x.transpose();
    benchmark::DoNotOptimize(z.data());
    benchmark::DoNotOptimize(dw1.data());
    benchmark::ClobberMemory();
  }
  report_examples(state);
}

void BM_MlpEvalForward(benchmark::State& state) {
  set_threads(state);
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
  report_examples(state);
}

}  // namespace

BENCHMARK(BM_MlpTrainStep)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MlpStepMatmulsOnly)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MlpEvalForward)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
