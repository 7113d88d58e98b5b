#include <catch2/catch.hpp>

#include "bayesdrop/layers/conv2d.hpp"
#include "bayesdrop/layers/im2col.hpp"
#include "support/direct_conv.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;
using bayesdrop::test::direct_conv;

template class bayesdrop::Conv2d<float>;
template class bayesdrop::Conv2d<double>;
template void bayesdrop::im2col<float>(const Matrix<float>&, const Conv2dGeometry&, Matrix<float>&);
template void bayesdrop::col2im<float>(const Matrix<float>&, const Conv2dGeometry&, Matrix<float>&);

namespace {

struct ConvCase {
  ImageShape in;
  Index out_channels, kh, kw;
};

}  // namespace

TEST_CASE("im2col lays out every patch as documented and col2im is its adjoint", "[layer][conv][im2col]") {
  const Conv2dGeometry g{ImageShape{2, 4, 5}, 3, 2};
  REQUIRE(g.output_height() == 2);
  REQUIRE(g.output_width() == 4);
  REQUIRE(g.positions() == 8);
  REQUIRE(g.patch_size() == 12);
  Rng rng(11);
  Matrix<double> x(g.input.size(), 3), cols;
  rng.normal(x);
  im2col(x, g, cols);
  REQUIRE(cols.rows() == 3 * 8);
  REQUIRE(cols.cols() == 12);
  for (Index b = 0; b < 3; ++b) {
    for (Index i = 0; i < 2; ++i) {
      for (Index j = 0; j < 4; ++j) {
        for (Index c = 0; c < 2; ++c) {
          for (Index di = 0; di < 3; ++di) {
            for (Index dj = 0; dj < 2; ++dj) {
              CHECK(cols(b * 8 + i * 4 + j, (c * 3 + di) * 2 + dj) == x((c * 4 + i + di) * 5 + j + dj, b));
            }
          }
        }
      }
    }
  }
  // <im2col(x), D> = <x, col2im(D)> for any D: col2im is the transpose of the linear map im2col.
  Matrix<double> d(cols.rows(), cols.cols()), dx = Matrix<double>::Constant(7, 7, 3.0);  // dx is overwritten
  rng.normal(d);
  col2im(d, g, dx);
  REQUIRE(dx.rows() == g.input.size());
  REQUIRE(dx.cols() == 3);
  CHECK((cols.array() * d.array()).sum() == Approx((x.array() * dx.array()).sum()).epsilon(1e-12));
  // Each pixel of a 1-channel image appears in as many patches as col2im of ones counts.
  const Conv2dGeometry g1{ImageShape{1, 3, 3}, 2, 2};
  Matrix<double> ones = Matrix<double>::Ones(4, 4), count;
  col2im(ones, g1, count);
  Matrix<double> expected(9, 1);
  expected << 1, 2, 1, 2, 4, 2, 1, 2, 1;
  CHECK(count == expected);
}

TEST_CASE("im2col and col2im reject shapes that are not whole images", "[layer][conv][im2col]") {
  Matrix<float> bad(7, 12), out;
  CHECK_THROWS_AS(col2im(bad, Conv2dGeometry{ImageShape{2, 4, 5}, 3, 2}, out), ShapeError);
  CHECK_THROWS_AS(im2col(bad, Conv2dGeometry{ImageShape{2, 4, 5}, 3, 2}, out), ShapeError);
}

TEST_CASE("Conv2d on a large batch equals Conv2d on each image alone", "[layer][conv]") {
  // 30 images of 100 output positions, in 16 image groups (each with its own gradient sums).
  Rng rng(14);
  Conv2d<double> conv(ImageShape{2, 12, 12}, 3, 3, rng);
  rng.normal(conv.bias().value);
  Matrix<double> x(288, 30), y, dy, dx;
  rng.normal(x);
  conv.forward(x, y, Context::train(rng));
  dy.resize(y.rows(), y.cols());
  rng.normal(dy);
  conv.backward(x, dy, &dx);
  const Matrix<double> dw = conv.weight().grad;
  conv.weight().zero_grad();
  for (Index j = 0; j < 30; ++j) {
    Matrix<double> xj = x.col(j), yj, dyj = dy.col(j), dxj;
    conv.forward(xj, yj, Context::train(rng));
    CHECK((yj - y.col(j)).cwiseAbs().maxCoeff() < 1e-12);
    conv.backward(xj, dyj, &dxj);
    CHECK((dxj - dx.col(j)).cwiseAbs().maxCoeff() < 1e-12);
  }
  CHECK((conv.weight().grad - dw).cwiseAbs().maxCoeff() < 1e-10);
}

