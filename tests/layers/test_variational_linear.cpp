// VariationalLinear (Kingma et al. 2015, type B through the local reparameterisation trick): evaluation with the mean
// weights, the sampled pre-activations against sampling whole weight matrices, KL counting, gradient checks.
#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/layers/variational_linear.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

template class bayesdrop::VariationalLinear<float>;
template class bayesdrop::VariationalLinear<double>;

namespace {

// log alpha in [-2.5, -0.1], with one entry just under the cap (not at or over it: a training forward projects log
// alpha onto the cap, so f(log alpha + h) there would be f at the cap).
void spread_log_alpha(VariationalLinear<double>& layer, std::uint64_t seed) {
  Rng rng(seed);
  auto& la = layer.log_alpha().value;
  rng.uniform(la);
  la.array() = -0.1 - 2.4 * la.array();
  if (la.rows() > 1) la(1, 0) = -0.01;
}

}  // namespace

TEMPLATE_TEST_CASE("VariationalLinear: parameters and evaluation with the mean weights", "[layer][variational_linear]",
                   float, double) {
  using Scalar = TestType;
  Rng rng(1);
  VariationalLinear<Scalar> lin(5, 3, rng, VariationalLinearOptions{}.with_p(0.2));
  CHECK(lin.name() == "VariationalLinear");
  CHECK(lin.input_rows() == 5);
  CHECK(lin.output_rows() == 3);
  CHECK(lin.alpha_granularity() == VariationalAlpha::per_weight);
  auto params = lin.parameters();
  REQUIRE(params.size() == 3);
  CHECK(params[0]->name == "weight");
  CHECK(params[0]->role == ParamRole::weight);
  CHECK(params[1]->name == "bias");
  CHECK(params[1]->role == ParamRole::bias);
  CHECK(params[2]->name == "log_alpha");
  CHECK(params[2]->role == ParamRole::noise);
  CHECK(params[2]->value.rows() == 3);
  CHECK(params[2]->value.cols() == 5);
  CHECK(params[2]->value(2, 4) == Approx(std::log(0.25)));
  CHECK(lin.weight().value.norm() > 0);

  VariationalLinear<Scalar> per_out(
      5, 3, rng, VariationalLinearOptions{}.with_alpha_per(VariationalAlpha::per_output).with_bias(false));
  REQUIRE(per_out.parameters().size() == 2);
  CHECK(per_out.log_alpha().value.rows() == 3);
  CHECK(per_out.log_alpha().value.cols() == 1);
  CHECK(per_out.log_alpha().value(0, 0) == Scalar(0));  // default p = 0.5

  rng.normal(lin.bias().value);
  Matrix<Scalar> x(5, 4), y, y2;
  rng.normal(x);
  lin.forward(x, y, Context::eval());
  const Matrix<Scalar> expected = (lin.weight().value * x).colwise() + lin.bias().value.col(0);
  CHECK(y.isApprox(expected));
  lin.forward(x, y2, Context::eval());
  CHECK(y == y2);
  Rng r1(2), r2(2), r3(3);
  lin.forward(x, y, Context::train(r1));
  lin.forward(x, y2, Context::train(r2));
  CHECK(y == y2);
  CHECK(y != expected);
  lin.forward(x, y2, Context::train(r3));
  CHECK(y != y2);
  Matrix<Scalar> dx;
  lin.backward(x, y, &dx);
  CHECK(dx.rows() == 5);
  CHECK(dx.cols() == 4);
}

