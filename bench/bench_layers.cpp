// Every dropout type as one layer at the MNIST shapes, in training (forward + backward + KL gradient) and in
// evaluation (forward), float, batch 100, fixed seeds.
//
// A "layer" is what the models put in front of each weight matrix: the gate of the dropout type followed by the dense
// or convolutional layer (Linear/Conv2d), or, for sparse VD, its SparseVDLinear/SparseVDConv2d; "none" is the plain
// layer. Shapes: the MLP's 784-500, 500-300, 300-10 and LeNet-5-Caffe's two convolutions (conv1 1x28x28 to 20
// channels, conv2 20x12x12 to 50 channels, 5x5 kernels; the conv gates sit on their output channels, as in
// models/lenet5.hpp). The first layer of a network (784-500, conv1) computes no input gradient, the others do.
//
//   Train/<shape>/<dropout>/<threads>   Eval/<shape>/<dropout>/<threads>
//
// Design pair: the local reparameterisation trick against sampling the weights.
//   Lrt/<shape>/<threads>               SparseVDLinear, training forward + backward (one normal per pre-activation)
//   WeightsPerBatch/<shape>/<threads>   one weight matrix W = theta + sigma * E drawn per minibatch, then y = W x: one
//                                       normal per weight, and the examples of a batch share their noise (correlated
//                                       gradients: the variance the LRT removes)
//   WeightsPerExample/<shape>/<threads> one weight matrix per example, the exact equivalent of the LRT's noise: a
//                                       matrix-vector product per example instead of one matrix product
// Masked dense evaluation against the compact pruned form is bench_compact's subject.
// items_per_second counts examples.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bayesdrop/models/zoo.hpp"
#include "bench_support.hpp"

namespace {

namespace bd = bayesdrop;
using bench::Mat;
using Net = bd::Sequential<float>;

constexpr std::uint64_t kSeed = 20240611;
constexpr int kPool = 8;

struct Shape {
  const char* name;
  bool conv;
  bd::ImageShape input;  // dense: {in, 1, 1}
  bd::Index outputs;     // dense: output units; conv: output channels (5x5 kernels)
  bool first;            // the first layer of its network: no input gradient
};

const Shape kShapes[] = {
    {"784x500", false, {784, 1, 1}, 500, true}, {"500x300", false, {500, 1, 1}, 300, false},
    {"300x10", false, {300, 1, 1}, 10, false},  {"conv1", true, {1, 28, 28}, 20, true},
    {"conv2", true, {20, 12, 12}, 50, false},
};

/// The layer of `dropout` at `shape`: [gate] + Linear/Conv2d, or the sparse VD layer.
Net make_layer(const Shape& shape, const std::string& dropout, bd::Rng& rng) {
  Net net;
  const double p = shape.first ? 0.2 : 0.5;
  if (!shape.conv) {
    const bd::Index in = shape.input.channels;
    if (dropout == "sparsevd") {
      net.emplace<bd::SparseVDLinear>(in, shape.outputs, rng);
      return net;
    }
    if (auto gate = bd::make_gate<float>(dropout, shape.input, p, rng)) net.add(std::move(gate));
    net.emplace<bd::Linear>(in, shape.outputs, rng);
    return net;
  }
  if (dropout == "sparsevd") {
    net.emplace<bd::SparseVDConv2d>(shape.input, shape.outputs, bd::Index(5), rng);
    return net;
  }
  net.emplace<bd::Conv2d>(shape.input, shape.outputs, bd::Index(5), rng);
  const bd::ImageShape out{shape.outputs, shape.input.height - 4, shape.input.width - 4};
  if (auto gate = bd::make_gate<float>(dropout, out, p, rng)) net.add(std::move(gate));
  return net;
}

/// Training forward + backward (+ the KL gradient) of one layer, cycling through a pool of random batches.
void layer_train(benchmark::State& state, const Shape& shape, const std::string& dropout) {
  bench::set_threads(state);
  bd::Rng rng(kSeed);
  Net net = make_layer(shape, dropout, rng);
  const auto xs = bench::random_batches(net.input_rows(), bench::kBatch, kPool, kSeed + 1);
  const auto dys = bench::random_batches(net.output_rows(), bench::kBatch, kPool, kSeed + 2);
  const bd::Context ctx = bd::Context::train(rng);
  Mat dx;
  Mat* dx_ptr = shape.first ? nullptr : &dx;
  auto step = [&](int b) {
    benchmark::DoNotOptimize(net.forward(xs[b], ctx).data());
    net.backward(xs[b], dys[b], dx_ptr);
    net.kl_backward(1.f / 60000.f);
    benchmark::ClobberMemory();
  };
  step(0);  // warm-up: sizes every buffer
  int b = 0;
  for (auto _ : state) {
    step(b);
    b = (b + 1) % kPool;
  }
  state.SetItemsProcessed(state.iterations() * bench::kBatch);
}

void layer_eval(benchmark::State& state, const Shape& shape, const std::string& dropout) {
  bench::set_threads(state);
  bd::Rng rng(kSeed);
  Net net = make_layer(shape, dropout, rng);
  const auto xs = bench::random_batches(net.input_rows(), bench::kBatch, kPool, kSeed + 1);
  const bd::Context ctx = bd::Context::eval();
  benchmark::DoNotOptimize(net.forward(xs[0], ctx).data());
  int b = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(net.forward(xs[b], ctx).data());
    b = (b + 1) % kPool;
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * bench::kBatch);
}