TEMPLATE_TEST_CASE("Conv2d equals a direct nested-loop convolution", "[layer][conv]", float, double) {
  const ConvCase cases[] = {
      {ImageShape{1, 5, 7}, 2, 3, 3}, {ImageShape{3, 6, 4}, 4, 2, 3}, {ImageShape{2, 4, 9}, 1, 4, 1},
      {ImageShape{4, 3, 3}, 3, 3, 3}, {ImageShape{1, 8, 6}, 5, 1, 1},
  };
  Rng rng(21);
  for (const auto& cs : cases) {
    Conv2d<TestType> conv(cs.in, cs.out_channels, cs.kh, cs.kw, rng);
    rng.normal(conv.bias().value);
    REQUIRE(conv.input_rows() == cs.in.size());
    REQUIRE(conv.output_shape().channels == cs.out_channels);
    REQUIRE(conv.output_shape().height == cs.in.height - cs.kh + 1);
    REQUIRE(conv.output_shape().width == cs.in.width - cs.kw + 1);
    REQUIRE(conv.output_rows() == conv.output_shape().size());
    Matrix<TestType> x(cs.in.size(), 3), y;
    rng.normal(x);
    conv.forward(x, y, Context::eval());
    const Matrix<TestType> expected = direct_conv(x, cs.in, conv.weight().value, conv.bias().value, cs.kh, cs.kw);
    INFO("input " << cs.in.channels << "x" << cs.in.height << "x" << cs.in.width << ", kernel " << cs.kh << "x" << cs.kw
                  << ", " << cs.out_channels << " filters");
    REQUIRE(y.rows() == expected.rows());
    REQUIRE(y.cols() == expected.cols());
    const double tol = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;
    CHECK((y - expected).cwiseAbs().maxCoeff() < tol * (1 + expected.cwiseAbs().maxCoeff()));
    // Training mode computes the same thing.
    Matrix<TestType> y_train;
    conv.forward(x, y_train, Context::train(rng));
    CHECK(y_train == y);
  }
}

TEST_CASE("Conv2d gradients match finite differences", "[layer][conv][gradcheck]") {
  const ConvCase cases[] = {
      {ImageShape{2, 5, 6}, 3, 3, 2}, {ImageShape{1, 4, 4}, 2, 2, 2}, {ImageShape{3, 3, 5}, 2, 3, 3}};
  Rng rng(22);
  for (const auto& cs : cases) {
    Conv2d<double> conv(cs.in, cs.out_channels, cs.kh, cs.kw, rng);
    rng.normal(conv.bias().value);
    Matrix<double> x(cs.in.size(), 2);
    rng.normal(x);
    const auto in = test::check_input_gradient(conv, x, 3);
    INFO(in.what << ": " << in.error);
    CHECK(in.error < 1e-7);
    const auto params = test::check_parameter_gradients(conv, x, 3);
    INFO(params.what << ": " << params.error);
    CHECK(params.error < 1e-7);
  }
}

TEST_CASE("Conv2d backward accumulates parameter gradients, overwrites dx and may skip it", "[layer][conv]") {
  Rng rng(23);
  Conv2d<double> conv(ImageShape{2, 5, 5}, 3, 3, rng);
  Matrix<double> x(50, 4), y, dy, dx = Matrix<double>::Constant(3, 3, 9.0);
  rng.normal(x);
  conv.forward(x, y, Context::train(rng));
  dy.resize(y.rows(), y.cols());
  rng.normal(dy);
  conv.backward(x, dy, &dx);
  const Matrix<double> w_once = conv.weight().grad, b_once = conv.bias().grad, dx_once = dx;
  REQUIRE(dx.rows() == 50);
  REQUIRE(dx.cols() == 4);
  conv.backward(x, dy, &dx);
  CHECK(conv.weight().grad.isApprox(2 * w_once));
  CHECK(conv.bias().grad.isApprox(2 * b_once));
  CHECK(dx == dx_once);
  conv.backward(x, dy, nullptr);
  CHECK(conv.weight().grad.isApprox(3 * w_once));
  // The bias gradient is the sum of dy over every position and image of its channel.
  for (Index o = 0; o < 3; ++o) CHECK(b_once(o, 0) == Approx(dy.middleRows(o * 9, 9).sum()));
}

