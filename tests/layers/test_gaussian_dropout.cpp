// GaussianDropout: noise moments (mean 1, variance alpha), modes, errors, gradient checks.
#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/layers/gaussian_dropout.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

template class bayesdrop::GaussianDropout<float>;
template class bayesdrop::GaussianDropout<double>;

namespace {

template <class Scalar>
Matrix<Scalar> nonzero_input(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<Scalar> x(rows, cols);
  rng.uniform(x);
  x.array() = x.array() + Scalar(0.5);
  return x;
}

}  // namespace

TEMPLATE_TEST_CASE("GaussianDropout: shapes, modes, alpha from p", "[layer][gaussian_dropout]", float, double) {
  using Scalar = TestType;
  GaussianDropout<Scalar> drop(6, 0.2);
  CHECK(drop.name() == "GaussianDropout");
  CHECK(drop.alpha() == Approx(0.25));
  CHECK(drop.p() == Approx(0.2));
  CHECK(drop.parameters().empty());
  CHECK(drop.kl() == Scalar(0));
  CHECK(drop.n_active() == 6);
  CHECK(GaussianDropout<Scalar>(3, 0.5).alpha() == Approx(1.0));
  CHECK(GaussianDropout<Scalar>(3, GaussianDropoutOptions{}.with_alpha(0.7)).alpha() == 0.7);
  CHECK(GaussianDropoutOptions{}.with_p(0.2).alpha == Approx(0.25));
  const Matrix<Scalar> x = nonzero_input<Scalar>(6, 7, 1);
  Matrix<Scalar> y, y2;
  drop.forward(x, y, Context::eval());
  CHECK(y == x);
  Rng rng(2);
  drop.forward(x, y, Context::train(rng));
  REQUIRE(y.rows() == 6);
  REQUIRE(y.cols() == 7);
  CHECK(y != x);
  CHECK(y.array().isFinite().all());
  CHECK(drop.noise().rows() == 6);
  CHECK(drop.noise().cols() == 7);
  CHECK(y.isApprox(x.cwiseProduct(drop.noise())));
  // alpha = 0 is the identity and needs no generator
  GaussianDropout<Scalar> off(6, 0.0);
  off.forward(x, y2, Context{Mode::train, nullptr});
  CHECK(y2 == x);
}

TEST_CASE("GaussianDropout: the noise has mean 1 and variance alpha within sampling error",
          "[layer][gaussian_dropout]") {
  for (double p : {0.2, 0.5}) {
    const double alpha = p / (1 - p);
    GaussianDropout<double> drop(100, p);
    const Matrix<double> x = nonzero_input<double>(100, 2000, 3);
    Matrix<double> y;
    Rng rng(4);
    drop.forward(x, y, Context::train(rng));
    const Eigen::ArrayXXd z = y.array() / x.array();
    const double n = double(z.size());
    const double mean = z.mean();
    const double var = (z - mean).square().sum() / (n - 1);
    INFO("p = " << p << ", alpha = " << alpha << ": mean " << mean << ", variance " << var);
    CHECK(std::abs(mean - 1) < 5 * std::sqrt(alpha / n));
    // the sample variance of normals has standard error alpha * sqrt(2 / (n - 1))
    CHECK(std::abs(var - alpha) < 5 * alpha * std::sqrt(2 / (n - 1)));
  }
  // channel gate: one factor per example and channel
  const double alpha = 0.25;
  GaussianDropout<double> drop(ImageShape{10, 2, 3}, GaussianDropoutOptions{}.with_alpha(alpha));
  const Matrix<double> x = nonzero_input<double>(60, 3000, 5);
  Matrix<double> y;
  Rng rng(6);
  drop.forward(x, y, Context::train(rng));
  Eigen::ArrayXXd z(10, 3000);
  for (Index j = 0; j < 3000; ++j) {
    for (Index c = 0; c < 10; ++c) {
      const Eigen::ArrayXd ratio = y.col(j).segment(c * 6, 6).array() / x.col(j).segment(c * 6, 6).array();
      REQUIRE((ratio - ratio(0)).abs().maxCoeff() < 1e-12);  // the same factor over the channel
      z(c, j) = ratio(0);
    }
  }
  const double n = double(z.size());
  const double mean = z.mean();
  const double var = (z - mean).square().sum() / (n - 1);
  CHECK(std::abs(mean - 1) < 5 * std::sqrt(alpha / n));
  CHECK(std::abs(var - alpha) < 5 * alpha * std::sqrt(2 / (n - 1)));
}