/// Sampled-weights training of a sparse VD dense layer (theta, log sigma^2 as SparseVDLinear's parameters):
/// per_example = false draws one W per batch, true one W per example.
void weights_sampled(benchmark::State& state, const Shape& shape, bool per_example) {
  bench::set_threads(state);
  const bd::Index in = shape.input.channels, out = shape.outputs, batch = bench::kBatch;
  bd::Rng rng(kSeed);
  bd::SparseVDLinear<float> layer(in, out, rng);
  const Mat& theta = layer.theta().value;
  const Mat sigma = (0.5f * layer.log_sigma2().value.array()).exp().matrix();
  Mat dtheta = Mat::Zero(out, in), dlog_sigma2 = Mat::Zero(out, in), eps(out, in), w(out, in), dw(out, in);
  Mat y(out, batch), dx(in, batch);
  const auto xs = bench::random_batches(in, batch, kPool, kSeed + 1);
  const auto dys = bench::random_batches(out, batch, kPool, kSeed + 2);
  const bool need_dx = !shape.first;
  auto accumulate = [&] {  // d theta += dW, d log sigma^2 += dW * eps * sigma / 2
    dtheta += dw;
    dlog_sigma2.array() += 0.5f * dw.array() * eps.array() * sigma.array();
  };
  int b = 0;
  for (auto _ : state) {
    const Mat &x = xs[b], &dy = dys[b];
    b = (b + 1) % kPool;
    if (!per_example) {
      rng.normal(eps);
      w = theta + sigma.cwiseProduct(eps);
      y.noalias() = w * x;
      dw.noalias() = dy * x.transpose();
      if (need_dx) dx.noalias() = w.transpose() * dy;
      accumulate();
    } else {
      for (bd::Index n = 0; n < batch; ++n) {
        rng.normal(eps);
        w = theta + sigma.cwiseProduct(eps);
        y.col(n).noalias() = w * x.col(n);
        dw.noalias() = dy.col(n) * x.col(n).transpose();
        if (need_dx) dx.col(n).noalias() = w.transpose() * dy.col(n);
        accumulate();
      }
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(dtheta.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void register_all() {
  const std::vector<std::string> dropouts = bd::dropout_names();
  auto with_threads = [](benchmark::internal::Benchmark* b) {
    b->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
  };
  for (const Shape& shape : kShapes) {
    for (const auto& d : dropouts) {
      with_threads(benchmark::RegisterBenchmark(("Train/" + std::string(shape.name) + "/" + d).c_str(),
                                                [&shape, d](benchmark::State& s) { layer_train(s, shape, d); }));
    }
  }
  for (const Shape& shape : kShapes) {
    for (const auto& d : dropouts) {
      with_threads(benchmark::RegisterBenchmark(("Eval/" + std::string(shape.name) + "/" + d).c_str(),
                                                [&shape, d](benchmark::State& s) { layer_eval(s, shape, d); }));
    }
  }
  for (const Shape& shape : kShapes) {
    if (shape.conv) continue;
    const std::string n = shape.name;
    with_threads(benchmark::RegisterBenchmark(("Lrt/" + n).c_str(),
                                              [&shape](benchmark::State& s) { layer_train(s, shape, "sparsevd"); }));
    with_threads(benchmark::RegisterBenchmark(("WeightsPerBatch/" + n).c_str(),
                                              [&shape](benchmark::State& s) { weights_sampled(s, shape, false); }));
    with_threads(benchmark::RegisterBenchmark(("WeightsPerExample/" + n).c_str(),
                                              [&shape](benchmark::State& s) { weights_sampled(s, shape, true); }));
  }
}

}  // namespace

int main(int argc, char** argv) {
  return bench::run_main(argc, argv, register_all);
}
