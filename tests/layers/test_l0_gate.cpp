// L0 gates (Louizos et al. 2018; layers/l0_gate.hpp): the start, the hard concrete's probability of an exact 0 and of
// an exact 1 against its closed forms, the deterministic test gate, the penalty against an independent long-double
// reference, and the gradients against finite differences.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "bayesdrop/layers/l0_gate.hpp"
#include "support/layer_gradcheck.hpp"

using namespace bayesdrop;

namespace {

template <class Scalar>
void set_log_alpha(L0Gate<Scalar>& l, const std::vector<double>& la) {
  for (Index k = 0; k < l.units(); ++k) l.log_alpha().value(k, 0) = Scalar(la[std::size_t(k)]);
}

// P(z > 0) = P(s > -gamma / (zeta - gamma)) and P(z = 1) = P(s >= (1 - gamma) / (zeta - gamma)) of the hard concrete,
// from the concrete's CDF P(s < t) = sigmoid(beta logit(t) - log_alpha), in long double.
long double concrete_above(long double t, long double log_alpha, long double beta = 2.0L / 3.0L) {
  const long double logit_t = std::log(t / (1 - t));
  return 1 - 1 / (1 + std::exp(-(beta * logit_t - log_alpha)));
}

}  // namespace

TEMPLATE_TEST_CASE("L0: the authors' start from the drop rate, and the penalty", "[layer][l0]", float, double) {
  Rng rng(3);
  L0GateOptions o;
  o.drop_rate = 0.2;
  o.weights_per_unit = 300;
  L0Gate<TestType> gate(2000, rng, o);
  CHECK(gate.name() == "L0Gate");
  const auto params = gate.parameters();
  REQUIRE(params.size() == 1);
  CHECK(params[0]->name == "log_alpha");
  CHECK(params[0]->role == ParamRole::noise);
  const double mean = double(gate.log_alpha().value.sum()) / 2000;
  CHECK(std::abs(mean - std::log(4.0)) < 5 * 0.01 / std::sqrt(2000.0));
  CHECK(gate.n_active() == 2000);
  // penalty = lambda * w * sum P(z != 0), P(z != 0) = P(s > -gamma / (zeta - gamma)) = 1 - CDF; lambda 0.01 by default
  CHECK(o.lambda == 0.01);
  long double want = 0;
  for (Index k = 0; k < 2000; ++k) want += concrete_above(0.1L / 1.2L, gate.log_alpha().value(k, 0));
  want *= (long double)(o.lambda) * 300;
  CHECK(double(gate.kl()) == Approx(double(want)).epsilon(std::is_same<TestType, float>::value ? 1e-5 : 1e-12));
}

TEST_CASE("L0: training gates are exactly 0 and exactly 1 as often as the hard concrete says", "[layer][l0]") {
  Rng init(1);
  L0Gate<double> gate(3, init);
  const std::vector<double> la{-1.0, 0.5, 2.0};
  set_log_alpha(gate, la);
  const Index n = 100000;
  Matrix<double> x = Matrix<double>::Ones(3, n), y;
  Rng rng(5);
  gate.forward(x, y, Context::train(rng));
  for (Index k = 0; k < 3; ++k) {
    INFO("unit " << k);
    const double p_zero = 1 - double(concrete_above(0.1L / 1.2L, la[std::size_t(k)]));
    const double p_one = double(concrete_above(1.1L / 1.2L, la[std::size_t(k)]));
    const double zero = (y.row(k).array() == 0).cast<double>().mean();
    const double one = (y.row(k).array() == 1).cast<double>().mean();
    CHECK(std::abs(zero - p_zero) < 5 * std::sqrt(p_zero * (1 - p_zero) / double(n)));
    CHECK(std::abs(one - p_one) < 5 * std::sqrt(p_one * (1 - p_one) / double(n)));
    CHECK(y.row(k).minCoeff() >= 0);
    CHECK(y.row(k).maxCoeff() <= 1);
  }
  // the penalty's P(z != 0) is the fraction of non-zero gates
  const auto p = gate.probability_nonzero();
  for (Index k = 0; k < 3; ++k) CHECK((y.row(k).array() > 0).cast<double>().mean() == Approx(p[k]).margin(0.01));
}

TEMPLATE_TEST_CASE("L0: the test gate is min(1, max(0, sigmoid(log alpha) 1.2 - 0.1)), deterministic", "[layer][l0]",
                   float, double) {
  Rng init(2);
  L0Gate<TestType> gate(ImageShape{4, 1, 2}, init);
  set_log_alpha(gate, {3.0, 0.0, -2.5, -2.3});  // 1 (clamped), 0.5, 0 (pruned: sigmoid < 1/12), 0.0095
  CHECK(gate.n_active() == 3);
  const auto s = gate.eval_scale();
  CHECK(double(s[0]) == 1.0);
  CHECK(double(s[1]) == Approx(0.5));
  CHECK(double(s[2]) == 0.0);
  CHECK(double(s[3]) == Approx(1.2 / (1 + std::exp(2.3)) - 0.1).epsilon(1e-5));
  Matrix<TestType> x(8, 2), y, y2;
  Rng rng(4);
  rng.normal(x);
  gate.forward(x, y, Context::eval());
  gate.forward(x, y2, Context::eval());
  CHECK(y == y2);
  for (Index j = 0; j < 2; ++j) {
    for (Index r = 0; r < 8; ++r) CHECK(double(y(r, j)) == Approx(double(x(r, j) * s[r / 2])));
  }
}

TEST_CASE("L0: gradients match finite differences (features and channels)", "[layer][l0][gradcheck]") {
  Rng init(6);
  L0GateOptions o;
  o.weights_per_unit = 7;
  L0Gate<double> dense(5, init, o);
  set_log_alpha(dense, {0.3, -1.2, 2.1, -0.4, 1.0});
  Matrix<double> x(5, 4);
  Rng rng(23);
  rng.normal(x);
  L0Gate<double> conv(ImageShape{3, 2, 2}, init, o);
  set_log_alpha(conv, {0.8, -0.6, 1.5});
  Matrix<double> xc(12, 3);
  rng.normal(xc);
  test::check_layer_gradients(dense, x, 5);
  test::check_layer_gradients(conv, xc, 5);
}

TEST_CASE("L0: log alpha is kept in [log 1e-2, log 1e2] by each training forward", "[layer][l0]") {
  Rng init(8);
  L0Gate<double> gate(2, init);
  set_log_alpha(gate, {-9.0, 7.0});
  Matrix<double> x = Matrix<double>::Ones(2, 3), y;
  Rng rng(1);
  gate.forward(x, y, Context::train(rng));
  CHECK(gate.log_alpha().value(0, 0) == Approx(std::log(1e-2)));
  CHECK(gate.log_alpha().value(1, 0) == Approx(std::log(1e2)));
}

TEST_CASE("L0 rejects bad options and a backward without a training forward", "[layer][l0]") {
  Rng rng(1);
  L0GateOptions o;
  o.drop_rate = 1.0;
  CHECK_THROWS_WITH(L0Gate<float>(3, rng, o), Catch::Contains("drop_rate"));
  o = L0GateOptions{};
  o.gamma = 0.1;
  CHECK_THROWS_WITH(L0Gate<float>(3, rng, o), Catch::Contains("gamma"));
  L0Gate<float> gate(3, rng);
  Matrix<float> x = Matrix<float>::Ones(3, 2), dy = x, dx;
  CHECK_THROWS_AS(gate.backward(x, dy, &dx), ShapeError);
}