TEST_CASE("VariationalLinear: local reparameterisation has the moments of sampled weight matrices",
          "[layer][variational_linear][lrt]") {
  for (VariationalAlpha granularity : {VariationalAlpha::per_weight, VariationalAlpha::per_output}) {
    INFO((granularity == VariationalAlpha::per_weight ? "alpha per weight" : "alpha per output"));
    const Index in = 4, out = 3, k = 20000;
    Rng rng(4);
    VariationalLinear<double> lin(in, out, rng, VariationalLinearOptions{}.with_alpha_per(granularity));
    rng.normal(lin.weight().value);
    // |W| >= 0.5, so that every output's variance exceeds the power check's 0.05 below whatever the draws (a draw
    // near 0 had left one at 0.0494): var >= 0.1 * 0.25 * |x|^2, and |x|^2 is 3.17 and 6.5 for the two inputs.
    lin.weight().value.array() += 0.5 * lin.weight().value.array().sign();
    rng.normal(lin.bias().value);
    Matrix<double>& la = lin.log_alpha().value;
    rng.uniform(la);
    la.array() = std::log(0.1) * la.array();  // alpha in [0.1, 1]
    const Matrix<double> alpha = granularity == VariationalAlpha::per_weight
                                     ? Matrix<double>(la.array().exp().matrix())
                                     : Matrix<double>(la.col(0).array().exp().matrix().replicate(1, in));
    Matrix<double> inputs(in, 2);
    inputs << 1.0, -0.5, 0.3, 2.0, -1.2, 0.0, 0.8, 1.5;

    // (a) the layer: k columns of each input, one pre-activation sample per column
    Matrix<double> x(in, 2 * k), y;
    x.leftCols(k) = inputs.col(0).replicate(1, k);
    x.rightCols(k) = inputs.col(1).replicate(1, k);
    lin.forward(x, y, Context::train(rng));

    // (b) whole weight matrices w = W o (1 + sqrt(alpha) o eps), w ~ N(W, alpha W^2), one per sample
    Matrix<double> wy(out, 2 * k), eps(out, in);
    const Matrix<double>& w_mean = lin.weight().value;
    for (Index s = 0; s < k; ++s) {
      rng.normal(eps);
      const Matrix<double> w = w_mean.array() * (1.0 + alpha.array().sqrt() * eps.array());
      wy.col(s) = w * inputs.col(0) + lin.bias().value;
      wy.col(k + s) = w * inputs.col(1) + lin.bias().value;
    }

    for (Index c = 0; c < 2; ++c) {
      const Vector<double> mu = w_mean * inputs.col(c) + lin.bias().value;
      const Vector<double> var = (alpha.array() * w_mean.array().square()).matrix() * inputs.col(c).cwiseAbs2();
      for (Index j = 0; j < out; ++j) {
        const Eigen::ArrayXd a = y.row(j).segment(c * k, k).transpose().array();
        const Eigen::ArrayXd b = wy.row(j).segment(c * k, k).transpose().array();
        const double ma = a.mean(), mb = b.mean();
        const double va = (a - ma).square().sum() / double(k - 1), vb = (b - mb).square().sum() / double(k - 1);
        INFO("input " << c << ", output " << j << ": LRT mean " << ma << " var " << va << "; weights mean " << mb
                      << " var " << vb << "; exact mean " << mu(j) << " var " << var(j));
        const double se_mean = std::sqrt(va / double(k) + vb / double(k));
        const double se_var = std::sqrt(2 * (va * va + vb * vb) / double(k - 1));  // sample variance of normals
        CHECK(std::abs(ma - mb) < 5 * se_mean);
        CHECK(std::abs(va - vb) < 5 * se_var);
        // both also agree with the exact moments
        CHECK(std::abs(ma - mu(j)) < 5 * std::sqrt(var(j) / double(k)));
        CHECK(std::abs(va - var(j)) < 5 * var(j) * std::sqrt(2.0 / double(k - 1)));
        CHECK(var(j) > 0.05);  // the comparison has power: the noise is not negligible
      }
    }
  }
}

TEST_CASE("VariationalLinear: gradients match finite differences", "[layer][variational_linear][gradcheck]") {
  for (VariationalAlpha granularity : {VariationalAlpha::per_weight, VariationalAlpha::per_output}) {
    for (bool bias : {true, false}) {
      INFO((granularity == VariationalAlpha::per_weight ? "alpha per weight" : "alpha per output")
           << (bias ? ", bias" : ", no bias"));
      Rng rng(5);
      VariationalLinear<double> lin(6, 4, rng, VariationalLinearOptions{}.with_alpha_per(granularity).with_bias(bias));
      rng.normal(lin.bias().value);
      spread_log_alpha(lin, 6);
      Matrix<double> x(6, 5);
      rng.normal(x);
      x(2, 3) = 0.0;  // a zero input: the variance floor keeps the gradient finite
      const auto in = test::check_input_gradient(lin, x, 7);
      INFO(in.what << ": " << in.error);
      CHECK(in.error < 1e-6);
      const auto data = test::check_parameter_gradients(lin, x, 8);
      INFO(data.what << " (data term): " << data.error);
      CHECK(data.error < 1e-6);
      const auto with_kl = test::check_parameter_gradients(lin, x, 8, 0.29);
      INFO(with_kl.what << " (with KL): " << with_kl.error);
      CHECK(with_kl.error < 1e-6);
      const auto kl = test::check_kl_gradient(lin);
      INFO(kl.what << ": " << kl.error);
      CHECK(kl.error < 1e-6);
    }
  }
}

