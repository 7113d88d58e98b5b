// BatchNorm1d: training statistics, running averages, evaluation, gradients, no allocation after the first batch.
//
// Eigen's malloc check is compiled into this executable (as in tests/models/test_no_allocation.cpp), with its
// assertion turned into an exception so that it also fires in Release builds.
#include <cmath>
#include <stdexcept>

#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(x) \
  if (!(x)) throw std::runtime_error("Eigen assertion failed: " #x)

#include <catch2/catch.hpp>

#include "bayesdrop/layers/batch_norm1d.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

namespace {

// Per-row mean and variance by explicit loops, independent of the layer's Eigen expressions.
double row_mean(const Matrix<double>& x, Index r) {
  double s = 0;
  for (Index c = 0; c < x.cols(); ++c) s += x(r, c);
  return s / double(x.cols());
}
double row_var(const Matrix<double>& x, Index r, bool unbiased) {
  const double m = row_mean(x, r);
  double s = 0;
  for (Index c = 0; c < x.cols(); ++c) s += (x(r, c) - m) * (x(r, c) - m);
  return s / double(unbiased ? x.cols() - 1 : x.cols());
}

}  // namespace

TEST_CASE("BatchNorm1d training output has per-feature mean 0 and variance 1", "[layer][batchnorm]") {
  Rng rng(1);
  BatchNorm1d<double> bn(5);
  Matrix<double> x(5, 32), y;
  rng.normal(x);
  x = (x * 3.0).array() + 7.0;  // far from standardised, so the check means something
  bn.forward(x, y, Context::train(rng));
  REQUIRE(y.rows() == 5);
  REQUIRE(y.cols() == 32);
  for (Index r = 0; r < 5; ++r) {
    CHECK(std::abs(row_mean(y, r)) < 1e-12);
    // Biased variance of x_hat is var / (var + eps): 1 up to eps / var.
    CHECK(row_var(y, r, false) == Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("BatchNorm1d gradients match finite differences in training mode", "[layer][batchnorm][gradcheck]") {
  // The probe loss is <y, R> with a random R. It must not be sum(y): the outputs of each feature sum to
  // B * beta whatever x is, so that loss has zero gradient with respect to x and would check nothing.
  Rng rng(2);
  BatchNorm1d<double> bn(6);
  rng.normal(bn.gamma().value);
  rng.normal(bn.beta().value);
  Matrix<double> x(6, 5);
  rng.normal(x);
  const auto in = test::check_input_gradient(bn, x, 3);
  INFO(in.what << ": " << in.error);
  CHECK(in.error < 1e-7);
  const auto params = test::check_parameter_gradients(bn, x, 3);
  INFO(params.what << ": " << params.error);
  CHECK(params.error < 1e-7);

  // And the degenerate loss sum(y) indeed gives dx = 0 (the reason for the random probe).
  Matrix<double> y, dx;
  bn.forward(x, y, Context::train(rng));
  bn.backward(x, Matrix<double>::Ones(6, 5), &dx);
  CHECK(dx.cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("BatchNorm1d backward accumulates dgamma and dbeta and overwrites dx", "[layer][batchnorm]") {
  Rng rng(3);
  BatchNorm1d<double> bn(4);
  Matrix<double> x(4, 8), y, dy(4, 8), dx = Matrix<double>::Constant(4, 8, 99.0);
  rng.normal(x);
  rng.normal(dy);
  bn.forward(x, y, Context::train(rng));
  bn.backward(x, dy, &dx);
  const Matrix<double> g1 = bn.gamma().grad, b1 = bn.beta().grad, dx1 = dx;
  CHECK(b1.col(0).isApprox(dy.rowwise().sum()));
  bn.backward(x, dy, &dx);
  CHECK(bn.gamma().grad.isApprox(2 * g1));
  CHECK(bn.beta().grad.isApprox(2 * b1));
  CHECK(dx.isApprox(dx1));
  bn.backward(x, dy, nullptr);  // dx may be skipped
  CHECK(bn.beta().grad.isApprox(3 * b1));
  // A batch of another size than the cached one is a caller bug.
  Matrix<double> other(4, 3), dother(4, 3);
  CHECK_THROWS_AS(bn.backward(other, dother, &dx), ShapeError);
}

TEST_CASE("BatchNorm1d running statistics are the exponential averages of batch mean and unbiased variance",
          "[layer][batchnorm]") {
  Rng rng(4);
  const double m = 0.3;
  BatchNorm1d<double> bn(3, BatchNormOptions{}.with_momentum(m));
  CHECK(bn.running_mean().isZero());
  CHECK(bn.running_var().isOnes());
  std::vector<double> mean(3, 0.0), var(3, 1.0);
  Matrix<double> x, y;
  for (Index b : {4, 7, 7, 2}) {  // batch sizes change too
    x.resize(3, b);
    rng.normal(x);
    x.row(1).array() += 5.0;
    bn.forward(x, y, Context::train(rng));
    for (Index r = 0; r < 3; ++r) {
      mean[r] = (1 - m) * mean[r] + m * row_mean(x, r);
      var[r] = (1 - m) * var[r] + m * row_var(x, r, true);
    }
  }
  for (Index r = 0; r < 3; ++r) {
    CHECK(bn.running_mean()(r, 0) == Approx(mean[r]).epsilon(1e-12));
    CHECK(bn.running_var()(r, 0) == Approx(var[r]).epsilon(1e-12));
  }
  // Evaluation does not move them.
  bn.forward(x, y, Context::eval());
  CHECK(bn.running_mean()(1, 0) == Approx(mean[1]).epsilon(1e-12));
}

TEST_CASE("BatchNorm1d evaluation uses the running statistics, deterministically", "[layer][batchnorm]") {
  Rng rng(5);
  const double eps = 1e-3;
  BatchNorm1d<double> bn(4, BatchNormOptions{}.with_eps(eps));
  rng.normal(bn.gamma().value);
  rng.normal(bn.beta().value);
  Matrix<double> x(4, 10), y, y2;
  for (int i = 0; i < 3; ++i) {
    rng.normal(x);
    bn.forward(x, y, Context::train(rng));
  }
  Matrix<double> xe(4, 1);  // a single observation is fine in evaluation
  rng.normal(xe);
  bn.forward(xe, y, Context::eval());
  bn.forward(xe, y2, Context::eval());
  REQUIRE(y.rows() == 4);
  REQUIRE(y.cols() == 1);
  CHECK(y == y2);
  for (Index r = 0; r < 4; ++r) {
    const double expected =
        bn.gamma().value(r, 0) * (xe(r, 0) - bn.running_mean()(r, 0)) / std::sqrt(bn.running_var()(r, 0) + eps) +
        bn.beta().value(r, 0);
    CHECK(y(r, 0) == Approx(expected).epsilon(1e-12));
  }
}

TEST_CASE("BatchNorm1d exposes its running statistics as state and gamma, beta as parameters", "[layer][batchnorm]") {
  BatchNorm1d<float> bn(7);
  auto st = bn.state();
  REQUIRE(st.size() == 2);
  CHECK(st[0].name == "running_mean");
  CHECK(st[1].name == "running_var");
  CHECK(st[0].value == &bn.running_mean());
  CHECK(st[1].value == &bn.running_var());
  CHECK(st[0].value->rows() == 7);
  CHECK(st[0].value->cols() == 1);
  // Loading a saved model writes through the pointer; evaluation then uses the loaded values.
  st[0].value->setConstant(2.0f);
  st[1].value->setConstant(4.0f);
  Matrix<float> x = Matrix<float>::Constant(7, 2, 4.0f), y;
  bn.forward(x, y, Context::eval());
  CHECK(y(3, 1) == Approx(1.0f).epsilon(1e-4));  // (4 - 2) / sqrt(4 + eps)

  const auto ps = bn.parameters();
  REQUIRE(ps.size() == 2);
  CHECK(ps[0]->name == "gamma");
  CHECK(ps[0]->role == ParamRole::weight);
  CHECK(ps[0]->value.isOnes());
  CHECK(ps[1]->name == "beta");
  CHECK(ps[1]->role == ParamRole::bias);
  CHECK(ps[1]->value.isZero());
  CHECK(bn.name() == "BatchNorm1d");
}

TEST_CASE("BatchNorm1d allocates nothing after the first batch of a given size", "[layer][batchnorm][allocation]") {
  Rng rng(6);
  BatchNorm1d<float> bn(16);
  Matrix<float> x(16, 20), y, dy(16, 20), dx;
  rng.normal(x);
  rng.normal(dy);
  bn.forward(x, y, Context::train(rng));
  bn.backward(x, dy, &dx);
  bn.forward(x, y, Context::eval());
  Eigen::internal::set_is_malloc_allowed(false);
  try {
    bn.forward(x, y, Context::train(rng));
    bn.backward(x, dy, &dx);
    bn.forward(x, y, Context::eval());
  } catch (...) {
    Eigen::internal::set_is_malloc_allowed(true);
    throw;
  }
  Eigen::internal::set_is_malloc_allowed(true);
}

TEST_CASE("BatchNorm1d rejects bad arguments with clear errors", "[layer][batchnorm]") {
  CHECK_THROWS_AS(BatchNorm1d<float>(0), InvalidArgument);
  CHECK_THROWS_AS(BatchNorm1d<float>(-3), InvalidArgument);
  CHECK_THROWS_AS(BatchNorm1d<float>(4, BatchNormOptions{}.with_momentum(0.0)), InvalidArgument);
  CHECK_THROWS_AS(BatchNorm1d<float>(4, BatchNormOptions{}.with_momentum(1.5)), InvalidArgument);
  CHECK_THROWS_AS(BatchNorm1d<float>(4, BatchNormOptions{}.with_momentum(-0.1)), InvalidArgument);
  CHECK_THROWS_AS(BatchNorm1d<float>(4, BatchNormOptions{}.with_eps(0.0)), InvalidArgument);
  CHECK_THROWS_AS(BatchNorm1d<float>(4, BatchNormOptions{}.with_eps(std::nan(""))), InvalidArgument);
  CHECK_NOTHROW(BatchNorm1d<float>(4, BatchNormOptions{}.with_momentum(1.0)));

  Rng rng(7);
  BatchNorm1d<float> bn(4);
  Matrix<float> one(4, 1), y;
  CHECK_THROWS_WITH(bn.forward(one, y, Context::train(rng)),
                    Catch::Contains("BatchNorm1d") && Catch::Contains("at least 2"));
  Matrix<float> wrong(5, 3);
  CHECK_THROWS_WITH(bn.forward(wrong, y, Context::eval()), Catch::Contains("5 rows") && Catch::Contains("expects 4"));
}
