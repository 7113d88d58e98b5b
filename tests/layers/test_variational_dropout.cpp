// VariationalDropout (Kingma et al. 2015, type A): modes, noise moments with the learned alpha and its cap, KL
// counting and anchors, gradient checks of inputs, log alpha and the KL (per unit and shared, dense and channels).
#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/layers/variational_dropout.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

template class bayesdrop::VariationalDropout<float>;
template class bayesdrop::VariationalDropout<double>;

namespace {

template <class Scalar>
Matrix<Scalar> nonzero_input(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<Scalar> x(rows, cols);
  rng.uniform(x);
  x.array() = x.array() + Scalar(0.5);
  return x;
}

// log alpha in [-2.5, -0.1], with entry 1 (if any) just under the cap. (Not at or over it: a training forward
// projects log alpha onto the cap, so f(log alpha + h) there would be f at the cap.)
void spread_log_alpha(VariationalDropout<double>& layer, std::uint64_t seed) {
  Rng rng(seed);
  auto& la = layer.log_alpha().value;
  rng.uniform(la);
  la.array() = -0.1 - 2.4 * la.array();
  if (la.size() > 1) la(1, 0) = -0.01;
}

}  // namespace

TEMPLATE_TEST_CASE("VariationalDropout: parameters, initialisation and modes", "[layer][variational_dropout]", float,
                   double) {
  using Scalar = TestType;
  VariationalDropout<Scalar> drop(6, 0.2);
  CHECK(drop.name() == "VariationalDropout");
  CHECK(drop.n_active() == 6);
  auto params = drop.parameters();
  REQUIRE(params.size() == 1);
  CHECK(params[0]->name == "log_alpha");
  CHECK(params[0]->role == ParamRole::noise);
  CHECK(params[0]->value.rows() == 6);
  CHECK(params[0]->value.cols() == 1);
  CHECK(params[0]->value(3, 0) == Approx(std::log(0.25)));  // log(p / (1 - p))
  CHECK(drop.alpha()(0) == Approx(0.25));
  CHECK_FALSE(drop.shared_alpha());

  VariationalDropout<Scalar> shared(ImageShape{3, 2, 2},
                                    VariationalDropoutOptions{}.with_p(0.5).with_shared_alpha(true));
  CHECK(shared.shared_alpha());
  CHECK(shared.log_alpha().value.size() == 1);
  CHECK(shared.log_alpha().value(0, 0) == Scalar(0));
  CHECK(shared.alpha().size() == 3);
  CHECK(shared.units() == 3);

  const Matrix<Scalar> x = nonzero_input<Scalar>(6, 5, 1);
  Matrix<Scalar> y;
  drop.forward(x, y, Context::eval());
  CHECK(y == x);
  Rng rng(2);
  drop.forward(x, y, Context::train(rng));
  REQUIRE(y.rows() == 6);
  REQUIRE(y.cols() == 5);
  CHECK(y != x);
  CHECK(y.array().isFinite().all());
  Matrix<Scalar> dx;
  drop.backward(x, y, &dx);
  CHECK(dx.rows() == 6);
  CHECK(dx.cols() == 5);
}

TEST_CASE("VariationalDropout: the noise has mean 1 and variance alpha, capped at 1", "[layer][variational_dropout]") {
  const Index units = 4, n = 40000;
  VariationalDropout<double> drop(units, 0.5);
  auto& la = drop.log_alpha().value;
  la << std::log(0.05), std::log(0.3), 0.0, 0.8;  // the last one is above the cap: alpha = 1
  const Vector<double> alpha = (Vector<double>(4) << 0.05, 0.3, 1.0, 1.0).finished();
  CHECK(drop.alpha().isApprox(alpha));
  const Matrix<double> x = nonzero_input<double>(units, n, 3);
  Matrix<double> y;
  Rng rng(4);
  drop.forward(x, y, Context::train(rng));
  for (Index k = 0; k < units; ++k) {
    const Eigen::ArrayXd z = (y.row(k).array() / x.row(k).array()).transpose();
    const double mean = z.mean();
    const double var = (z - mean).square().sum() / double(n - 1);
    INFO("unit " << k << ": alpha " << alpha(k) << ", mean " << mean << ", variance " << var);
    CHECK(std::abs(mean - 1) < 5 * std::sqrt(alpha(k) / double(n)));
    CHECK(std::abs(var - alpha(k)) < 5 * alpha(k) * std::sqrt(2.0 / double(n - 1)));
  }
}

