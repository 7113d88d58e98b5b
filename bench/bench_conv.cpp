// LeNet-5-Caffe's two convolutions in training (forward + backward), each beside Eigen's matrix products of the same
// shapes and FLOPs, timed in turn within one loop so that both see the same machine (float, batch 100, fixed seeds).
//
//   ConvTrain/<conv>/<layer>/<threads>
//     conv    conv1: 1x28x28 -> 20 channels; the network's first layer, so no input gradient.
//             conv2: 20x12x12 -> 50 channels, with the input gradient. Both 5x5, valid, stride 1.
//     layer   plain: Conv2d.  sparsevd: SparseVDConv2d in training, the local reparameterisation trick: a mean and a
//             variance path, each with the products of a plain convolution (the KL gradient is not timed).
//
// One iteration runs one training step of the layer (forward, then backward), timed (the benchmark's manual time),
// then the products alone, timed apart: per path, with B*P patch rows of K = C_in*25 values and C_out filters,
//   Z = A W^T ((B*P x K) times (K x C_out)),  dW += dZ^T A,  and dA = dZ W (conv2 only),
// on preallocated random operands, each 2*B*P*K*C_out FLOPs: what the convolution costs as matrix products with
// its patches already in place. Counters:
//   gflops        the products' FLOPs / the layer's time
//   eigen_gflops  the same FLOPs / the products' time (Eigen with the same threads)
//   of_eigen      gflops / eigen_gflops (target: >= 0.5)
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "bayesdrop/layers/conv2d.hpp"
#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bench_support.hpp"

namespace {

namespace bd = bayesdrop;
using bench::Mat;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kSeed = 20261205;
constexpr bd::Index kKernel = 5;

struct ConvShape {
  const char* name;
  bd::ImageShape input;
  bd::Index outputs;  // output channels
  bool first;         // the network's first layer: no input gradient
};

const ConvShape kConvs[] = {{"conv1", {1, 28, 28}, 20, true}, {"conv2", {20, 12, 12}, 50, false}};

/// The convolution's products as whole-batch Eigen products, `paths` times (2 for sparse VD's mean and variance).
class ConvProducts {
 public:
  ConvProducts(const ConvShape& s, int paths, std::uint64_t seed) : first_(s.first), paths_(paths) {
    const bd::Conv2dGeometry g{s.input, kKernel, kKernel};
    rows_ = bench::kBatch * g.positions(), k_ = g.patch_size(), c_ = s.outputs;
    bd::Rng rng(seed);
    a_.resize(rows_, k_), w_.resize(c_, k_), dz_.resize(rows_, c_);
    rng.uniform(a_), rng.uniform(w_), rng.uniform(dz_);
    z_.resize(rows_, c_), da_.resize(rows_, k_), dw_ = Mat::Zero(c_, k_);
  }

  /// 2 m n k per product.
  double flops() const { return paths_ * (first_ ? 2 : 3) * 2.0 * double(rows_) * double(k_) * double(c_); }

  void run() {
    for (int p = 0; p < paths_; ++p) {
      z_.noalias() = a_ * w_.transpose();
      dw_.noalias() += dz_.transpose() * a_;
      if (!first_) da_.noalias() = dz_ * w_;
    }
    benchmark::DoNotOptimize(z_.data());
    benchmark::DoNotOptimize(dw_.data());
    benchmark::DoNotOptimize(da_.data());
    benchmark::ClobberMemory();
  }

 private:
  bool first_;
  int paths_;
  bd::Index rows_ = 0, k_ = 0, c_ = 0;
  Mat a_, w_, dz_, z_, da_, dw_;
};

void conv_train(benchmark::State& state, const ConvShape& s, bool sparsevd) {
  bench::set_threads(state);
  bd::Rng rng(kSeed);
  std::unique_ptr<bd::Layer<float>> layer;
  if (sparsevd) {
    layer = std::make_unique<bd::SparseVDConv2d<float>>(s.input, s.outputs, kKernel, rng);
  } else {
    layer = std::make_unique<bd::Conv2d<float>>(s.input, s.outputs, kKernel, rng);
  }
  const auto xs = bench::random_batches(layer->input_rows(), bench::kBatch, 1, kSeed + 1);
  const auto dys = bench::random_batches(layer->output_rows(), bench::kBatch, 1, kSeed + 2);
  const bd::Context ctx = bd::Context::train(rng);
  Mat y, dx;
  auto step = [&] {
    layer->forward(xs[0], y, ctx);
    layer->backward(xs[0], dys[0], s.first ? nullptr : &dx);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  };
  ConvProducts products(s, sparsevd ? 2 : 1, kSeed + 3);
  step();  // warm-up: sizes every buffer
  products.run();
  double layer_s = 0, products_s = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    step();
    const auto t1 = Clock::now();
    products.run();
    const auto t2 = Clock::now();
    const double dt = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(dt);
    layer_s += dt;
    products_s += std::chrono::duration<double>(t2 - t1).count();
  }
  const double flops = products.flops() * double(state.iterations());
  state.counters["gflops"] = flops / layer_s * 1e-9;
  state.counters["eigen_gflops"] = flops / products_s * 1e-9;
  state.counters["of_eigen"] = products_s / layer_s;
  state.SetItemsProcessed(state.iterations() * bench::kBatch);
}

void register_all() {
  for (const ConvShape& s : kConvs) {
    for (bool sparsevd : {false, true}) {
      const std::string name = std::string("ConvTrain/") + s.name + (sparsevd ? "/sparsevd" : "/plain");
      benchmark::RegisterBenchmark(name.c_str(), [&s, sparsevd](benchmark::State& st) { conv_train(st, s, sparsevd); })
          ->Arg(1)
          ->Arg(2)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return bench::run_main(argc, argv, register_all);
}
