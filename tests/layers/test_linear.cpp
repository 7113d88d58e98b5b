#include <catch2/catch.hpp>

#include "bayesdrop/layers/linear.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

TEST_CASE("Linear computes W x + b for every column", "[layer][linear]") {
  Rng rng(1);
  Linear<double> lin(3, 2, rng);
  lin.weight().value << 1, 2, 3, -1, 0, 4;
  lin.bias().value << 0.5, -2;
  Matrix<double> x(3, 2), y;
  x << 1, 0, 1, 1, 2, -1;
  lin.forward(x, y, Context::eval());
  Matrix<double> expected(2, 2);
  expected << 1 + 2 + 6 + 0.5, 0 + 2 - 3 + 0.5, -1 + 0 + 8 - 2, 0 + 0 - 4 - 2;
  CHECK(y.isApprox(expected));
}

TEST_CASE("Linear gradients match finite differences", "[layer][linear][gradcheck]") {
  Rng rng(2);
  Linear<double> lin(7, 5, rng);
  rng.normal(lin.bias().value);
  Matrix<double> x(7, 4);
  rng.normal(x);
  const auto in = test::check_input_gradient(lin, x, 3);
  INFO(in.what << ": " << in.error);
  CHECK(in.error < 1e-7);
  const auto params = test::check_parameter_gradients(lin, x, 3);
  INFO(params.what << ": " << params.error);
  CHECK(params.error < 1e-7);
}

TEST_CASE("Linear backward accumulates parameter gradients and overwrites dx", "[layer][linear]") {
  Rng rng(4);
  Linear<double> lin(4, 3, rng);
  Matrix<double> x(4, 6), y, dy(3, 6), dx = Matrix<double>::Constant(4, 6, 99.0);
  rng.normal(x);
  rng.normal(dy);
  lin.forward(x, y, Context::train(rng));
  lin.backward(x, dy, &dx);
  const Matrix<double> once = lin.weight().grad;
  const Matrix<double> dx_once = dx;
  lin.backward(x, dy, &dx);
  CHECK(lin.weight().grad.isApprox(2 * once));
  CHECK(dx.isApprox(dx_once));
  CHECK(dx.isApprox(lin.weight().value.transpose() * dy));
  // dx may be skipped.
  lin.backward(x, dy, nullptr);
  CHECK(lin.weight().grad.isApprox(3 * once));
}

TEST_CASE("Linear rejects bad sizes and shapes with clear errors", "[layer][linear]") {
  Rng rng(5);
  CHECK_THROWS_AS(Linear<float>(0, 3, rng), InvalidArgument);
  CHECK_THROWS_AS(Linear<float>(3, -1, rng), InvalidArgument);
  Linear<float> lin(4, 2, rng);
  Matrix<float> x(5, 3), y;
  CHECK_THROWS_WITH(lin.forward(x, y, Context::eval()),
                    Catch::Contains("Linear") && Catch::Contains("5 rows") && Catch::Contains("expects 4"));
  Matrix<float> good(4, 3), dy(2, 4), dx;
  lin.forward(good, y, Context::eval());
  CHECK_THROWS_AS(lin.backward(good, dy, &dx), ShapeError);
}

TEST_CASE("Linear without bias has one parameter and reports its weights as sparsity", "[layer][linear]") {
  Rng rng(6);
  Linear<float> lin(10, 4, rng, LinearOptions{}.with_bias(false).with_init(Init::he_normal()));
  CHECK(lin.parameters().size() == 1);
  const SparsityStats s = lin.sparsity();
  CHECK(s.units_in == 10);
  CHECK(s.active_in == 10);
  CHECK(s.weights == 40);
  CHECK(s.active_weights == 40);
  CHECK(s.compression() == 1.0);
}

TEST_CASE("float and double instantiate every member", "[layer][linear]") {
  Rng rng(7);
  Linear<float> f(3, 2, rng);
  Linear<double> d(3, 2, rng);
  CHECK(f.name() == "Linear");
  CHECK(d.output_rows() == 2);
}

TEST_CASE("Linear backward refuses an x other than the training forward's batch", "[layer][linear]") {
  Rng rng(7);
  Linear<float> lin(4, 2, rng);
  Matrix<float> x(4, 3), y, dx;
  rng.uniform(x);
  const Matrix<float> dy = Matrix<float>::Ones(2, 3);
  CHECK_THROWS_WITH(lin.backward(x, dy, &dx), Catch::Contains("Linear") && Catch::Contains("no forward yet"));
  lin.forward(x, y, Context::train(rng));
  const Matrix<float> wide(5, 3);  // wrong number of rows: dW = dy x^T would silently come out 2x5
  CHECK_THROWS_WITH(lin.backward(wide, dy, &dx), Catch::Contains("Linear") && Catch::Contains("training forward"));
  CHECK_THROWS_AS(lin.backward(Matrix<float>(4, 5), Matrix<float>::Ones(2, 5), &dx), ShapeError);  // other batch
  lin.forward(x, y, Context::eval());
  CHECK_THROWS_WITH(lin.backward(x, dy, &dx), Catch::Contains("evaluation mode"));
  lin.forward(x, y, Context::train(rng));
  lin.backward(x, dy, &dx);
  CHECK(dx.rows() == 4);
}