TEST_CASE("Conv2d rejects bad sizes and shapes with clear errors", "[layer][conv]") {
  Rng rng(24);
  CHECK_THROWS_AS(Conv2d<float>(ImageShape{0, 5, 5}, 2, 3, rng), InvalidArgument);
  CHECK_THROWS_AS(Conv2d<float>(ImageShape{1, 5, 5}, 0, 3, rng), InvalidArgument);
  CHECK_THROWS_AS(Conv2d<float>(ImageShape{1, 5, 5}, 2, 0, rng), InvalidArgument);
  CHECK_THROWS_WITH(Conv2d<float>(ImageShape{1, 5, 4}, 2, 3, 5, rng),
                    Catch::Contains("Conv2d") && Catch::Contains("3x5") && Catch::Contains("fit inside"));
  Conv2d<float> conv(ImageShape{1, 5, 5}, 2, 3, rng);
  Matrix<float> x(24, 2), y;
  CHECK_THROWS_WITH(conv.forward(x, y, Context::eval()), Catch::Contains("Conv2d") && Catch::Contains("24 rows"));
  Matrix<float> good = Matrix<float>::Zero(25, 2), dy = Matrix<float>::Zero(18, 3), dx;
  conv.forward(good, y, Context::eval());
  CHECK_THROWS_AS(conv.backward(good, dy, &dx), ShapeError);
}

TEMPLATE_TEST_CASE("Conv2d options, initialisation and sparsity", "[layer][conv]", float, double) {
  Rng rng(25);
  Conv2d<TestType> conv(ImageShape{3, 28, 28}, 20, 5, rng);
  CHECK(conv.parameters().size() == 2);
  CHECK(conv.weight().value.rows() == 20);
  CHECK(conv.weight().value.cols() == 75);
  CHECK(conv.bias().value.isZero());
  // Glorot uniform with fan_in = 3*5*5 and fan_out = 20*5*5.
  const double limit = std::sqrt(6.0 / (75.0 + 500.0));
  CHECK(double(conv.weight().value.cwiseAbs().maxCoeff()) <= limit);
  CHECK(double(conv.weight().value.cwiseAbs().maxCoeff()) > 0.9 * limit);
  const SparsityStats s = conv.sparsity();
  CHECK(s.units_in == 3);
  CHECK(s.active_in == 3);
  CHECK(s.weights == 1500);
  CHECK(s.active_weights == 1500);
  Conv2d<TestType> nobias(ImageShape{1, 4, 4}, 2, 2, rng, Conv2dOptions{}.with_bias(false).with_init(Init::zeros()));
  CHECK(nobias.parameters().size() == 1);
  CHECK_FALSE(nobias.has_bias());
  Matrix<TestType> x = Matrix<TestType>::Ones(16, 2), y;
  nobias.forward(x, y, Context::eval());
  CHECK(y.isZero());
  CHECK(conv.name() == "Conv2d");
}

TEST_CASE("Conv2d gives the same outputs and gradients for any thread count", "[layer][conv]") {
  // The images are split in fixed groups whose gradient sums are added in group order, whatever thread runs them.
  const int saved = Eigen::nbThreads();
  Matrix<double> y[2], dx[2], dw[2];
  for (int t = 0; t < 2; ++t) {
    Eigen::setNbThreads(t + 1);
    Rng rng(15);
    Conv2d<double> conv(ImageShape{3, 10, 9}, 4, 3, rng);
    Matrix<double> x(conv.input_rows(), 37), dy(conv.output_rows(), 37);
    rng.normal(x);
    rng.normal(dy);
    conv.forward(x, y[t], Context::train(rng));
    conv.backward(x, dy, &dx[t]);
    dw[t] = conv.weight().grad;
  }
  Eigen::setNbThreads(saved);
  CHECK(y[0] == y[1]);
  CHECK(dx[0] == dx[1]);
  CHECK(dw[0] == dw[1]);
}
