// The whole model's gradient against central differences, in double: a small MLP with each gate type, and with
// sparse VD and variational (type B) dense layers, under the training loss
//   L = mean cross-entropy + w * KL / N
// with the noise replayed (the generator reseeded before every forward, so L(theta + h) and L(theta - h) see the same
// noise). Every entry of every parameter is checked: backward through the whole stack plus kl_backward(w / N) must
// reproduce dL/dtheta with a relative error of at most 1e-6. The layer tests check each layer alone; this one checks
// that the layers compose (Sequential's backward, the KL's scale, the gradient of every gate's parameters reaching
// them through the dense layers after it).
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/gaussian_dropout.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/layers/structured_bayesian_pruning.hpp"
#include "bayesdrop/layers/variational_dropout.hpp"
#include "bayesdrop/layers/variational_linear.hpp"
#include "bayesdrop/losses/softmax_cross_entropy.hpp"
#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/optim/optimizer.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

namespace {

constexpr Index kBatch = 7;
constexpr Index kClasses = 3;
constexpr double kKlWeight = 0.7;
constexpr double kN = 50.0;  // the training-set size that scales the KL
// The noise's seed. At 99 (before the counter-based generator) the dependent beta-Bernoulli gate, at temperature 0.1,
// drew noise that left every input unit's gate saturated for every example: gamma's gradient was at most 6e-6 against
// a loss near 1, where central differences resolve about eps * L / h = 2e-11, so the check could not reach 1e-6
// (2.9e-6; each entry agreed with the differences to their resolution). At 7 one unit's gate is in its transition.
constexpr std::uint64_t kNoiseSeed = 7;

struct Case {
  std::string what;
  MlpOptions<double> options;
};

std::vector<Case> cases() {
  using Gate = MlpOptions<double>::GateFactory;
  auto gate = [](Gate g) { return MlpOptions<double>{}.with_gate(std::move(g)); };
  std::vector<Case> c;
  c.push_back({"binary dropout", gate([](Index units, std::size_t, Rng&) -> LayerPtr<double> {
                 return std::make_unique<BinaryDropout<double>>(units, 0.3);
               })});
  c.push_back({"Gaussian dropout", gate([](Index units, std::size_t, Rng&) -> LayerPtr<double> {
                 return std::make_unique<GaussianDropout<double>>(units, 0.3);
               })});
  // p = 0.3: log alpha below the cap (at the cap, the projection would make f(log alpha + h) one-sided).
  c.push_back({"variational dropout (type A)", gate([](Index units, std::size_t, Rng&) -> LayerPtr<double> {
                 return std::make_unique<VariationalDropout<double>>(units, 0.3);
               })});
  // a = b = 5 (pi between about 0.3 and 0.9) instead of the MNIST start a = 0.31, b = 1, under which half the units
  // draw pi < 0.1: with a whole layer's gates that nearly closed (as at this seed), its weights no longer change the
  // loss by a step h and central differences see nothing.
  c.push_back({"beta-Bernoulli dropout", gate([](Index units, std::size_t, Rng& rng) -> LayerPtr<double> {
                 auto g = std::make_unique<BetaBernoulliDropout<double>>(units, rng);
                 g->raw_a().value.setConstant(std::log(std::expm1(5.0)));
                 g->raw_b().value.setConstant(std::log(std::expm1(5.0)));
                 return g;
               })});
  // Dependent beta-Bernoulli on the inputs only: its gate reads the input through a stop-gradient, which is the whole
  // gradient only where no parameter is upstream (a dependent gate behind a weight layer leaves out, by design, that
  // layer's influence on the gate). Shift 0.5, scale 0.3, sigma 0.2: the gate inside (0, 1), where it learns; the
  // beta-Bernoulli part trained too.
  c.push_back(
      {"dependent beta-Bernoulli dropout on the inputs",
       gate([](Index units, std::size_t index, Rng& rng) -> LayerPtr<double> {
         if (index != 0) return nullptr;
         auto g = std::make_unique<DependentBetaBernoulliDropout<double>>(
             units, rng,
             DependentBetaBernoulliOptions{}.with_train_beta_bernoulli(true).with_shift_init(0.5).with_raw_sigma_init(
                 std::log(std::expm1(0.2))));
         g->gamma().value.setConstant(0.3);
         return g;
       })});
  // log sigma -1 instead of the default -5, so that the noise is large and its parameters matter.
  c.push_back({"structured Bayesian pruning", gate([](Index units, std::size_t, Rng&) -> LayerPtr<double> {
                 auto g = std::make_unique<StructuredBayesianPruning<double>>(units);
                 g->log_sigma().value.setConstant(-1.0);
                 return g;
               })});
  c.push_back({"sparse VD dense layers",
               MlpOptions<double>{}.with_dense([](Index in, Index out, std::size_t, Rng& rng) -> LayerPtr<double> {
                 // Glorot weights and log sigma^2 = -3: log alpha near -1, inside the clip [-8, 8], noise that matters
                 return std::make_unique<SparseVDLinear<double>>(
                     in, out, rng, SparseVDOptions{}.with_init(Init::glorot_normal()).with_log_sigma2_init(-3.0));
               })});
  c.push_back({"variational dense layers (type B)",
               MlpOptions<double>{}.with_dense([](Index in, Index out, std::size_t, Rng& rng) -> LayerPtr<double> {
                 return std::make_unique<VariationalLinear<double>>(in, out, rng,
                                                                    VariationalLinearOptions{}.with_p(0.3));
               })});
  return c;
}

/// L = mean CE + w * KL / N with the noise of kNoiseSeed.
double loss_value(Sequential<double>& model, const Matrix<double>& x, const Labels& y) {
  Rng rng(kNoiseSeed);
  SoftmaxCrossEntropy<double> ce;
  const double data = ce.forward(model.forward(x, Context::train(rng)), y);
  return data + kKlWeight * model.kl() / kN;
}

}  // namespace

