// One training epoch of the MLP 784-500-300-10 and of LeNet-5-Caffe with each dropout type, as the trainer runs it,
// and the machine's lower bound for the MLP's epoch.
//
//   Epoch/<dropout>/<threads>   EpochRunner::train_epoch: shuffle, 600 batches of 100 (gather, forward, ELBO loss,
//                               backward, KL gradient, Adam with the dropout type's recipe groups), KL weight 1.
//                               One iteration is one whole epoch; real_time is seconds per epoch. The model is
//                               warmed up on 20 batches first (buffers sized), as the PyTorch scripts do.
//   LeNet5Epoch/<dropout>/<threads>  the same for the "lenet5" model with its recipe (recipe_for_dropout(d, "lenet5"));
//                               bench/torch_lenet5.py is its PyTorch counterpart.
//   EpochBound/<threads>        the eight matrix products of one step (bench_support.hpp) at the rate Eigen reaches
//                               on these shapes; counters gflops and bound_s = the epoch's FLOPs / that rate
//                               (600 x the products' time): no implementation of the epoch can be faster.
//
// Data: MNIST's training set when BAYESDROP_MNIST_DIR names a folder with it, otherwise 60000 random inputs in (0, 1]
// with random labels (the reference script's default); the time per epoch hardly depends on which. The counter
// `mnist` says which was used. scripts/compare-torch.sh runs this next to the PyTorch scripts.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "bayesdrop/io/mnist.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/training/epoch_runner.hpp"
#include "bayesdrop/training/family_recipes.hpp"
#include "bayesdrop/training/recipe.hpp"
#include "bench_support.hpp"

namespace {

namespace bd = bayesdrop;
using bench::Mat;

constexpr std::uint64_t kSeed = 20240621;

bool use_mnist() {
  const char* dir = std::getenv("BAYESDROP_MNIST_DIR");
  return dir != nullptr && *dir != '\0';
}

const bd::Dataset<float>& training_set() {
  static const bd::Dataset<float> data = [] {
    if (use_mnist()) return bd::load_mnist<float>(std::getenv("BAYESDROP_MNIST_DIR"), bd::Split::train);
    bd::Rng rng(kSeed + 1);
    bd::Dataset<float> d;
    d.images.resize(784, 60000);
    rng.uniform(d.images);
    d.labels.resize(60000);
    for (bd::Index j = 0; j < d.labels.size(); ++j) d.labels[j] = bd::Label(rng.uniform_index(10));
    return d;
  }();
  return data;
}

/// The first `n` examples of `data`, for the warm-up.
bd::Dataset<float> head(const bd::Dataset<float>& data, bd::Index n) {
  bd::Dataset<float> d;
  d.images = data.images.leftCols(n);
  d.labels = data.labels.head(n);
  return d;
}

void epoch(benchmark::State& state, const std::string& network, const std::string& dropout) {
  bench::set_threads(state);
  const bd::Dataset<float>& train = training_set();
  bd::Rng rng(kSeed);
  auto model = bd::build_model<float>(bd::ModelSpec{network, dropout}, rng);
  const bd::Recipe recipe = bd::recipe_for_dropout(dropout, network);
  bd::Adam<float> adam(recipe.param_groups(model, 600, 1));
  bd::EpochRunner<float> runner(bd::EpochOptions{}.with_batch(bench::kBatch).with_kl_weight(1.0));
  runner.train_epoch(model, adam, head(train, 20 * bench::kBatch), rng);  // warm-up
  for (auto _ : state) {
    benchmark::DoNotOptimize(runner.train_epoch(model, adam, train, rng).cross_entropy);
  }
  state.SetItemsProcessed(state.iterations() * train.size());
  state.counters["mnist"] = use_mnist() ? 1 : 0;
}

void epoch_bound(benchmark::State& state) {
  bench::set_threads(state);
  bench::time_products(state, bench::random_batches(784, bench::kBatch, 60, kSeed + 2), kSeed);
  state.counters["bound_s"] = state.counters["epoch_s"];  // the epoch's products alone: its lower bound
}

void register_all() {
  for (const char* network : {"mlp", "lenet5"}) {
    const std::string prefix = std::string(network) == "mlp" ? "Epoch/" : "LeNet5Epoch/";
    for (const auto& d : bd::dropout_names()) {
      benchmark::RegisterBenchmark((prefix + d).c_str(), [network, d](benchmark::State& s) { epoch(s, network, d); })
          ->Arg(1)
          ->Arg(2)
          ->Iterations(1)
          ->UseRealTime()
          ->Unit(benchmark::kSecond);
    }
  }
  benchmark::RegisterBenchmark("EpochBound", epoch_bound)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  return bench::run_main(argc, argv, register_all);
}
