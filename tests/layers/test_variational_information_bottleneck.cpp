// The variational information bottleneck gate (Dai et al. 2018; layers/variational_information_bottleneck.hpp):
// its start, its noise's moments, its evaluation rule, its KL against an independent long-double reference, and its
// gradients against finite differences.
#include <catch2/catch.hpp>
#include <cmath>
#include <type_traits>
#include <vector>

#include "bayesdrop/layers/variational_information_bottleneck.hpp"
#include "support/layer_gradcheck.hpp"

using namespace bayesdrop;

namespace {

template <class Scalar>
void set_params(VariationalInformationBottleneck<Scalar>& l, const std::vector<double>& mu,
                const std::vector<double>& logvar) {
  for (Index k = 0; k < l.units(); ++k) {
    l.mu().value(k, 0) = Scalar(mu[std::size_t(k)]);
    l.logvar().value(k, 0) = Scalar(logvar[std::size_t(k)]);
  }
}

// KL of one unit, 0.5 log((v + mu^2) / v) with v = exp(logvar) + 1e-8, in long double: written apart from the
// layer's log1p form.
long double reference_kl(long double mu, long double logvar) {
  const long double v = std::exp(logvar) + 1e-8L;
  return 0.5L * std::log((v + mu * mu) / v);
}

}  // namespace

TEMPLATE_TEST_CASE("VIB: parameters, the authors' start and its KL", "[layer][vib]", float, double) {
  Rng rng(7);
  VariationalInformationBottleneck<TestType> gate(4000, rng);
  CHECK(gate.name() == "VariationalInformationBottleneck");
  const auto params = gate.parameters();
  REQUIRE(params.size() == 2);
  CHECK(params[0]->name == "mu");
  CHECK(params[1]->name == "logvar");
  for (auto* p : params) CHECK(p->role == ParamRole::noise);
  // mu ~ N(1, 0.01^2), logvar ~ N(-9, 0.01^2): with 4000 draws the means are within 5 standard errors
  const auto& mu = gate.mu().value;
  const auto& lv = gate.logvar().value;
  const double mu_mean = double(mu.sum()) / 4000, lv_mean = double(lv.sum()) / 4000;
  CHECK(std::abs(mu_mean - 1.0) < 5 * 0.01 / std::sqrt(4000.0));
  CHECK(std::abs(lv_mean + 9.0) < 5 * 0.01 / std::sqrt(4000.0));
  const double mu_sd = std::sqrt(double((mu.array() - TestType(mu_mean)).square().sum()) / 3999);
  CHECK(mu_sd == Approx(0.01).epsilon(0.05));
  CHECK(gate.n_active() == 4000);  // log alpha = -9 - log(1) < 0 everywhere

  long double want = 0;
  for (Index k = 0; k < 4000; ++k) want += reference_kl(mu(k, 0), lv(k, 0));
  CHECK(double(gate.kl()) == Approx(double(want)).epsilon(std::is_same<TestType, float>::value ? 1e-5 : 1e-12));
  // at the start each unit's KL is about 0.5 log(1 + e^9) = 4.5000617
  CHECK(double(want) / 4000 == Approx(4.5000617).epsilon(1e-4));

  // a channel gate counts each channel's KL once per value of its feature map (the authors' featmap_size)
  VariationalInformationBottleneck<TestType> conv(ImageShape{3, 4, 5}, rng);
  long double per_channel = 0;
  for (Index k = 0; k < 3; ++k) per_channel += reference_kl(conv.mu().value(k, 0), conv.logvar().value(k, 0));
  CHECK(double(conv.kl()) == Approx(double(20 * per_channel)).epsilon(1e-5));
  CHECK(conv.input_rows() == 60);
}