TEST_CASE("VariationalLinear: a log alpha over the cap is projected onto it and keeps its gradient",
          "[layer][variational_linear]") {
  Rng rng(9);
  VariationalLinear<double> lin(3, 2, rng, VariationalLinearOptions{}.with_alpha_per(VariationalAlpha::per_output));
  lin.log_alpha().value << 0.5, -0.5;
  Matrix<double> x(3, 10), y, dy(2, 10), dx;
  rng.normal(x);
  rng.normal(dy);
  lin.forward(x, y, Context::train(rng));
  CHECK(lin.log_alpha().value(0, 0) == 0.0);  // projected onto the cap
  CHECK(lin.log_alpha().value(1, 0) == -0.5);
  lin.backward(x, dy, &dx);
  CHECK(lin.log_alpha().grad(0, 0) != 0.0);  // the data term's gradient passes at the cap
  CHECK(lin.log_alpha().grad(1, 0) != 0.0);
}

TEST_CASE("VariationalLinear: the KL counts every weight", "[layer][variational_linear]") {
  Rng rng(10);
  VariationalLinear<double> per_weight(4, 3, rng, VariationalLinearOptions{}.with_p(0.5));
  CHECK(per_weight.kl() == Approx(-12 * 0.24571).margin(12e-4));
  per_weight.log_alpha().value.setConstant(std::log(0.1));
  CHECK(per_weight.kl() == Approx(12 * 1.04958).margin(12e-4));
  VariationalLinear<double> per_output(4, 3, rng,
                                       VariationalLinearOptions{}.with_alpha_per(VariationalAlpha::per_output));
  per_output.log_alpha().value << std::log(0.1), std::log(0.5), 0.0;
  CHECK(per_output.kl() == Approx(4 * (1.04958 + 0.06807 - 0.24571)).margin(12e-4));
  per_output.log_alpha().value(2, 0) = 3.0;  // capped
  CHECK(per_output.kl() == Approx(4 * (1.04958 + 0.06807 - 0.24571)).margin(12e-4));
  const SparsityStats s = per_output.sparsity();
  CHECK(s.units_in == 4);
  CHECK(s.active_in == 4);
  CHECK(s.weights == 12);
  CHECK(s.active_weights == 12);
}

TEST_CASE("VariationalLinear: invalid options and shapes throw", "[layer][variational_linear]") {
  Rng rng(11);
  CHECK_THROWS_AS(VariationalLinear<float>(0, 3, rng), InvalidArgument);
  CHECK_THROWS_AS(VariationalLinear<float>(3, -1, rng), InvalidArgument);
  for (double bad : {0.0, 0.7, 1.0, std::nan("")}) {
    INFO("p = " << bad);
    CHECK_THROWS_WITH(VariationalLinearOptions{}.with_p(bad), Catch::Contains("(0, 0.5]"));
  }
  CHECK_THROWS_AS(VariationalLinearOptions{}.with_log_alpha(0.5), InvalidArgument);
  VariationalLinearOptions hand;
  hand.log_alpha = 1.0;
  CHECK_THROWS_AS(VariationalLinear<float>(3, 2, rng, hand), InvalidArgument);
  VariationalLinear<float> lin(4, 2, rng);
  Matrix<float> bad(5, 3), y, dx;
  CHECK_THROWS_WITH(lin.forward(bad, y, Context::eval()),
                    Catch::Contains("VariationalLinear") && Catch::Contains("5 rows"));
  Matrix<float> x = Matrix<float>::Ones(4, 3);
  CHECK_THROWS_WITH(lin.forward(x, y, Context{Mode::train, nullptr}), Catch::Contains("VariationalLinear"));
  lin.forward(x, y, Context::train(rng));
  Matrix<float> dy_wrong(2, 4);
  CHECK_THROWS_AS(lin.backward(x, dy_wrong, &dx), ShapeError);
  Matrix<float> other = Matrix<float>::Ones(4, 5), dy5 = Matrix<float>::Ones(2, 5);
  CHECK_THROWS_AS(lin.backward(other, dy5, &dx), ShapeError);
}
