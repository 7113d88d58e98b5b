#include <catch2/catch.hpp>

#include "bayesdrop/layers/flatten.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

TEST_CASE("ReLU clips negatives and passes the gradient where x > 0", "[layer][relu]") {
  ReLU<double> relu(3);
  Matrix<double> x(3, 2), y, dx, dy = Matrix<double>::Constant(3, 2, 2.0);
  x << -1, 2, 0, -3, 4, 0.5;
  Rng rng(1);
  relu.forward(x, y, Context::train(rng));  // backward needs a training forward (the same values as evaluation)
  Matrix<double> expected(3, 2);
  expected << 0, 2, 0, 0, 4, 0.5;
  CHECK(y == expected);
  relu.backward(x, dy, &dx);
  Matrix<double> expected_dx(3, 2);
  expected_dx << 0, 2, 0, 0, 2, 2;
  CHECK(dx == expected_dx);
}

TEST_CASE("ReLU input gradient matches finite differences away from the kink", "[layer][relu][gradcheck]") {
  Rng rng(8);
  ReLU<double> relu(6);
  Matrix<double> x(6, 5);
  rng.normal(x);
  x = (x.array() >= 0)
          .select(x.array() + 0.1, x.array() - 0.1)
          .matrix();  // keep |x| > h so that the kink is not crossed
  const auto r = test::check_input_gradient(relu, x, 1);
  INFO(r.what << ": " << r.error);
  CHECK(r.error < 1e-8);
  CHECK_THROWS_AS(ReLU<float>(0), InvalidArgument);
}

TEST_CASE("Flatten passes values and gradients through", "[layer][flatten]") {
  Flatten<double> flat(ImageShape{2, 3, 4});
  CHECK(flat.input_rows() == 24);
  CHECK(flat.output_rows() == 24);
  Rng rng(9);
  Matrix<double> x(24, 3);
  rng.normal(x);
  const auto r = test::check_input_gradient(flat, x, 1);
  CHECK(r.error < 1e-8);
  Matrix<double> y;
  flat.forward(x, y, Context::eval());
  CHECK(y == x);
  CHECK_THROWS_AS(Flatten<float>(ImageShape{0, 28, 28}), InvalidArgument);
  Matrix<double> bad(23, 3);
  CHECK_THROWS_AS(flat.forward(bad, y, Context::eval()), ShapeError);
}

TEST_CASE("ReLU backward refuses an x other than the training forward's batch", "[layer][relu]") {
  ReLU<float> relu(3);
  Rng rng(3);
  Matrix<float> x(3, 2), y, dx;
  rng.normal(x);
  const Matrix<float> dy = Matrix<float>::Ones(3, 2);
  CHECK_THROWS_AS(relu.backward(x, dy, &dx), ShapeError);  // no forward yet
  relu.forward(x, y, Context::train(rng));
  // Four rows for a layer of three: before, the mask of the wrong x was applied to dy without complaint.
  const Matrix<float> tall = Matrix<float>::Ones(4, 2);
  CHECK_THROWS_WITH(relu.backward(tall, dy, &dx), Catch::Contains("ReLU") && Catch::Contains("training forward"));
  relu.backward(x, dy, &dx);
  CHECK(dx == (x.array() > 0).select(dy, 0.0f).matrix());
}
