// One epoch on real MNIST for each of binary, Gaussian and variational dropout (type A gates on the inputs of the
// three dense layers of the MLP 784-500-300-10; drop p = 0.2 on the pixels and 0.5 on the hidden units), and for
// variational dropout type B (VariationalLinear as the dense layers). Each must reach 95 % test accuracy.
// Adam 1e-3 for weights and biases, 1e-2 for log alpha; loss = mean CE + KL / 60000 (EpochRunner, kl_weight 1).
// Needs BAYESDROP_MNIST_DIR.
#include <Eigen/Core>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>

#include "bayesdrop/io/mnist.hpp"
#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/gaussian_dropout.hpp"
#include "bayesdrop/layers/variational_dropout.hpp"
#include "bayesdrop/layers/variational_linear.hpp"
#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/training/epoch_runner.hpp"

using namespace bayesdrop;

namespace {

constexpr double kPixelDrop = 0.2;   // Srivastava et al. 2014, App. B.1: keep 0.8 on the input layer
constexpr double kHiddenDrop = 0.5;  // and 0.5 on the hidden layers

double drop_rate(std::size_t index) {
  return index == 0 ? kPixelDrop : kHiddenDrop;
}

struct Run {
  EpochResult train, test;
  double kl = 0;
};

struct Mnist {
  Dataset<float> train, test;
};

/// The data, loaded once per process; null (with a warning) when BAYESDROP_MNIST_DIR is not set.
const Mnist* mnist() {
  const char* dir = std::getenv("BAYESDROP_MNIST_DIR");
  if (dir == nullptr || *dir == '\0') return nullptr;
  static const Mnist data{load_mnist<float>(dir, Split::train), load_mnist<float>(dir, Split::test)};
  return &data;
}

Run one_epoch(const MlpOptions<float>& options) {
  const Mnist* data = mnist();
  const Dataset<float>& train = data->train;
  const Dataset<float>& test = data->test;
  Eigen::setNbThreads(2);
  Rng rng(1);
  auto model = mlp<float>({784, 500, 300, 10}, rng, options);
  const auto all = model.parameters();
  std::vector<ParamGroup<float>> groups{
      ParamGroup<float>{"weights", with_roles(all, {ParamRole::weight, ParamRole::bias}), 1e-3}};
  const auto noise = with_roles(all, {ParamRole::noise});
  if (!noise.empty()) groups.push_back(ParamGroup<float>{"noise", noise, 1e-2});
  Adam<float> adam(std::move(groups));
  EpochRunner<float> runner(EpochOptions{}.with_batch(100).with_kl_weight(1.0));
  Run r;
  r.train = runner.train_epoch(model, adam, train, rng);
  r.test = runner.evaluate(model, test);
  r.kl = double(model.kl());
  return r;
}

}  // namespace

bool have_mnist() {
  if (mnist() != nullptr) return true;
  WARN("BAYESDROP_MNIST_DIR is not set: the dropout MNIST test did not run");
  return false;
}

TEST_CASE("one epoch of the MLP with binary dropout reaches 95 % on MNIST", "[training][mnist][binary_dropout]") {
  if (!have_mnist()) return;
  const auto r = one_epoch(MlpOptions<float>{}.with_gate([](Index units, std::size_t i, Rng&) -> LayerPtr<float> {
    return std::make_unique<BinaryDropout<float>>(units, drop_rate(i));
  }));
  INFO("binary: train accuracy " << r.train.accuracy << ", test accuracy " << r.test.accuracy << ", epoch "
                                 << r.train.seconds << " s");
  CHECK(r.test.accuracy >= 0.95);
  CHECK(r.kl == 0.0);
}

TEST_CASE("one epoch of the MLP with Gaussian dropout reaches 95 % on MNIST", "[training][mnist][gaussian_dropout]") {
  if (!have_mnist()) return;
  const auto r = one_epoch(MlpOptions<float>{}.with_gate([](Index units, std::size_t i, Rng&) -> LayerPtr<float> {
    return std::make_unique<GaussianDropout<float>>(units, drop_rate(i));
  }));
  INFO("Gaussian: train accuracy " << r.train.accuracy << ", test accuracy " << r.test.accuracy << ", epoch "
                                   << r.train.seconds << " s");
  CHECK(r.test.accuracy >= 0.95);
}

TEST_CASE("one epoch of the MLP with variational dropout (type A) reaches 95 % on MNIST",
          "[training][mnist][variational_dropout]") {
  if (!have_mnist()) return;
  const auto r = one_epoch(MlpOptions<float>{}.with_gate([](Index units, std::size_t i, Rng&) -> LayerPtr<float> {
    return std::make_unique<VariationalDropout<float>>(units, drop_rate(i));
  }));
  INFO("variational A: train accuracy " << r.train.accuracy << ", test accuracy " << r.test.accuracy << ", KL " << r.kl
                                        << ", epoch " << r.train.seconds << " s");
  CHECK(r.test.accuracy >= 0.95);
  CHECK(std::isfinite(r.kl));
}

TEST_CASE("one epoch of the MLP with variational dropout (type B, VariationalLinear) reaches 95 % on MNIST",
          "[training][mnist][variational_linear]") {
  if (!have_mnist()) return;
  const auto r =
      one_epoch(MlpOptions<float>{}.with_dense([](Index in, Index out, std::size_t i, Rng& rng) -> LayerPtr<float> {
        return std::make_unique<VariationalLinear<float>>(in, out, rng,
                                                          VariationalLinearOptions{}.with_p(drop_rate(i)));
      }));
  INFO("variational B: train accuracy " << r.train.accuracy << ", test accuracy " << r.test.accuracy << ", KL " << r.kl
                                        << ", epoch " << r.train.seconds << " s");
  CHECK(r.test.accuracy >= 0.95);
  CHECK(std::isfinite(r.kl));
}
