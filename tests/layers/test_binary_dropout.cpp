// BinaryDropout: drop rate and inverted scaling checked against the definition (the dropped fraction is p, E[y] = x,
// backward = mask * scale * dy), modes, errors, gradient checks, and dropout as a regulariser of least squares.
#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/optim/lr_schedule.hpp"
#include "bayesdrop/optim/sgd.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

template class bayesdrop::BinaryDropout<float>;
template class bayesdrop::BinaryDropout<double>;

namespace {

template <class Scalar>
Matrix<Scalar> nonzero_input(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<Scalar> x(rows, cols);
  rng.uniform(x);                       // (0, 1]
  x.array() = x.array() + Scalar(0.5);  // bounded away from zero, so that y == 0 means "dropped"
  return x;
}

}  // namespace

TEMPLATE_TEST_CASE("BinaryDropout: evaluation is the identity, training gives 0 or x / (1 - p)",
                   "[layer][binary_dropout]", float, double) {
  using Scalar = TestType;
  BinaryDropout<Scalar> drop(6, 0.25);
  CHECK(drop.name() == "BinaryDropout");
  CHECK(drop.p() == 0.25);
  CHECK(drop.input_rows() == 6);
  CHECK(drop.output_rows() == 6);
  CHECK(drop.parameters().empty());
  CHECK(drop.kl() == Scalar(0));
  const Matrix<Scalar> x = nonzero_input<Scalar>(6, 9, 1);
  Matrix<Scalar> y;
  drop.forward(x, y, Context::eval());
  CHECK(y == x);

  Rng rng(2);
  drop.forward(x, y, Context::train(rng));
  REQUIRE(y.rows() == 6);
  REQUIRE(y.cols() == 9);
  REQUIRE(drop.mask().rows() == 6);
  REQUIRE(drop.mask().cols() == 9);
  const Scalar scale = Scalar(1.0 / 0.75);
  Index zeros = 0;
  for (Index j = 0; j < x.cols(); ++j) {
    for (Index i = 0; i < x.rows(); ++i) {
      const Scalar m = drop.mask()(i, j);
      CHECK((m == Scalar(0) || m == scale));
      CHECK(y(i, j) == x(i, j) * m);
      zeros += m == Scalar(0);
    }
  }
  CHECK(zeros > 0);
  CHECK(zeros < x.size());
}

TEMPLATE_TEST_CASE("BinaryDropout: p = 0 is the identity in training and needs no generator", "[layer][binary_dropout]",
                   float, double) {
  using Scalar = TestType;
  BinaryDropout<Scalar> drop(5, 0.0);
  const Matrix<Scalar> x = nonzero_input<Scalar>(5, 4, 3);
  Matrix<Scalar> y, dx;
  drop.forward(x, y, Context{Mode::train, nullptr});
  CHECK(y == x);
  const Matrix<Scalar> dy = nonzero_input<Scalar>(5, 4, 4);
  drop.backward(x, dy, &dx);
  CHECK(dx == dy);
  BinaryDropout<Scalar> channels(ImageShape{2, 3, 3}, 0.0);
  const Matrix<Scalar> img = nonzero_input<Scalar>(18, 2, 5);
  channels.forward(img, y, Context{Mode::train, nullptr});
  CHECK(y == img);
}