TEST_CASE("whole-model gradient of CE + w KL / N matches central differences for every dropout type",
          "[training][gradcheck][model]") {
  for (const Case& c : cases()) {
    INFO(c.what);
    Rng init(5);
    auto model = mlp<double>({6, 5, 4, kClasses}, init, c.options);
    Matrix<double> x(6, kBatch);
    init.normal(x);
    // Biases away from 0: a gate that nearly closes leaves a pre-activation equal to its bias, and a zero bias would
    // put it on ReLU's kink, where central differences are meaningless.
    for (auto* p : with_roles(model.parameters(), {ParamRole::bias})) {
      init.normal(p->value);
      p->value *= 0.3;
      p->value.array() += p->value.array().sign() * 0.1;
    }
    Labels y(kBatch);
    for (Index i = 0; i < kBatch; ++i) y(i) = Label(i % kClasses);

    // the analytic gradient: backward of the data term plus kl_backward of the KL term
    model.zero_grad();
    {
      Rng rng(kNoiseSeed);
      SoftmaxCrossEntropy<double> ce;
      Matrix<double> dlogits;
      ce.forward(model.forward(x, Context::train(rng)), y);
      ce.backward(y, dlogits);
      model.backward(x, dlogits, nullptr);
      model.kl_backward(kKlWeight / kN);
    }
    const auto params = model.parameters();
    REQUIRE(!params.empty());
    std::vector<Matrix<double>> analytic;
    for (auto* p : params) analytic.push_back(p->grad);
    const bool has_kl = model.kl() != 0.0;
    INFO("model KL " << model.kl());
    if (c.what != "binary dropout" && c.what != "Gaussian dropout") CHECK(has_kl);

    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto r = test::check_gradient([&] { return loss_value(model, x, y); }, params[i]->value, analytic[i],
                                          c.what + ": parameter " + std::to_string(i) + " '" + params[i]->name + "'");
      INFO(r.what << ": relative error " << r.error << " at step " << r.step);
      CHECK(r.error <= 1e-6);
      CHECK(analytic[i].norm() > 0);  // every parameter gets a gradient, so the check compares something
    }
  }
}
