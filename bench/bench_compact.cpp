// Evaluation forward of pruned models: the masked model (the original, pruned units multiplied by zero) against
// compact(model) (models/compact.hpp), and the dense-vs-sparse crossover that sets kCompactSparseDensity.
//
// Data: ten random batches of 1000 inputs (uniform on (0, 1], 784 x 1000, fixed seed), i.e. the MNIST test set in
// batches of 1000; every iteration forwards the next batch. items_per_second counts examples. The models are
// hand-pruned to the papers' sizes (the values of their weights do not matter for the speed):
//   BM_MlpSbp*        784-500-300-10 with SBP gates keeping 245-160-55 inputs (SBP paper, Table 1)
//   BM_LeNet5Sbp*     LeNet-5-Caffe with SBP gates keeping 3-18-284-283 (SBP paper)
//   BM_LeNet300Svd*   LeNet-300-100 with sparse VD, 98.9 / 97.2 / 62.0 % of the weights pruned at random (sparse VD
//                     paper, Table 1); compacted to smaller dense matrices (Dense) and to SparseLinear (Sparse)
//   BM_DensitySweep   one 300 x 784 or 100 x 300 layer at a given density (arg 0, per mille): dense Linear vs
//                     SparseLinear (the 100 x 300 case includes a SelectRows of its 300 inputs, ~0.1 ms)
// Each model benchmark takes the number of Eigen threads as its argument (1 and 2, as bench_mlp_step.cpp).
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "bayesdrop/models/compact.hpp"
#include "bayesdrop/models/zoo.hpp"

