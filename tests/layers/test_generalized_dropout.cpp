// Generalized dropout (Srinivas and Babu 2016; layers/generalized_dropout.hpp): its start, its relaxed Bernoulli
// draw, its evaluation rule, its KL against an independent long-double reference, and its gradients against finite
// differences.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "bayesdrop/layers/generalized_dropout.hpp"
#include "support/layer_gradcheck.hpp"

using namespace bayesdrop;

namespace {

template <class Scalar>
void set_logits(GeneralizedDropout<Scalar>& l, const std::vector<double>& logits) {
  for (Index k = 0; k < l.units(); ++k) l.k_logit().value(k, 0) = Scalar(logits[std::size_t(k)]);
}

// -log Beta(k; a, b) in long double, from the Beta function itself: -log(k^(a-1) (1-k)^(b-1) / B(a, b)).
long double reference_kl(long double logit, long double a, long double b) {
  const long double k = 1.0L / (1.0L + std::exp(-logit));
  const long double beta_fn = std::tgamma(a) * std::tgamma(b) / std::tgamma(a + b);
  return -std::log(std::pow(k + 1e-20L, a - 1) * std::pow(1 - k + 1e-20L, b - 1) / beta_fn);
}

}  // namespace

TEMPLATE_TEST_CASE("GD: the authors' start, its keep probability and KL", "[layer][gd]", float, double) {
  GeneralizedDropout<TestType> gate(6);
  CHECK(gate.name() == "GeneralizedDropout");
  const auto params = gate.parameters();
  REQUIRE(params.size() == 1);
  CHECK(params[0]->name == "k_logit");
  CHECK(params[0]->role == ParamRole::noise);
  CHECK((gate.k_logit().value.array() == TestType(0.8)).all());
  CHECK(double(gate.keep_probability()[0]) == Approx(1 / (1 + std::exp(-0.8))).epsilon(1e-6));
  CHECK(gate.n_active() == 6);
  const long double want = 6 * reference_kl(0.8L, 1e-3L, 0.5L);
  CHECK(double(gate.kl()) == Approx(double(want)).epsilon(1e-6));

  // one KL term per channel, whatever the feature map's size (the authors' code)
  GeneralizedDropout<TestType> conv(ImageShape{3, 4, 4});
  set_logits(conv, {-3.0, 0.0, 5.0});
  const long double per_channel =
      reference_kl(-3.0L, 1e-3L, 0.5L) + reference_kl(0.0L, 1e-3L, 0.5L) + reference_kl(5.0L, 1e-3L, 0.5L);
  CHECK(double(conv.kl()) == Approx(double(per_channel)).epsilon(1e-6));
}

TEST_CASE("GD: a training factor passes 1/2 with probability k, drawn per example", "[layer][gd]") {
  // z = sigmoid((logit k + logit v) / tau) > 1/2 exactly when v > 1 - k, so P(z > 1/2) = k for any tau
  GeneralizedDropout<double> gate(3);
  const std::vector<double> logits{1.2, -0.5, 0.0};
  set_logits(gate, logits);
  const Index n = 100000;
  Matrix<double> x = Matrix<double>::Ones(3, n), y;
  Rng rng(17);
  gate.forward(x, y, Context::train(rng));
  for (Index k = 0; k < 3; ++k) {
    INFO("unit " << k);
    const double p = 1 / (1 + std::exp(-logits[std::size_t(k)]));
    const double frac = (y.row(k).array() > 0.5).cast<double>().mean();
    CHECK(std::abs(frac - p) < 5 * std::sqrt(p * (1 - p) / double(n)));
    CHECK(y.row(k).minCoeff() >= 0);
    CHECK(y.row(k).maxCoeff() <= 1);
  }
  // at tau = 0.1 the draws sit near 0 or 1: few fall in (0.1, 0.9)
  CHECK(((y.array() > 0.1) && (y.array() < 0.9)).cast<double>().mean() < 0.15);
}

TEMPLATE_TEST_CASE("GD: evaluation is deterministic, x * k where k > 1e-3 and 0 elsewhere", "[layer][gd]", float,
                   double) {
  GeneralizedDropout<TestType> gate(ImageShape{3, 1, 2});
  set_logits(gate, {2.0, -8.0, -6.0});  // k = 0.881, 3.35e-4 (pruned), 2.47e-3
  CHECK(gate.n_active() == 2);
  const auto s = gate.eval_scale();
  CHECK(double(s[0]) == Approx(1 / (1 + std::exp(-2.0))));
  CHECK(double(s[1]) == 0.0);
  CHECK(double(s[2]) == Approx(1 / (1 + std::exp(6.0))));
  Matrix<TestType> x(6, 2), y;
  Rng rng(2);
  rng.normal(x);
  gate.forward(x, y, Context::eval());
  for (Index j = 0; j < 2; ++j) {
    for (Index r = 0; r < 6; ++r) CHECK(double(y(r, j)) == Approx(double(x(r, j) * s[r / 2])));
  }
}

TEST_CASE("GD: gradients match finite differences (features and channels)", "[layer][gd][gradcheck]") {
  GeneralizedDropout<double> dense(5);
  set_logits(dense, {0.8, -1.5, 2.5, 0.1, -0.3});
  Matrix<double> x(5, 4);
  Rng rng(19);
  rng.normal(x);
  // a warmer temperature keeps the draws off their flat ends, where differences say nothing
  GeneralizedDropout<double> conv(ImageShape{3, 2, 2}, GeneralizedDropoutOptions{0.8, 1e-3, 0.5, 0.5, 1e-3});
  set_logits(conv, {0.4, -0.7, 1.1});
  Matrix<double> xc(12, 3);
  rng.normal(xc);
  test::check_layer_gradients(dense, x, 5);
  test::check_layer_gradients(conv, xc, 5);
}

TEST_CASE("GD rejects bad options and a backward without a training forward", "[layer][gd]") {
  GeneralizedDropoutOptions o;
  o.alpha = 0;
  CHECK_THROWS_WITH(GeneralizedDropout<float>(3, o), Catch::Contains("alpha"));
  o = GeneralizedDropoutOptions{};
  o.temperature = -1;
  CHECK_THROWS_WITH(GeneralizedDropout<float>(3, o), Catch::Contains("temperature"));
  CHECK_THROWS_AS(GeneralizedDropout<float>(0), InvalidArgument);
  GeneralizedDropout<float> gate(3);
  Matrix<float> x = Matrix<float>::Ones(3, 2), dy = x, dx;
  CHECK_THROWS_AS(gate.backward(x, dy, &dx), ShapeError);
}