TEST_CASE("VariationalDropout: the KL is the sum over units of the Kingma approximation",
          "[layer][variational_dropout]") {
  VariationalDropout<double> drop(3, 0.5);
  drop.log_alpha().value << std::log(0.1), std::log(0.5), 0.0;
  // KL = -(0.5 log alpha + c1 alpha + c2 alpha^2 + c3 alpha^3), Kingma et al.'s fit evaluated in double precision
  CHECK(drop.kl() == Approx(1.04958 + 0.06807 - 0.24571).margin(3e-4));
  drop.log_alpha().value(2, 0) = 0.9;  // above the cap: as alpha = 1
  CHECK(drop.kl() == Approx(1.04958 + 0.06807 - 0.24571).margin(3e-4));
  // a shared alpha counts once per unit (one noise variable per unit)
  VariationalDropout<double> shared(7,
                                    VariationalDropoutOptions{}.with_log_alpha(std::log(0.1)).with_shared_alpha(true));
  CHECK(shared.kl() == Approx(7 * 1.04958).margin(7e-4));
  VariationalDropout<float> channels(ImageShape{5, 4, 4}, VariationalDropoutOptions{}.with_p(0.5));
  CHECK(channels.kl() == Approx(-5 * 0.24571).margin(5e-4));  // per channel, not per value
}

TEST_CASE("VariationalDropout: gradients match finite differences", "[layer][variational_dropout][gradcheck]") {
  struct Case {
    const char* what;
    bool channels, shared;
  };
  for (const Case c : {Case{"dense, alpha per unit", false, false}, Case{"dense, shared alpha", false, true},
                       Case{"channels, alpha per channel", true, false}, Case{"channels, shared alpha", true, true}}) {
    INFO(c.what);
    const auto options = VariationalDropoutOptions{}.with_p(0.3).with_shared_alpha(c.shared);
    VariationalDropout<double> layer =
        c.channels ? VariationalDropout<double>(ImageShape{4, 2, 3}, options) : VariationalDropout<double>(6, options);
    spread_log_alpha(layer, 5);
    if (c.shared) layer.log_alpha().value(0, 0) = -0.7;
    Rng rng(6);
    Matrix<double> x(layer.input_rows(), 5);
    rng.normal(x);
    const auto in = test::check_input_gradient(layer, x, 7);
    INFO(in.what << ": " << in.error);
    CHECK(in.error < 1e-6);
    const auto data = test::check_parameter_gradients(layer, x, 8);
    INFO(data.what << " (data term): " << data.error);
    CHECK(data.error < 1e-6);
    const auto with_kl = test::check_parameter_gradients(layer, x, 8, 0.37);
    INFO(with_kl.what << " (with KL): " << with_kl.error);
    CHECK(with_kl.error < 1e-6);
    const auto kl = test::check_kl_gradient(layer);
    INFO(kl.what << ": " << kl.error);
    CHECK(kl.error < 1e-6);
  }
}

