// End to end on real MNIST: the MLP 784-500-300-10 with a beta-Bernoulli gate on the inputs of each of its three
// dense layers (BetaBernoulliOptions::assignment()), trained as the reference code base does (juho-lee/bbdrop
// and OpenXAIProject/Network-Structure-Dropout): BB starts from a pretrained base network, here one epoch of the plain
// MLP (Adam 1e-3, coupled L2 1e-4, i.e. TF's 1e-4 * l2_loss), then the assignment's recipe: Adam with the gate
// parameters at 1e-2 and the weights and biases at 1e-3 with L2 1e-4, both divided by 10 at 50 % and by 100 at 75 % of
// the five BB epochs, loss = mean CE + KL / 60000, batch 100. Checks: 95 % test accuracy after the first BB epoch;
// every BB epoch finite (the runner throws on a non-finite cross-entropy of any batch; KL, parameters and gradients are
// checked after every epoch); the KL prunes pixels.
//
// Why the pretraining epoch: from scratch the same recipe reaches only 93.6-93.7 % after one epoch (seeds 1, 2, 3:
// 93.72, 93.65, 93.57 %; 92.9 % with the default options), because at initialisation each unit's pi, drawn once per
// batch from Kumaraswamy(0.31, 0.69), is near 0 for many units (E[pi] = 0.34), so every batch trains a small random
// sub-network; from scratch it passes 95 % in the second epoch (96.2 %) and reaches 97.1 % after five.
// With the pretraining epoch (96.9 % alone) the first BB epoch gives 96.45 %, the fifth 97.84 %, n_active
// [534, 497, 292] and [507, 494, 289].
// The second test trains from scratch with BetaBernoulliOptions::from_scratch() (raw_a = 2, gates mostly open at the
// start) and the assignment's rates held constant over five epochs: seed 1 gives 95.85 % after one epoch, n_active
// [556, 497, 297] already after it, and 98.01 % after five.
// After every epoch both tests check the parameters and the gradients of one fresh batch for NaN and Inf.
// Needs BAYESDROP_MNIST_DIR.
#include <Eigen/Core>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "bayesdrop/io/mnist.hpp"
#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/losses/softmax_cross_entropy.hpp"
#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/training/epoch_runner.hpp"
#include "bayesdrop/training/recipe.hpp"
#include "support/mnist.hpp"

using namespace bayesdrop;

namespace {

/// The MNIST folder; the test is skipped when BAYESDROP_MNIST_DIR is not set.
const char* mnist_dir() {
  return bayesdrop::test::mnist_dir_or_skip();
}

/// The MLP 784-500-300-10 with a beta-Bernoulli gate of `options` on the inputs of each dense layer.
Sequential<float> gated_mlp(Rng& rng, const BetaBernoulliOptions& options,
                            std::vector<BetaBernoulliDropout<float>*>& gates) {
  return mlp<float>({784, 500, 300, 10}, rng,
                    MlpOptions<float>{}.with_gate([&](Index units, std::size_t, Rng& r) -> LayerPtr<float> {
                      auto g = std::make_unique<BetaBernoulliDropout<float>>(units, r, options);
                      gates.push_back(g.get());
                      return g;
                    }));
}

/// Whether every parameter, and every gradient of one fresh training batch (the first 100 examples, ELBO with
/// KL / 60000), is finite. The optimiser's step consumes the gradients, so they are computed here anew.
bool values_and_gradients_finite(Sequential<float>& model, const Dataset<float>& data, Rng& rng) {
  const Matrix<float> x = data.images.leftCols(100);
  const Labels y = data.labels.head(100);
  SoftmaxCrossEntropy<float> loss;
  Matrix<float> dlogits;
  model.zero_grad();
  loss.forward(model.forward(x, Context::train(rng)), y);
  loss.backward(y, dlogits);
  model.backward(x, dlogits, nullptr);
  model.kl_backward(1.f / 60000.f);
  bool finite = true;
  for (auto* p : model.parameters()) finite = finite && p->value.allFinite() && p->grad.allFinite();
  model.zero_grad();
  return finite;
}

}  // namespace