TEST_CASE("VIB: training factors have mean mu and variance exp(logvar), drawn per example", "[layer][vib]") {
  Rng init(3);
  VariationalInformationBottleneck<double> gate(3, init);
  set_params(gate, {1.5, -0.4, 0.0}, {-1.0, 0.5, -3.0});
  const Index n = 200000;
  Matrix<double> x = Matrix<double>::Ones(3, n), y;
  Rng rng(11);
  gate.forward(x, y, Context::train(rng));
  const std::vector<double> mu{1.5, -0.4, 0.0}, var{std::exp(-1.0), std::exp(0.5), std::exp(-3.0)};
  for (Index k = 0; k < 3; ++k) {
    INFO("unit " << k);
    const double mean = y.row(k).mean();
    const double v = (y.row(k).array() - mean).square().sum() / double(n - 1);
    CHECK(std::abs(mean - mu[std::size_t(k)]) < 5 * std::sqrt(var[std::size_t(k)] / double(n)));
    CHECK(v == Approx(var[std::size_t(k)]).epsilon(0.02));
  }
  // neighbouring examples are independent draws
  const double corr = ((y.row(0).head(n - 1).array() - 1.5) * (y.row(0).tail(n - 1).array() - 1.5)).mean() / var[0];
  CHECK(std::abs(corr) < 0.02);
}

TEMPLATE_TEST_CASE("VIB: evaluation is deterministic, x * mu where log alpha < 0 and 0 elsewhere", "[layer][vib]",
                   float, double) {
  Rng init(5);
  VariationalInformationBottleneck<TestType> gate(ImageShape{4, 1, 2}, init);
  // log alpha = logvar - log(mu^2 + 1e-8): -2.4, 0.6 (pruned), -1 - log 0.25 = 0.386 (pruned), -7.0
  set_params(gate, {2.0, 0.5, -0.5, 1.0}, {-1.0, -0.78, -1.0, -7.0});
  CHECK(gate.n_active() == 2);
  const auto scale = gate.eval_scale();
  CHECK(double(scale[0]) == Approx(2.0));
  CHECK(double(scale[1]) == 0.0);
  CHECK(double(scale[2]) == 0.0);
  CHECK(double(scale[3]) == Approx(1.0));
  CHECK(gate.sparsity().active_in == 2);
  Matrix<TestType> x(8, 3), y, y2;
  Rng rng(1);
  rng.normal(x);
  gate.forward(x, y, Context::eval());
  gate.forward(x, y2, Context::eval());
  CHECK(y == y2);
  for (Index j = 0; j < 3; ++j) {
    for (Index r = 0; r < 8; ++r) CHECK(double(y(r, j)) == Approx(double(x(r, j) * scale[r / 2])));
  }
}

TEST_CASE("VIB: gradients match finite differences (features and channels)", "[layer][vib][gradcheck]") {
  Rng init(9);
  VariationalInformationBottleneck<double> dense(5, init);
  set_params(dense, {1.0, -0.7, 0.05, 2.5, 0.3}, {-9.0, -1.0, 0.5, -3.0, -0.2});
  Matrix<double> x(5, 4);
  Rng rng(13);
  rng.normal(x);
  VariationalInformationBottleneck<double> conv(ImageShape{3, 2, 2}, init);
  set_params(conv, {0.8, -1.2, 0.1}, {-2.0, 0.3, -6.0});
  Matrix<double> xc(12, 3);
  rng.normal(xc);
  test::check_layer_gradients(dense, x, 5);
  test::check_layer_gradients(conv, xc, 5);
}

TEST_CASE("VIB rejects a bad start and a backward without a training forward", "[layer][vib]") {
  Rng rng(1);
  CHECK_THROWS_AS(VibOptions{}.with_start(1.0, std::nan(""), 0.01), InvalidArgument);
  CHECK_THROWS_AS(VibOptions{}.with_start(1.0, -9.0, -1.0), InvalidArgument);
  CHECK_THROWS_AS(VariationalInformationBottleneck<float>(0, rng), InvalidArgument);
  VariationalInformationBottleneck<float> gate(3, rng);
  Matrix<float> x = Matrix<float>::Ones(3, 2), dy = x, dx;
  CHECK_THROWS_AS(gate.backward(x, dy, &dx), ShapeError);
}