TEST_CASE("VariationalDropout: a log alpha over the cap is projected onto it and keeps its gradient",
          "[layer][variational_dropout]") {
  VariationalDropout<double> drop(3, 0.5);
  drop.log_alpha().value << -0.5, 0.3, 0.0;
  const Matrix<double> x = nonzero_input<double>(3, 20, 9);
  const Matrix<double> dy = nonzero_input<double>(3, 20, 10);
  Matrix<double> y, dx;
  Rng rng(11);
  Matrix<double> eval_y;
  drop.forward(x, eval_y, Context::eval());
  CHECK(drop.log_alpha().value(1, 0) == 0.3);  // evaluation does not touch it
  drop.forward(x, y, Context::train(rng));
  CHECK(drop.log_alpha().value(0, 0) == -0.5);
  CHECK(drop.log_alpha().value(1, 0) == 0.0);  // projected onto the cap
  CHECK(drop.log_alpha().value(2, 0) == 0.0);
  drop.backward(x, dy, &dx);
  const Matrix<double> data_grad = drop.log_alpha().grad;
  drop.kl_backward(1.0);
  const auto& g = drop.log_alpha().grad;
  CHECK(g(0, 0) != 0.0);
  CHECK(data_grad(1, 0) != 0.0);      // at the cap the data term's gradient passes: the unit can learn a lower alpha
  CHECK(g(1, 0) != data_grad(1, 0));  // and so does the KL's
  CHECK(g(2, 0) != 0.0);
  // dx = dy * z, z = y / x
  CHECK(dx.isApprox(dy.cwiseProduct(y.cwiseQuotient(x))));
}

TEST_CASE("VariationalDropout: invalid options and shapes throw", "[layer][variational_dropout]") {
  for (double bad : {0.0, -0.2, 0.6, 1.0, std::nan("")}) {
    INFO("p = " << bad);
    CHECK_THROWS_AS(VariationalDropout<float>(4, bad), InvalidArgument);
    CHECK_THROWS_WITH(VariationalDropout<float>(4, bad), Catch::Contains("(0, 0.5]"));
  }
  CHECK_THROWS_WITH(VariationalDropoutOptions{}.with_log_alpha(0.1),
                    Catch::Contains("log alpha") && Catch::Contains("<= 0"));
  CHECK_THROWS_AS(VariationalDropoutOptions{}.with_log_alpha(-INFINITY), InvalidArgument);
  VariationalDropoutOptions hand;
  hand.log_alpha = 2.0;  // filled in without the setter: the constructor still validates
  CHECK_THROWS_AS(VariationalDropout<float>(4, hand), InvalidArgument);
  CHECK_THROWS_AS(VariationalDropout<float>(0, 0.5), InvalidArgument);
  VariationalDropout<float> drop(4, 0.5);
  Matrix<float> bad(3, 2), y, dx;
  CHECK_THROWS_AS(drop.forward(bad, y, Context::eval()), ShapeError);
  Matrix<float> x = Matrix<float>::Ones(4, 3);
  CHECK_THROWS_WITH(drop.forward(x, y, Context{Mode::train, nullptr}), Catch::Contains("VariationalDropout"));
  Rng rng(1);
  drop.forward(x, y, Context::train(rng));
  Matrix<float> other = Matrix<float>::Ones(4, 5);
  CHECK_THROWS_AS(drop.backward(other, other, &dx), ShapeError);
}

TEST_CASE("VariationalDropout: evaluation is deterministic, training repeats with the seed",
          "[layer][variational_dropout]") {
  VariationalDropout<float> drop(ImageShape{4, 3, 3}, 0.4);
  const Matrix<float> x = nonzero_input<float>(36, 8, 12);
  Matrix<float> a, b;
  drop.forward(x, a, Context::eval());
  drop.forward(x, b, Context::eval());
  CHECK(a == b);
  CHECK(a == x);
  Rng r1(13), r2(13), r3(14);
  drop.forward(x, a, Context::train(r1));
  drop.forward(x, b, Context::train(r2));
  CHECK(a == b);
  drop.forward(x, b, Context::train(r3));
  CHECK(a != b);
  CHECK(drop.n_active() == 4);
  const SparsityStats s = drop.sparsity();
  CHECK(s.units_in == 4);
  CHECK(s.active_in == 4);
  CHECK(s.weights == 0);
}
