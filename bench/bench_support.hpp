// Pieces the benchmark executables share: thread setting, random data, and the matrix products of one training step
// of the MLP 784-500-300-10, which are the machine's lower bound for that step (bench_mlp_step, bench_epoch).
#pragma once

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/types.hpp"

namespace bench {

namespace bd = bayesdrop;
using Mat = bd::Matrix<float>;

constexpr bd::Index kBatch = 100;
constexpr double kStepsPerEpoch = 60000.0 / kBatch;

/// Sets Eigen's thread count from benchmark argument `arg` and reports what Eigen really uses (without OpenMP it
/// ignores the request).
inline void set_threads(benchmark::State& state, int arg = 0) {
  Eigen::setNbThreads(int(state.range(arg)));
  state.counters["eigen_threads"] = Eigen::nbThreads();
}

/// `count` matrices of rows x cols, uniform on (0, 1], from a fixed seed.
inline std::vector<Mat> random_batches(bd::Index rows, bd::Index cols, int count, std::uint64_t seed) {
  bd::Rng rng(seed);
  std::vector<Mat> batches(static_cast<std::size_t>(count), Mat(rows, cols));
  for (auto& x : batches) rng.uniform(x);
  return batches;
}

/// items_per_second in examples (kBatch per step), and epoch_s: the time of the 600 steps of an MNIST epoch.
inline void report_steps(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * kBatch);
  // A rate counter divides by the measured time; inverted, iterations / 600 per second becomes seconds per epoch.
  state.counters["epoch_s"] = benchmark::Counter(double(state.iterations()) / kStepsPerEpoch,
                                                 benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

/// Exactly the eight matrix products of one training step of the MLP 784-500-300-10 at batch 100 (three forward,
/// three weight gradients, two input gradients: the first layer needs none), preallocated, with .noalias().
class MlpProducts {
 public:
  static constexpr bd::Index kIn = 784, kH1 = 500, kH2 = 300, kOut = 10;

  explicit MlpProducts(std::uint64_t seed) : rng_(seed) {
    w1_ = random(kH1, kIn), w2_ = random(kH2, kH1), w3_ = random(kOut, kH2), d3_ = random(kOut, kBatch);
    h1_.resize(kH1, kBatch), h2_.resize(kH2, kBatch), z_.resize(kOut, kBatch);
    d2_.resize(kH2, kBatch), d1_.resize(kH1, kBatch);
    dw1_ = Mat::Zero(kH1, kIn), dw2_ = Mat::Zero(kH2, kH1), dw3_ = Mat::Zero(kOut, kH2);
  }

  /// Floating-point operations of one step: 2 m n k per product.
  static constexpr double flops() {
    const double fwd = 2.0 * kBatch * (kIn * kH1 + kH1 * kH2 + kH2 * kOut);
    const double dw = fwd, dx = 2.0 * kBatch * (kH1 * kH2 + kH2 * kOut);
    return fwd + dw + dx;
  }

  void run(const Mat& x) {
    h1_.noalias() = w1_ * x;  // forward
    h2_.noalias() = w2_ * h1_;
    z_.noalias() = w3_ * h2_;
    dw3_.noalias() += d3_ * h2_.transpose();  // backward
    d2_.noalias() = w3_.transpose() * d3_;
    dw2_.noalias() += d2_ * h1_.transpose();
    d1_.noalias() = w2_.transpose() * d2_;
    dw1_.noalias() += d1_ * x.transpose();
    benchmark::DoNotOptimize(z_.data());
    benchmark::DoNotOptimize(dw1_.data());
    benchmark::ClobberMemory();
  }

  // The operands and results, layers numbered 1..3 (bench_products builds its other layouts from them and checks
  // them against these).
  const Mat& weight(int layer) const { return layer == 1 ? w1_ : layer == 2 ? w2_ : w3_; }  ///< out x in
  const Mat& weight_grad(int layer) const { return layer == 1 ? dw1_ : layer == 2 ? dw2_ : dw3_; }
  const Mat& output(int layer) const { return layer == 1 ? h1_ : layer == 2 ? h2_ : z_; }  ///< out x batch
  /// The gradient at layer `layer`'s output: given for 3 (dlogits), computed for 2 and 1.
  const Mat& output_grad(int layer) const { return layer == 1 ? d1_ : layer == 2 ? d2_ : d3_; }

 private:
  Mat random(bd::Index rows, bd::Index cols) {  // uniform on (-0.5, 0.5]
    Mat r(rows, cols);
    rng_.uniform(r);
    r.array() -= 0.5f;
    return r;
  }

  bd::Rng rng_;
  Mat w1_, w2_, w3_, d3_, h1_, h2_, z_, d2_, d1_, dw1_, dw2_, dw3_;
};

/// Times MlpProducts::run over the batches `xs` in turn, after one warm-up step. Counters: items_per_second,
/// epoch_s (600 steps: the epoch's matrix-product time) and gflops (the rate on these shapes).
inline void time_products(benchmark::State& state, const std::vector<Mat>& xs, std::uint64_t seed) {
  MlpProducts products(seed);
  products.run(xs[0]);
  std::size_t b = 0;
  for (auto _ : state) {
    products.run(xs[b]);
    b = (b + 1) % xs.size();
  }
  report_steps(state);
  state.counters["gflops"] =
      benchmark::Counter(double(state.iterations()) * MlpProducts::flops() * 1e-9, benchmark::Counter::kIsRate);
}

/// main() of a benchmark executable that registers its benchmarks at run time (one per dropout type, say).
inline int run_main(int argc, char** argv, void (*register_benchmarks)()) {
  register_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench
