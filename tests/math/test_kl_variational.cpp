// Kingma et al. 2015 KL approximation: anchors evaluated in double precision, derivative against finite differences,
// the cap, and the block functions against the scalar ones.
#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/math/kl_variational.hpp"

using namespace bayesdrop;

TEST_CASE("Kingma KL: -KL + const matches its values in double precision", "[math][kl_variational]") {
  // 0.5 log alpha + c1 alpha + c2 alpha^2 + c3 alpha^3 at alpha = 0.1, 0.5, 1.0
  CHECK(kingma_neg_kl(std::log(0.1)) == Approx(-1.04958).margin(1e-4));
  CHECK(kingma_neg_kl(std::log(0.5)) == Approx(-0.06807).margin(1e-4));
  CHECK(kingma_neg_kl(std::log(1.0)) == Approx(0.24571).margin(1e-4));
  // KL is its negative (constant 0, as PyTorch re-implementations)
  CHECK(kingma_kl(std::log(0.1)) == Approx(1.04958).margin(1e-4));
  CHECK(kingma_kl(0.0) == Approx(-0.24571).margin(1e-4));
  // float agrees
  CHECK(kingma_neg_kl(std::log(0.5f)) == Approx(-0.06807).margin(1e-4));
}

TEST_CASE("Kingma KL: the constants are those of the paper", "[math][kl_variational]") {
  CHECK(kKingmaC1 == 1.16145124);
  CHECK(kKingmaC2 == -1.50204118);
  CHECK(kKingmaC3 == 0.58629921);
  CHECK(kKingmaLogAlphaMax == 0.0);
}

TEST_CASE("Kingma KL: the derivative with respect to log alpha matches central differences", "[math][kl_variational]") {
  for (double la : {-6.0, -2.3, -1.0, -0.4, -0.01}) {
    const double h = 1e-5;
    const double numeric = (kingma_kl(la + h) - kingma_kl(la - h)) / (2 * h);
    INFO("log alpha " << la);
    CHECK(kingma_kl_derivative(la) == Approx(numeric).epsilon(1e-8));
    CHECK(kingma_kl_capped_derivative(la) == kingma_kl_derivative(la));
  }
  // The KL decreases in alpha on (0, 1]: the regulariser always pushes alpha up towards the cap.
  for (double la = -8; la <= 0; la += 0.25) CHECK(kingma_kl_derivative(la) < 0);
}

TEST_CASE("Kingma KL: the cap clips the value and zeroes the gradient above log alpha = 0", "[math][kl_variational]") {
  CHECK(kingma_kl_capped(0.7) == kingma_kl(0.0));
  CHECK(kingma_kl_capped(-0.7) == kingma_kl(-0.7));
  CHECK(kingma_kl_capped_derivative(0.7) == 0.0);
  CHECK(kingma_kl_capped_derivative(1e-12) == 0.0);
  // inclusive at the bound, as PyTorch's clamp backward
  CHECK(kingma_kl_capped_derivative(0.0) == kingma_kl_derivative(0.0));
  CHECK(kingma_kl_capped_derivative(0.0) != 0.0);
}

TEMPLATE_TEST_CASE("Kingma KL: block sum and backward equal the scalar functions", "[math][kl_variational]", float,
                   double) {
  using Scalar = TestType;
  Rng rng(3);
  Matrix<Scalar> la(37, 23);  // 851 entries: several blocks and a partial one
  rng.normal(la);
  la.array() = Scalar(2) * la.array() - Scalar(1);  // about half below -1, some above the cap
  double expected = 0;
  for (Index i = 0; i < la.size(); ++i) expected += double(kingma_kl_capped(la.data()[i]));
  const double tol = std::is_same<Scalar, float>::value ? 1e-5 : 1e-12;
  CHECK(kingma_kl_capped_sum(la) == Approx(expected).epsilon(tol));

  Matrix<Scalar> grad = Matrix<Scalar>::Constant(la.rows(), la.cols(), Scalar(0.25));
  const Scalar coeff = Scalar(-1.5);
  kingma_kl_capped_backward(la, coeff, grad);
  Index above = 0;
  for (Index i = 0; i < la.size(); ++i) {
    const Scalar want = Scalar(0.25) + coeff * kingma_kl_capped_derivative(la.data()[i]);
    CHECK(grad.data()[i] == Approx(want).epsilon(tol));
    if (la.data()[i] > 0) {
      CHECK(grad.data()[i] == Scalar(0.25));  // nothing added above the cap
      ++above;
    }
  }
  CHECK(above > 0);

  Vector<Scalar> v(3);
  v << Scalar(std::log(0.1)), Scalar(std::log(0.5)), Scalar(0);
  CHECK(kingma_kl_capped_sum(v) == Approx(1.04958 + 0.06807 - 0.24571).margin(3e-4));
}