TEST_CASE("BinaryDropout: the dropped fraction is p within 5 binomial standard deviations", "[layer][binary_dropout]") {
  for (double p : {0.2, 0.5, 0.9}) {
    BinaryDropout<float> drop(100, p);
    const Matrix<float> x = nonzero_input<float>(100, 2000, 6);
    Matrix<float> y;
    Rng rng(7);
    drop.forward(x, y, Context::train(rng));
    const double n = double(y.size());
    const double dropped = double((y.array() == 0.0f).count());
    INFO("p = " << p << ", dropped " << dropped << " of " << n);
    CHECK(std::abs(dropped / n - p) < 5 * std::sqrt(p * (1 - p) / n));
    // the mask's zeros are the same count
    CHECK(double((drop.mask().array() == 0.0f).count()) == dropped);
  }
  // channel gate: each (example, channel) is one draw, all of its values dropped together
  const double p = 0.3;
  BinaryDropout<double> drop(ImageShape{8, 3, 2}, p);
  const Matrix<double> x = nonzero_input<double>(48, 5000, 8);
  Matrix<double> y;
  Rng rng(9);
  drop.forward(x, y, Context::train(rng));
  Index dropped = 0;
  for (Index j = 0; j < x.cols(); ++j) {
    for (Index c = 0; c < 8; ++c) {
      const auto values = y.col(j).segment(c * 6, 6).array();
      const Index zeros = (values == 0.0).count();
      REQUIRE((zeros == 0 || zeros == 6));
      dropped += zeros == 6;
    }
  }
  const double n = 8.0 * 5000;
  CHECK(std::abs(double(dropped) / n - p) < 5 * std::sqrt(p * (1 - p) / n));
}

TEST_CASE("BinaryDropout: the mean of y is x under inverted scaling", "[layer][binary_dropout]") {
  const double p = 0.4;
  const Index units = 10, draws = 40000;
  BinaryDropout<double> drop(units, p);
  // one column repeated: every column is an independent draw for the same x
  Vector<double> x0(units);
  for (Index i = 0; i < units; ++i) x0(i) = 0.5 + 0.3 * double(i) - (i % 2 ? 2.2 : 0.0);
  const Matrix<double> x = x0.replicate(1, draws);
  Matrix<double> y;
  Rng rng(10);
  drop.forward(x, y, Context::train(rng));
  const Vector<double> mean = y.rowwise().mean();
  for (Index i = 0; i < units; ++i) {
    // y = x m / (1 - p): variance x^2 p / (1 - p)
    const double se = std::abs(x0(i)) * std::sqrt(p / (1 - p) / double(draws));
    INFO("unit " << i << ": mean " << mean(i) << ", x " << x0(i) << ", se " << se);
    CHECK(std::abs(mean(i) - x0(i)) < 5 * se);
  }
  // Without the scaling the mean would be (1 - p) x: far outside the tolerance.
  const double se0 = std::abs(x0(0)) * std::sqrt(p / (1 - p) / double(draws));
  CHECK(std::abs((1 - p) * x0(0) - x0(0)) > 20 * se0);
}

TEST_CASE("BinaryDropout: backward is mask * scale * dy, exactly", "[layer][binary_dropout]") {
  const double p = 0.35;
  const double scale = 1.0 / (1.0 - p);
  {
    BinaryDropout<double> drop(7, p);
    const Matrix<double> x = nonzero_input<double>(7, 11, 11);
    const Matrix<double> dy = nonzero_input<double>(7, 11, 12);
    Matrix<double> y, dx = Matrix<double>::Constant(7, 11, 99.0);
    Rng rng(13);
    drop.forward(x, y, Context::train(rng));
    drop.backward(x, dy, &dx);
    for (Index j = 0; j < x.cols(); ++j) {
      for (Index i = 0; i < x.rows(); ++i) {
        const double kept = y(i, j) != 0.0 ? 1.0 : 0.0;  // x > 0, so y == 0 iff dropped
        CHECK(dx(i, j) == kept * scale * dy(i, j));
        CHECK(dx(i, j) == drop.mask()(i, j) * dy(i, j));
      }
    }
    drop.backward(x, dy, nullptr);  // dx may be skipped
  }
  {
    BinaryDropout<float> drop(ImageShape{3, 2, 4}, p);  // 3 channels of 8 values
    const Matrix<float> x = nonzero_input<float>(24, 6, 14);
    const Matrix<float> dy = nonzero_input<float>(24, 6, 15);
    Matrix<float> y, dx;
    Rng rng(16);
    drop.forward(x, y, Context::train(rng));
    drop.backward(x, dy, &dx);
    REQUIRE(drop.mask().rows() == 3);
    REQUIRE(drop.mask().cols() == 6);
    for (Index j = 0; j < x.cols(); ++j) {
      for (Index r = 0; r < x.rows(); ++r) {
        const float m = drop.mask()(r / 8, j);
        CHECK((m == 0.0f || m == float(scale)));
        CHECK(dx(r, j) == m * dy(r, j));
        CHECK(y(r, j) == m * x(r, j));
      }
    }
  }
}

TEST_CASE("BinaryDropout: input gradients match finite differences (dense and channels)",
          "[layer][binary_dropout][gradcheck]") {
  Rng rng(17);
  BinaryDropout<double> dense(6, 0.3);
  Matrix<double> x(6, 5);
  rng.normal(x);
  const auto r1 = test::check_input_gradient(dense, x, 18);
  INFO(r1.what << ": " << r1.error);
  CHECK(r1.error < 1e-6);
  BinaryDropout<double> channels(ImageShape{3, 2, 2}, 0.5);
  Matrix<double> img(12, 4);
  rng.normal(img);
  const auto r2 = test::check_input_gradient(channels, img, 19);
  INFO(r2.what << ": " << r2.error);
  CHECK(r2.error < 1e-6);
  CHECK(test::check_parameter_gradients(dense, x, 18).error == 0);  // no parameters
}

TEST_CASE("BinaryDropout: p outside 0 <= p < 1 throws with a message naming p", "[layer][binary_dropout]") {
  for (double bad : {-0.1, 1.0, 1.5, std::nan("")}) {
    INFO("p = " << bad);
    CHECK_THROWS_AS(BinaryDropout<float>(4, bad), InvalidArgument);
    CHECK_THROWS_WITH(BinaryDropout<float>(4, bad), Catch::Contains("drop probability p") && Catch::Contains("[0, 1)"));
    CHECK_THROWS_AS(BinaryDropout<float>(ImageShape{2, 2, 2}, bad), InvalidArgument);
  }
  CHECK_THROWS_WITH(BinaryDropout<float>(4, 1.0), Catch::Contains("got 1.0"));
  BinaryDropout<float> drop(4, 0.5);
  CHECK_THROWS_AS(drop.set_p(2.0), InvalidArgument);
  CHECK(drop.p() == 0.5);
  drop.set_p(0.1);
  CHECK(drop.p() == 0.1);
  CHECK_THROWS_AS(BinaryDropout<float>(0, 0.5), InvalidArgument);
  CHECK_THROWS_AS(BinaryDropout<float>(ImageShape{0, 2, 2}, 0.5), InvalidArgument);
}

TEST_CASE("BinaryDropout: shape errors and a missing generator are reported", "[layer][binary_dropout]") {
  BinaryDropout<float> drop(4, 0.5);
  Matrix<float> bad(5, 2), y, dx;
  CHECK_THROWS_AS(drop.forward(bad, y, Context::eval()), ShapeError);
  Matrix<float> x = Matrix<float>::Ones(4, 3);
  CHECK_THROWS_WITH(drop.forward(x, y, Context{Mode::train, nullptr}),
                    Catch::Contains("BinaryDropout") && Catch::Contains("Rng"));
  Rng rng(1);
  drop.forward(x, y, Context::train(rng));
  Matrix<float> wrong_dy(4, 2);
  CHECK_THROWS_AS(drop.backward(x, wrong_dy, &dx), ShapeError);
  Matrix<float> other = Matrix<float>::Ones(4, 5), dy5 = Matrix<float>::Ones(4, 5);
  CHECK_THROWS_AS(drop.backward(other, dy5, &dx), ShapeError);  // the cached mask is for 3 columns
}

