#include <catch2/catch.hpp>
#include <limits>

#include "bayesdrop/layers/max_pool2d.hpp"
#include "support/direct_conv.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

template class bayesdrop::MaxPool2d<float>;
template class bayesdrop::MaxPool2d<double>;

namespace {

struct PoolCase {
  ImageShape in;
  Index k;
};

}  // namespace

TEMPLATE_TEST_CASE("MaxPool2d equals direct nested-loop pooling", "[layer][pool]", float, double) {
  const PoolCase cases[] = {{ImageShape{1, 4, 6}, 2},    {ImageShape{3, 5, 7}, 2}, {ImageShape{2, 9, 6}, 3},
                            {ImageShape{20, 24, 24}, 2}, {ImageShape{2, 3, 8}, 3}, {ImageShape{4, 5, 5}, 1}};
  Rng rng(31);
  for (const auto& cs : cases) {
    MaxPool2d<TestType> pool(cs.in, cs.k);
    const ImageShape out = pool.output_shape();
    CHECK(out.channels == cs.in.channels);
    CHECK(out.height == cs.in.height / cs.k);
    CHECK(out.width == cs.in.width / cs.k);
    Matrix<TestType> x(cs.in.size(), 3), y;
    rng.normal(x);
    pool.forward(x, y, Context::eval());
    INFO("input " << cs.in.channels << "x" << cs.in.height << "x" << cs.in.width << ", k " << cs.k);
    CHECK(y == bayesdrop::test::direct_pool(x, cs.in, MaxPool2dOptions{}.with_kernel(cs.k)));
    Matrix<TestType> y_train;
    pool.forward(x, y_train, Context::train(rng));
    CHECK(y_train == y);
  }
}

TEST_CASE("MaxPool2d input gradient matches finite differences (inputs without ties)", "[layer][pool][gradcheck]") {
  const PoolCase cases[] = {{ImageShape{2, 4, 6}, 2}, {ImageShape{3, 7, 5}, 3}, {ImageShape{1, 5, 5}, 2}};
  Rng rng(32);
  for (const auto& cs : cases) {
    MaxPool2d<double> pool(cs.in, cs.k);
    Matrix<double> x(cs.in.size(), 3);
    rng.normal(x);  // continuous values: no ties, so max is differentiable at x
    const auto in = test::check_input_gradient(pool, x, 4);
    INFO(in.what << ": " << in.error);
    CHECK(in.error < 1e-8);
    CHECK(pool.parameters().empty());
  }
}

TEST_CASE("MaxPool2d backward scatters dy to the argmax and overwrites dx", "[layer][pool]") {
  MaxPool2d<double> pool(ImageShape{1, 4, 5}, 2);  // output 1x2x2; the last column of pixels is ignored
  Matrix<double> x(20, 1);
  x << 1, 9, 3, 4, 99,  //
      5, 2, 8, 7, 99,   //
      0, 0, 6, 1, 99,   //
      3, 4, 2, 2, 99;
  Matrix<double> y, dx = Matrix<double>::Constant(20, 1, -5.0);
  Rng rng(1);
  pool.forward(x, y, Context::train(rng));
  Matrix<double> expected_y(4, 1);
  expected_y << 9, 8, 4, 6;
  CHECK(y == expected_y);
  Matrix<double> dy(4, 1);
  dy << 10, 20, 30, 40;
  pool.backward(x, dy, &dx);
  Matrix<double> expected_dx = Matrix<double>::Zero(20, 1);
  expected_dx(1) = 10;   // 9 at (0, 1)
  expected_dx(7) = 20;   // 8 at (1, 2)
  expected_dx(16) = 30;  // 4 at (3, 1)
  expected_dx(12) = 40;  // 6 at (2, 2)
  CHECK(dx == expected_dx);
  CHECK(pool.argmax()(0, 0) == 1);
  // Ties go to the first maximum in row-major window order.
  Matrix<double> flat = Matrix<double>::Ones(20, 1);
  pool.forward(flat, y, Context::train(rng));
  CHECK(pool.argmax()(0, 0) == 0);
  CHECK(pool.argmax()(3, 0) == 12);
  // dx may be skipped.
  pool.backward(flat, dy, nullptr);
}

TEST_CASE("MaxPool2d rejects bad sizes and shapes with clear errors", "[layer][pool]") {
  CHECK_THROWS_AS(MaxPool2d<float>(ImageShape{0, 4, 4}), InvalidArgument);
  CHECK_THROWS_AS(MaxPool2d<float>(ImageShape{1, 4, 4}, 0), InvalidArgument);
  CHECK_THROWS_WITH(MaxPool2d<float>(ImageShape{1, 4, 2}, 3),
                    Catch::Contains("MaxPool2d") && Catch::Contains("fit inside"));
  MaxPool2d<float> pool(ImageShape{2, 4, 4});
  CHECK(pool.kernel() == 2);
  CHECK(pool.output_rows() == 8);
  CHECK(pool.name() == "MaxPool2d");
  Matrix<float> x(31, 2), y;
  CHECK_THROWS_WITH(pool.forward(x, y, Context::eval()), Catch::Contains("MaxPool2d") && Catch::Contains("31 rows"));
  Matrix<float> good = Matrix<float>::Zero(32, 2), dy = Matrix<float>::Zero(8, 3), dx;
  Rng rng(2);
  pool.forward(good, y, Context::train(rng));
  CHECK_THROWS_AS(pool.backward(good, dy, &dx), ShapeError);  // dy has 3 columns, the batch 2
  Matrix<float> other = Matrix<float>::Zero(32, 5), dy5 = Matrix<float>::Zero(8, 5);
  CHECK_THROWS_AS(pool.backward(other, dy5, &dx), ShapeError);  // no forward on a batch of 5
}