TEST_CASE("BBD MLP 784-500-300-10 on MNIST: 95 % after one epoch, finite for five", "[training][mnist][bbd]") {
  const char* dir = mnist_dir();
  Eigen::setNbThreads(2);
  const auto train = load_mnist<float>(dir, Split::train);
  const auto test = load_mnist<float>(dir, Split::test);
  REQUIRE(train.size() == 60000);
  EpochRunner<float> runner(EpochOptions{}.with_batch(100).with_kl_weight(1.0));  // loss = CE + 1.0 * KL / 60000

  // The base network: one epoch without gates.
  Rng rng(bayesdrop::test::test_seed());
  auto base = mlp<float>({784, 500, 300, 10}, rng);
  const auto base_params = with_roles(base.parameters(), {ParamRole::weight, ParamRole::bias});
  Adam<float> base_adam({ParamGroup<float>{"weights", base_params, 1e-3, 1e-4}});
  const EpochResult pre = runner.train_epoch(base, base_adam, train, rng);
  const EpochResult pre_test = runner.evaluate(base, test);

  // The gated network, its dense layers starting from the base network's weights.
  std::vector<BetaBernoulliDropout<float>*> gates;
  auto model = gated_mlp(rng, BetaBernoulliOptions::assignment(), gates);
  REQUIRE(gates.size() == 3);
  const auto all = model.parameters();
  const auto weights = with_roles(all, {ParamRole::weight, ParamRole::bias});
  REQUIRE(weights.size() == base_params.size());
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i]->value = base_params[i]->value;

  const int epochs = 5;
  const auto schedule = LrSchedule::piecewise({0.5, 0.75}, {1.0, 0.1, 0.01}, std::int64_t(epochs) * 600);
  ParamGroup<float> weight_group{"weights", weights, 1e-3, 1e-4, schedule};
  ParamGroup<float> gate_group{"gates", with_roles(all, {ParamRole::noise}), 1e-2, 0.0, schedule};
  REQUIRE(gate_group.params.size() == 6);
  Adam<float> adam({weight_group, gate_group});

  auto n_active = [&] {
    std::ostringstream s;
    s << "[" << gates[0]->n_active() << ", " << gates[1]->n_active() << ", " << gates[2]->n_active() << "]";
    return s.str();
  };
  double seconds = pre.seconds + pre_test.seconds;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const EpochResult tr = runner.train_epoch(model, adam, train, rng);
    const EpochResult te = runner.evaluate(model, test);
    seconds += tr.seconds + te.seconds;
    INFO("base network: test accuracy " << pre_test.accuracy << " after one epoch, " << pre.seconds << " s");
    INFO("BB epoch " << epoch << ": train CE " << tr.cross_entropy << ", KL " << tr.kl << ", test accuracy "
                     << te.accuracy << ", n_active " << n_active() << ", " << tr.seconds << " s (all so far " << seconds
                     << " s)");
    CHECK(std::isfinite(tr.cross_entropy));
    CHECK(std::isfinite(tr.kl));
    CHECK(std::isfinite(te.cross_entropy));
    CHECK(values_and_gradients_finite(model, train, rng));
    // Seeds 1-3 (rule: tests/support/mnist.hpp): 96.48, 96.30, 96.20 % after the first BB epoch; after five, 97.93,
    // 97.82, 97.83 % with 513, 507, 510 of the 784 pixels active, whose share of the pixels' kept mass is 0.654,
    // 0.647, 0.651. A KL with the wrong sign or frozen gates keep all 784 pixels.
    if (epoch == 1) CHECK(te.accuracy >= 0.957);
    if (epoch == epochs) {
      CHECK(te.accuracy >= 0.973);
      CHECK(gates[0]->n_active() < 530);
      CHECK(gates[0]->sparsity().fraction_in_kept() < 0.675);
    }
  }
}

TEST_CASE("BBD MLP from scratch (raw_a = 2): 95 % after one epoch, finite for five", "[training][mnist][bbd]") {
  const char* dir = mnist_dir();
  Eigen::setNbThreads(2);
  const auto train = load_mnist<float>(dir, Split::train);
  const auto test = load_mnist<float>(dir, Split::test);
  Rng rng(bayesdrop::test::test_seed());
  std::vector<BetaBernoulliDropout<float>*> gates;
  auto model = gated_mlp(rng, BetaBernoulliOptions::from_scratch(), gates);
  REQUIRE(gates.size() == 3);
  // Every unit starts mostly open: E[pi] = b B(1 + 1/a, b) with a = softplus(2), b = softplus(raw_b) near 0.69.
  CHECK(gates[0]->expected_pi().minCoeff() > 0.6);

  const int epochs = 5;
  const Recipe recipe = Recipe::assignment().with_constant_lr();  // weights 1e-3 + L2 1e-4, gates 1e-2
  Adam<float> adam(recipe.param_groups(model, 600, epochs));
  REQUIRE(adam.groups().size() == 2);
  EpochRunner<float> runner(EpochOptions{}.with_batch(100).with_kl_weight(1.0));
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const EpochResult tr = runner.train_epoch(model, adam, train, rng);
    const EpochResult te = runner.evaluate(model, test);
    INFO("epoch " << epoch << ": train CE " << tr.cross_entropy << ", KL " << tr.kl << ", test accuracy " << te.accuracy
                  << ", n_active [" << gates[0]->n_active() << ", " << gates[1]->n_active() << ", "
                  << gates[2]->n_active() << "], " << tr.seconds << " s");
    CHECK(std::isfinite(tr.cross_entropy));
    CHECK(std::isfinite(tr.kl));
    CHECK(values_and_gradients_finite(model, train, rng));
    // Seeds 1-3 (rule: tests/support/mnist.hpp): 95.84, 96.13, 95.99 % after one epoch; after five, 97.97, 97.88,
    // 98.12 % with 511, 507, 513 pixels active. The gates start mostly open (E[pi] > 0.6), so frozen gates or a KL
    // with the wrong sign keep all 784.
    if (epoch == 1) CHECK(te.accuracy >= 0.953);
    if (epoch == epochs) {
      CHECK(te.accuracy >= 0.973);
      CHECK(gates[0]->n_active() < 530);
    }
  }
}