TEST_CASE("BinaryDropout: evaluation is deterministic, training repeats with the seed", "[layer][binary_dropout]") {
  BinaryDropout<float> drop(ImageShape{4, 3, 3}, 0.5);
  const Matrix<float> x = nonzero_input<float>(36, 8, 20);
  Matrix<float> a, b;
  drop.forward(x, a, Context::eval());
  drop.forward(x, b, Context::eval());
  CHECK(a == b);
  Rng r1(21), r2(21), r3(22);
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

// The course's least-squares exercise. For y ~ X w with inverted dropout of keep probability q on the inputs,
//   E_m || y - (m o X / q) w ||^2 = || y - X w ||^2 + ((1 - q) / q) sum_j ||X_j||^2 w_j^2,
// minimised by w* = (X^T X + ((1 - q) / q) diag(X^T X))^{-1} X^T y. SGD on the dropout loss (fresh masks every step)
// follows unbiased gradients of that expected loss, so its averaged iterates converge to w*, not to OLS.
TEST_CASE("BinaryDropout: SGD with dropout on the inputs of least squares converges to the ridge-like w*",
          "[layer][binary_dropout][regularisation]") {
  const Index n = 200, d = 5;
  const double p = 0.5, q = 1 - p;  // drop rate p, keep probability q
  Rng rng(23);
  // design with features of different scales (observations are columns here: X^T is d x n)
  Matrix<double> xt(d, n);
  rng.normal(xt);
  for (Index j = 0; j < d; ++j) xt.row(j) *= 0.5 + 0.4 * double(j);
  Vector<double> w_true(d);
  w_true << 1.5, -2.0, 0.7, 1.0, -0.5;
  Matrix<double> noise(1, n);
  rng.normal(noise);
  const Matrix<double> y = w_true.transpose() * xt + 0.3 * noise;  // 1 x n

  const Matrix<double> xtx = xt * xt.transpose();
  const Vector<double> xty = xt * y.transpose();
  const Vector<double> w_ols = xtx.ldlt().solve(xty);
  Matrix<double> reg = xtx;
  reg.diagonal() += ((1 - q) / q) * xtx.diagonal();
  const Vector<double> w_star = reg.ldlt().solve(xty);

  BinaryDropout<double> drop(d, p);
  Linear<double> lin(d, 1, rng, LinearOptions{}.with_bias(false).with_init(Init::zeros()));
  const std::int64_t steps = 20000;
  Sgd<double> sgd({ParamGroup<double>{"w", lin.parameters(), 0.05, 0.0, LrSchedule::linear_decay(steps, 0.5, 0.02)}});
  Matrix<double> h, pred, dpred, dh;
  Vector<double> w_avg = Vector<double>::Zero(d);
  Index averaged = 0;
  for (std::int64_t t = 0; t < steps; ++t) {
    sgd.zero_grad();
    drop.forward(xt, h, Context::train(rng));
    lin.forward(h, pred, Context::train(rng));
    dpred = (pred - y) / double(n);  // loss = 0.5 * mean squared error
    lin.backward(h, dpred, &dh);
    drop.backward(xt, dh, nullptr);
    sgd.step();
    if (t >= steps / 2) {  // Polyak averaging over the second half
      w_avg += lin.weight().value.row(0).transpose();
      ++averaged;
    }
  }
  w_avg /= double(averaged);
  const double to_star = (w_avg - w_star).norm();
  const double star_to_ols = (w_star - w_ols).norm();
  INFO("w_avg " << w_avg.transpose() << "\nw*    " << w_star.transpose() << "\nw_ols " << w_ols.transpose());
  INFO("|w_avg - w*| = " << to_star << ", |w* - w_ols| = " << star_to_ols);
  REQUIRE(star_to_ols > 0.5);  // the exercise is only a test if the two solutions are far apart
  CHECK(to_star < 0.05 * star_to_ols);
  CHECK((w_avg - w_ols).norm() > 0.9 * star_to_ols);
}
