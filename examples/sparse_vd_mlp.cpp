// One dropout family, no registry: LeNet-300-100 with sparse variational dropout layers (Molchanov et al. 2017)
// built by hand in a Sequential and trained with the family's recipe. It includes only the headers it uses, so it
// compiles only the sparse VD layer (scripts/compile-cost.sh, row sparse-vd-mlp, times it).
// Usage: bayesdrop-sparse-vd-mlp [MNIST_DIR] [EPOCHS]
#include <bayesdrop/io/mnist.hpp>
#include <bayesdrop/layers/relu.hpp>
#include <bayesdrop/layers/sparse_vd_linear.hpp>
#include <bayesdrop/models/sequential.hpp>
#include <bayesdrop/training/fit.hpp>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  using namespace bayesdrop;
  try {
    const std::string dir = argc > 1 ? argv[1] : default_data_dir("mnist");  // or $BAYESDROP_MNIST_DIR
    const int epochs = argc > 2 ? std::atoi(argv[2]) : 10;
    const Dataset<float> train = load_mnist<float>(dir, Split::train), test = load_mnist<float>(dir, Split::test);

    Rng rng(1);
    Sequential<float> model;
    model.emplace<SparseVDLinear>(784, 300, rng);
    model.emplace<ReLU>(300);
    model.emplace<SparseVDLinear>(300, 100, rng);
    model.emplace<ReLU>(100);
    model.emplace<SparseVDLinear>(100, 10, rng);

    // The authors' recipe: Adam 1e-3, KL weight from 0 to 1 between epochs 5 and 20, the rate linear to 0 at the end.
    fit(model, Recipe::sparsevd(), train, &test, rng,
        FitOptions{}.with_epochs(epochs).with_on_epoch(
            [](const EpochLog& log) { std::printf("epoch %d: test accuracy %.4f\n", log.epoch, log.test.accuracy); }));
    for (Index i = 0; i < model.size(); i += 2) {
      const SparsityStats kept = model.layer(i).sparsity();
      std::printf("layer %ld: %.1f %% of the weights kept\n", long(i / 2), 100 * kept.fraction_weights_kept());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "sparse-vd-mlp: %s\n", e.what());
    return 1;
  }
}
