// End to end on real MNIST: the MLP 784-500-300-10 with L0 gates (Louizos et al. 2018) on the inputs of its three
// dense layers, built by name and trained one epoch by fit() with the family's recipe (the course assignment's:
// gates at 1e-2, weights at 1e-3 with L2 1e-4, loss = mean CE + penalty / 60000). Needs BAYESDROP_MNIST_DIR.
#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/io/mnist.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/training/family_recipes.hpp"
#include "bayesdrop/training/fit.hpp"
#include "support/mnist.hpp"

using namespace bayesdrop;

TEST_CASE("L0 MLP on MNIST: 94.4 % after one epoch, and the penalty switches pixels off", "[training][mnist][l0]") {
  const char* dir = bayesdrop::test::mnist_dir_or_skip();
  Eigen::setNbThreads(2);
  const auto train = load_mnist<float>(dir, Split::train);
  const auto test = load_mnist<float>(dir, Split::test);
  Rng rng(bayesdrop::test::test_seed());
  auto model = build_model<float>(ModelSpec{"mlp", "l0"}, rng);
  const auto history = fit(model, recipe_for_dropout("l0"), train, &test, rng, FitOptions{}.with_epochs(1));
  const EpochLog& log = history.back();
  INFO("test accuracy " << log.test.accuracy << ", n_active [" << log.n_active[0] << ", " << log.n_active[1] << ", "
                        << log.n_active[2] << "]");
  // Seeds 1-3 (bounds by the rule of tests/support/mnist.hpp): 95.14, 95.15, 94.92 %, n_active [603, 500, 300],
  // [595, 498, 300], [597, 497, 300]. The digits' blank border carries no signal, so the expected-L0 penalty closes
  // its gates; with the penalty's sign flipped, or log alpha frozen, every pixel stays.
  CHECK(log.test.accuracy >= 0.9442);
  CHECK(log.n_active[0] < 621);
  CHECK(log.n_active[1] > 482);
}
