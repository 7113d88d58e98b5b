#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/losses/softmax_cross_entropy.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

TEST_CASE("softmax cross-entropy equals the hand-computed value", "[loss]") {
  Matrix<double> z(3, 2);
  z << 1, 0, 2, 0, 3, 0;
  Labels y(2);
  y << 2, 0;
  SoftmaxCrossEntropy<double> ce;
  const double loss = ce.forward(z, y);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double expected = ((lse - 3.0) + std::log(3.0)) / 2.0;
  CHECK(loss == Approx(expected).epsilon(1e-14));
  CHECK(ce.probabilities().colwise().sum().isApprox(Matrix<double>::Ones(1, 2)));
  CHECK(ce.correct() == 2);  // column 0 picks class 2; column 1 ties, and ties go to the first class (0)
}

TEMPLATE_TEST_CASE("softmax cross-entropy stays finite for huge logits", "[loss]", float, double) {
  Matrix<TestType> z(2, 2);
  z << TestType(1000), TestType(-1000), TestType(0), TestType(1000);
  Labels y(2);
  y << 1, 0;
  SoftmaxCrossEntropy<TestType> ce;
  const TestType loss = ce.forward(z, y);
  CHECK(std::isfinite(loss));
  CHECK(double(loss) == Approx((1000.0 + 2000.0) / 2.0).epsilon(1e-6));  // -log p = 1000 and 2000
  Matrix<TestType> dz;
  ce.backward(y, dz);
  CHECK(dz.allFinite());
}

TEST_CASE("softmax cross-entropy gradient matches finite differences", "[loss][gradcheck]") {
  Rng rng(3);
  Matrix<double> z(5, 7);
  rng.normal(z);
  z *= 3.0;
  Labels y(7);
  for (Index j = 0; j < 7; ++j) y[j] = Label(rng.uniform_index(5));
  SoftmaxCrossEntropy<double> ce;
  ce.forward(z, y);
  Matrix<double> dz;
  ce.backward(y, dz);
  SoftmaxCrossEntropy<double> probe;
  const auto r = test::check_gradient([&] { return probe.forward(z, y); }, z, dz, "cross-entropy");
  INFO(r.error);
  CHECK(r.error < 1e-8);
}

TEST_CASE("softmax cross-entropy rejects labels and shapes that do not fit", "[loss]") {
  SoftmaxCrossEntropy<float> ce;
  Matrix<float> z = Matrix<float>::Zero(10, 3);
  Labels y(3);
  y << 1, 10, 2;
  CHECK_THROWS_WITH(ce.forward(z, y), Catch::Contains("label 10") && Catch::Contains("0..9"));
  y << 1, -1, 2;
  CHECK_THROWS_AS(ce.forward(z, y), InvalidArgument);
  Labels short_y(2);
  short_y << 0, 1;
  CHECK_THROWS_AS(ce.forward(z, short_y), ShapeError);
}
