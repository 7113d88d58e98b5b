// End to end through the public API a user calls (build_model, Recipe, fit, summarize) on real MNIST: a short run
// of every dropout type on the MLP, and of LeNet-5-Caffe with sparse VD and with SBP, each on a subset of the
// training set, must pass a stated test accuracy. Needs BAYESDROP_MNIST_DIR (.ci/run sets it when the data is present).
#include <Eigen/Core>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "bayesdrop/io/mnist.hpp"
#include "bayesdrop/models/summary.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/training/family_recipes.hpp"
#include "bayesdrop/training/fit.hpp"
#include "support/mnist.hpp"

using namespace bayesdrop;

namespace {

const char* mnist_dir() {
  return bayesdrop::test::mnist_dir_or_skip();
}

Dataset<float> first(const Dataset<float>& d, Index n) {
  Dataset<float> s;
  s.shape = d.shape;
  s.images = d.images.leftCols(n);
  s.labels = d.labels.head(n);
  return s;
}

// Trains `spec` with its recipe on the first `n_train` training images for `epochs` epochs (rates held constant,
// the KL warm-up scaled to that length) and returns the last epoch's log on the first 5000 test images.
EpochLog run(const ModelSpec& spec, Index n_train, int epochs) {
  static const Dataset<float> train = load_mnist<float>(mnist_dir(), Split::train);
  static const Dataset<float> test = first(load_mnist<float>(mnist_dir(), Split::test), 5000);
  const Dataset<float> subset = first(train, n_train);
  Rng rng(bayesdrop::test::test_seed());
  auto model = build_model<float>(spec, rng);
  const auto history = fit(model, recipe_for_dropout(spec.dropout, spec.model).with_constant_lr(), subset, &test, rng,
                           FitOptions{}.with_epochs(epochs));
  return history.back();
}

}  // namespace

// Two epochs on 20000 images at constant rates; seeds 1, 2, 3 gave plain 94.80, 95.12, 94.62; binary 93.12, 92.90,
// 92.90; Gaussian 93.16, 92.26, 92.74; variational 93.74, 93.02, 93.34; SBP 93.82, 94.08, 94.96; BBD 86.96, 89.14,
// 88.92; sparse VD 86.58, 85.74, 87.64 %. The bounds follow the rule of tests/support/mnist.hpp, except BBD's and
// sparse VD's, which stay at their earlier 84 % (the rule gives 83.6 and 82.8 %, their two-epoch runs being noisy:
// beta-Bernoulli gates start at E[pi] = 0.34 and sparse VD's KL warms up within the run). A broken layer gives
// about 10 %.
double minimum_accuracy(const std::string& dropout) {
  if (dropout == "none") return 0.938;
  if (dropout == "binary") return 0.924;
  if (dropout == "gaussian") return 0.909;
  if (dropout == "variational") return 0.919;
  if (dropout == "sbp") return 0.921;
  return 0.84;  // bbd, sparsevd
}

TEST_CASE("every dropout type trains the MLP on 20000 MNIST images in two epochs", "[training][mnist]") {
  mnist_dir();
  Eigen::setNbThreads(2);
  for (const auto& dropout : dropout_names()) {
    const EpochLog log = run(ModelSpec{"mlp", dropout}, 20000, 2);
    INFO(dropout << ": test accuracy " << log.test.accuracy << ", epoch " << log.train.seconds << " s");
    CHECK(log.test.accuracy > minimum_accuracy(dropout));
    CHECK(std::isfinite(log.train.elbo.total()));
  }
}

TEST_CASE("LeNet-5-Caffe with sparse VD learns MNIST and starts to prune", "[training][mnist]") {
  mnist_dir();
  Eigen::setNbThreads(2);
  const EpochLog log = run(ModelSpec{"lenet5", "sparsevd"}, 10000, 2);
  INFO("test accuracy " << log.test.accuracy << ", epoch " << log.train.seconds << " s, kl " << log.train.elbo.kl);
  CHECK(log.test.accuracy > 0.854);  // seeds 1-3: 86.70, 87.56, 86.86 % (the KL warms up within the two epochs)
  CHECK(log.kl_weight > 0);          // the warm-up has begun by the second epoch of a two-epoch run
}

TEST_CASE("LeNet-5-Caffe with SBP gates on conv channels and dense inputs learns MNIST", "[training][mnist]") {
  mnist_dir();
  Eigen::setNbThreads(2);
  const EpochLog log = run(ModelSpec{"lenet5", "sbp"}, 10000, 2);
  INFO("test accuracy " << log.test.accuracy << ", n_active " << log.n_active.size());
  CHECK(log.test.accuracy > 0.943);  // seeds 1-3: 94.86, 94.90, 95.22 % (rule: tests/support/mnist.hpp)
  CHECK(log.n_active.size() == 4);
}
