// End to end on real MNIST: one epoch of the MLP 784-500-300-10 whose three dense layers are SparseVDLinear
// (ReLU, batch 100, Adam 1e-3 on theta, log sigma^2 and bias, loss = mean CE + kl_weight * KL / 60000) must reach
// at least 95 % test accuracy. Needs BAYESDROP_MNIST_DIR.
//
// The layers keep their defaults (the authors' initialisation theta ~ N(0, 0.01^2), log sigma^2 = -10; clipped-alpha
// variance; no mask in training). KL weight: the authors' scripts warm the KL up from 0 (rw_linear: 0 for the first
// five epochs); this one-epoch test uses 0.01, small but non-zero, so that the KL gradient path runs on real data
// and already prunes about a third of the weights. Measured (single thread): 95.5-95.8 % over seeds 1-4 at 0.01,
// 95.7 % at 0, 93.1 % at 0.1; with Init::glorot_normal() 96.7 % at 0 and 96.3 % at 0.1.
#include <Eigen/Core>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>

#include "bayesdrop/io/mnist.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/training/epoch_runner.hpp"
#include "support/mnist.hpp"

using namespace bayesdrop;

TEST_CASE("one epoch of the sparse VD MLP on MNIST reaches 95 % test accuracy", "[training][mnist][sparse_vd]") {
  const char* dir = bayesdrop::test::mnist_dir_or_skip();
  Eigen::setNbThreads(2);
  const auto train = load_mnist<float>(dir, Split::train);
  const auto test = load_mnist<float>(dir, Split::test);
  Rng rng(bayesdrop::test::test_seed());
  auto model =
      mlp<float>({784, 500, 300, 10}, rng, MlpOptions<float>{}.with_dense([](Index in, Index out, std::size_t, Rng& r) {
        return std::make_unique<SparseVDLinear<float>>(in, out, r);
      }));
  REQUIRE(with_roles(model.parameters(), {ParamRole::noise}).size() == 3);
  Adam<float> adam({ParamGroup<float>{"all", model.parameters(), 1e-3}});
  const double kl_weight = 0.01;
  EpochRunner<float> runner(EpochOptions{}.with_batch(100).with_kl_weight(kl_weight));
  const double kl_before = double(model.kl());
  const EpochResult tr = runner.train_epoch(model, adam, train, rng);
  const EpochResult te = runner.evaluate(model, test);
  std::int64_t weights = 0, kept = 0;
  for (Index i = 0; i < model.size(); ++i) {
    const SparsityStats s = model.layer(i).sparsity();
    if (model.layer(i).name() == "SparseVDLinear") {
      weights += s.weights;
      kept += s.active_weights;
    }
  }
  INFO("train accuracy " << tr.accuracy << ", test accuracy " << te.accuracy << ", epoch " << tr.seconds << " s, KL "
                         << kl_before << " -> " << tr.kl << ", weights kept " << kept << " / " << weights);
  // Seeds 1-3 (rule: tests/support/mnist.hpp): 95.71, 95.64, 95.80 % with 356903, 358232, 358057 of the 545000
  // weights kept; without the KL term (or with its sign flipped) about 96 % stay.
  CHECK(te.accuracy >= 0.951);
  CHECK(te.examples == 10000);
  CHECK(weights == 784 * 500 + 500 * 300 + 300 * 10);
  CHECK(kept < 369000);
}