namespace {

namespace bd = bayesdrop;
using Mat = bd::Matrix<float>;
using Net = bd::Sequential<float>;

constexpr bd::Index kBatch = 1000;
constexpr int kBatches = 10;
constexpr std::uint64_t kSeed = 20240607;

const std::vector<Mat>& test_set() {
  static const std::vector<Mat> batches = [] {
    bd::Rng rng(kSeed);
    std::vector<Mat> b(kBatches, Mat(784, kBatch));
    for (auto& x : b) rng.uniform(x);
    return b;
  }();
  return batches;
}

/// Keeps the first `keep` units of gate i (the positions do not matter for the speed) with E[theta] ~ 0.6.
void prune_sbp(Net& net, bd::Index i, bd::Index keep) {
  auto& g = dynamic_cast<bd::StructuredBayesianPruning<float>&>(net.layer(i));
  g.log_sigma().value.setConstant(2.f);  // SNR < 1: pruned
  g.log_sigma().value.topRows(keep).setConstant(-5.f);
  g.mu().value.setConstant(-0.5f);
}

Net mlp_sbp() {
  bd::Rng rng(kSeed + 1);
  Net net = bd::build_model<float>(bd::ModelSpec{"mlp", "sbp"}, rng);
  prune_sbp(net, 0, 245);
  prune_sbp(net, 3, 160);
  prune_sbp(net, 6, 55);
  return net;
}

Net lenet5_sbp() {
  bd::Rng rng(kSeed + 2);
  Net net = bd::build_model<float>(bd::ModelSpec{"lenet5", "sbp"}, rng);
  prune_sbp(net, 1, 3);     // conv1 channels
  prune_sbp(net, 5, 18);    // conv2 channels: the first 18, whose features are rows 0..287 of the 800
  prune_sbp(net, 8, 284);   // dense1 inputs, inside those channels
  prune_sbp(net, 11, 283);  // dense2 inputs
  return net;
}

Net lenet300_svd() {
  bd::Rng rng(kSeed + 3);
  Net net = bd::build_model<float>(bd::ModelSpec{"lenet300", "sparsevd"}, rng);
  const double keep[3] = {1 - 0.989, 1 - 0.972, 1 - 0.620};
  for (int i = 0; i < 3; ++i) {
    auto& l = dynamic_cast<bd::SparseVDLinear<float>&>(net.layer(2 * i));
    rng.normal(l.theta().value);
    l.theta().value.array() = l.theta().value.array().sign() * (l.theta().value.array().abs() * 0.1f + 0.05f);
    for (bd::Index k = 0; k < l.log_sigma2().value.size(); ++k) {
      l.log_sigma2().value(k) = rng.uniform_one() < keep[i] ? -10.f : 10.f;  // log alpha -4 kept, 8 pruned
    }
  }
  return net;
}

void set_threads(benchmark::State& state, int arg) {
  Eigen::setNbThreads(int(state.range(arg)));
  state.counters["eigen_threads"] = Eigen::nbThreads();  // without OpenMP Eigen ignores the request
}

/// Forwards the test set's batches in turn, in evaluation mode.
void run(benchmark::State& state, Net& net) {
  const auto& data = test_set();
  const bd::Context ctx = bd::Context::eval();
  benchmark::DoNotOptimize(net.forward(data[0], ctx).data());  // warm-up: sizes every buffer
  int b = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(net.forward(data[b], ctx).data());
    b = (b + 1) % kBatches;
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

template <Net (*Make)(), bool Compact>
void model_bench(benchmark::State& state, double sparse_density) {
  set_threads(state, 0);
  Net model = Make();
  if (!Compact) return run(state, model);
  Net small = bd::compact(model, bd::CompactOptions{}.with_sparse_density(sparse_density));
  run(state, small);
}

void BM_MlpSbpMasked(benchmark::State& s) {
  model_bench<mlp_sbp, false>(s, 0);
}
void BM_MlpSbpCompact(benchmark::State& s) {
  model_bench<mlp_sbp, true>(s, 0);
}
void BM_LeNet5SbpMasked(benchmark::State& s) {
  model_bench<lenet5_sbp, false>(s, 0);
}
void BM_LeNet5SbpCompact(benchmark::State& s) {
  model_bench<lenet5_sbp, true>(s, 0);
}
void BM_LeNet300SvdMasked(benchmark::State& s) {
  model_bench<lenet300_svd, false>(s, 0);
}
void BM_LeNet300SvdDense(benchmark::State& s) {
  model_bench<lenet300_svd, true>(s, 0);
}  // all dense
void BM_LeNet300SvdSparse(benchmark::State& s) {
  model_bench<lenet300_svd, true>(s, 1);
}  // all sparse
void BM_LeNet300SvdDefault(benchmark::State& s) {  // by the threshold
  model_bench<lenet300_svd, true>(s, bd::kCompactSparseDensity);
}

/// One layer, 300 x 784 (arg 2 = 0) or 100 x 300 (arg 2 = 1), with `density` (arg 0, per mille) of its weights
/// nonzero, dense Linear (arg 1 = 0) or SparseLinear (arg 1 = 1), 1 thread.
void BM_DensitySweep(benchmark::State& state) {
  Eigen::setNbThreads(1);
  const double density = double(state.range(0)) / 1000;
  const bd::Index out = state.range(2) == 0 ? 300 : 100, in = state.range(2) == 0 ? 784 : 300;
  bd::Rng rng(kSeed + 4);
  Mat w(out, in);
  rng.normal(w);
  for (bd::Index k = 0; k < w.size(); ++k) {
    if (rng.uniform_one() >= density) w(k) = 0;
  }
  Net net;
  if (in != 784)
    net.emplace<bd::SelectRows>(784, [&] {  // the input: the first `in` rows of the test batches
      std::vector<bd::Index> rows(static_cast<std::size_t>(in));
      for (bd::Index r = 0; r < in; ++r) rows[std::size_t(r)] = r;
      return rows;
    }());
  if (state.range(1) == 0) {
    net.emplace<bd::Linear>(in, out, rng).weight().value = w;
  } else {
    net.add(std::make_unique<bd::SparseLinear<float>>(w.sparseView(), bd::Vector<float>::Zero(out)));
  }
  run(state, net);
  state.counters["density"] = density;
}

}  // namespace

#define BD_MODEL_BENCH(name) BENCHMARK(name)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)
BD_MODEL_BENCH(BM_MlpSbpMasked);
BD_MODEL_BENCH(BM_MlpSbpCompact);
BD_MODEL_BENCH(BM_LeNet5SbpMasked);
BD_MODEL_BENCH(BM_LeNet5SbpCompact);
BD_MODEL_BENCH(BM_LeNet300SvdMasked);
BD_MODEL_BENCH(BM_LeNet300SvdDense);
BD_MODEL_BENCH(BM_LeNet300SvdSparse);
BD_MODEL_BENCH(BM_LeNet300SvdDefault);
BENCHMARK(BM_DensitySweep)
    ->ArgsProduct({{5, 10, 20, 50, 100, 150, 200, 300, 400}, {0, 1}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