TEST_CASE("GaussianDropout: backward is dy * z", "[layer][gaussian_dropout]") {
  GaussianDropout<double> drop(5, 0.5);
  const Matrix<double> x = nonzero_input<double>(5, 4, 7);
  const Matrix<double> dy = nonzero_input<double>(5, 4, 8);
  Matrix<double> y, dx;
  Rng rng(9);
  drop.forward(x, y, Context::train(rng));
  drop.backward(x, dy, &dx);
  CHECK(dx == dy.cwiseProduct(drop.noise()));
  drop.backward(x, dy, nullptr);
}

TEST_CASE("GaussianDropout: input gradients match finite differences (dense and channels)",
          "[layer][gaussian_dropout][gradcheck]") {
  Rng rng(10);
  GaussianDropout<double> dense(6, 0.4);
  Matrix<double> x(6, 5);
  rng.normal(x);
  const auto r1 = test::check_input_gradient(dense, x, 11);
  INFO(r1.what << ": " << r1.error);
  CHECK(r1.error < 1e-6);
  GaussianDropout<double> channels(ImageShape{3, 2, 2}, 0.5);
  Matrix<double> img(12, 4);
  rng.normal(img);
  const auto r2 = test::check_input_gradient(channels, img, 12);
  INFO(r2.what << ": " << r2.error);
  CHECK(r2.error < 1e-6);
}

TEST_CASE("GaussianDropout: invalid p, alpha and shapes throw", "[layer][gaussian_dropout]") {
  for (double bad : {-0.1, 1.0, 3.0, std::nan("")}) {
    INFO("p = " << bad);
    CHECK_THROWS_AS(GaussianDropout<float>(4, bad), InvalidArgument);
    CHECK_THROWS_WITH(GaussianDropout<float>(4, bad), Catch::Contains("drop probability p"));
  }
  CHECK_THROWS_WITH(GaussianDropoutOptions{}.with_alpha(-1), Catch::Contains("alpha") && Catch::Contains(">= 0"));
  CHECK_THROWS_AS(GaussianDropoutOptions{}.with_alpha(INFINITY), InvalidArgument);
  GaussianDropoutOptions hand;
  hand.alpha = -2;  // filled in without the setter: the constructor still validates
  CHECK_THROWS_AS(GaussianDropout<float>(4, hand), InvalidArgument);
  CHECK_THROWS_AS(GaussianDropout<float>(0, 0.5), InvalidArgument);
  GaussianDropout<float> drop(4, 0.5);
  Matrix<float> bad(3, 2), y, dx;
  CHECK_THROWS_AS(drop.forward(bad, y, Context::eval()), ShapeError);
  Matrix<float> x = Matrix<float>::Ones(4, 3);
  CHECK_THROWS_WITH(drop.forward(x, y, Context{Mode::train, nullptr}), Catch::Contains("GaussianDropout"));
  Rng rng(1);
  drop.forward(x, y, Context::train(rng));
  Matrix<float> other = Matrix<float>::Ones(4, 5);
  CHECK_THROWS_AS(drop.backward(other, other, &dx), ShapeError);
}

TEST_CASE("GaussianDropout: evaluation is deterministic, training repeats with the seed", "[layer][gaussian_dropout]") {
  GaussianDropout<float> drop(ImageShape{4, 3, 3}, 0.5);
  const Matrix<float> x = nonzero_input<float>(36, 8, 13);
  Matrix<float> a, b;
  drop.forward(x, a, Context::eval());
  drop.forward(x, b, Context::eval());
  CHECK(a == b);
  Rng r1(14), r2(14), r3(15);
  drop.forward(x, a, Context::train(r1));
  drop.forward(x, b, Context::train(r2));
  CHECK(a == b);
  drop.forward(x, b, Context::train(r3));
  CHECK(a != b);
  const SparsityStats s = drop.sparsity();
  CHECK(s.units_in == 4);
  CHECK(s.active_in == 4);
}
