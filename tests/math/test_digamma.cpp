// Digamma, trigamma, the reference code's approximate digamma, and harmonic numbers (math/digamma.hpp).
// Reference values: Abramowitz & Stegun 6.3.2-6.3.4 and 6.4.2-6.4.4 (psi(1) = -gamma, psi(1/2) = -gamma - 2 log 2,
// psi(n) = -gamma + H(n-1), psi'(1) = pi^2/6, psi'(1/2) = pi^2/2); other values computed with mpmath at 30 digits.
#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/math/digamma.hpp"

using namespace bayesdrop;

namespace {
constexpr double kPi = 3.14159265358979323846;
}

TEST_CASE("digamma matches known values to 1e-10", "[math][digamma]") {
  CHECK(digamma(1.0) == Approx(-0.5772156649015329).margin(1e-12));
  CHECK(std::abs(digamma(1.0) + kEulerMascheroni) < 1e-14);
  CHECK(std::abs(digamma(0.5) - (-1.9635100260214235)) < 1e-10);
  CHECK(std::abs(digamma(0.5) - (-kEulerMascheroni - 2 * std::log(2.0))) < 1e-13);
  CHECK(std::abs(digamma(10.0) - 2.2517525890667211) < 1e-10);
  // psi(n) = -gamma + 1 + 1/2 + ... + 1/(n-1)
  double h = 0;
  for (int n = 1; n <= 30; ++n) {
    INFO("n = " << n);
    CHECK(std::abs(digamma(double(n)) - (-kEulerMascheroni + h)) < 1e-13 * std::max(1.0, std::abs(h)));
    h += 1.0 / n;
  }
  // mpmath values spanning the recurrence and the series branches
  CHECK(std::abs(digamma(1e-6) - (-1000000.5772140199)) < 1e-8);  // ~ -1/x - gamma + (pi^2/6) x
  CHECK(std::abs(digamma(0.1) - (-10.423754940411076)) < 1e-12);
  CHECK(std::abs(digamma(5.999) - 1.7059363290792257) < 1e-13);
  CHECK(std::abs(digamma(6.0) - 1.7061176684318005) < 1e-13);
  CHECK(std::abs(digamma(9.999) - 2.2516474172057353) < 1e-13);  // last value through the recurrence
  CHECK(std::abs(digamma(10.0) - 2.2517525890667211) < 1e-13);   // first through the series alone
  CHECK(std::abs(digamma(123.456) - 4.8118293238289854) < 1e-12);
  CHECK(std::abs(digamma(1e10) - 23.025850929890456) < 1e-12);
}

TEST_CASE("digamma satisfies the recurrence psi(x + 1) = psi(x) + 1/x across both branches", "[math][digamma]") {
  for (double x = 0.013; x < 40; x *= 1.37) {
    INFO("x = " << x);
    CHECK(std::abs(digamma(x + 1) - digamma(x) - 1 / x) < 1e-13 * (1 + 1 / x));
  }
}

TEST_CASE("digamma returns NaN outside x > 0 and +inf at +inf", "[math][digamma]") {
  CHECK(std::isnan(digamma(0.0)));
  CHECK(std::isnan(digamma(-1.5)));
  CHECK(std::isnan(digamma(std::nan(""))));
  CHECK(std::isnan(trigamma(0.0)));
  CHECK(std::isnan(digamma_approx(-2.0)));
  CHECK(std::isnan(harmonic_number(0.0)));
  CHECK(std::isinf(digamma(std::numeric_limits<double>::infinity())));
  CHECK(trigamma(std::numeric_limits<double>::infinity()) == 0.0);
}

TEST_CASE("trigamma matches known values and is the derivative of digamma", "[math][digamma]") {
  CHECK(std::abs(trigamma(1.0) - kPi * kPi / 6) < 1e-13);
  CHECK(std::abs(trigamma(0.5) - kPi * kPi / 2) < 1e-12);
  CHECK(std::abs(trigamma(10.0) - 0.10516633568168575) < 1e-13);
  CHECK(std::abs(trigamma(0.01) - 10001.621213528313) < 1e-8);
  for (double x = 0.05; x < 50; x *= 1.6) {
    const double h = 1e-5 * x;
    const double fd = (digamma(x + h) - digamma(x - h)) / (2 * h);
    INFO("x = " << x);
    CHECK(std::abs(fd - trigamma(x)) < 1e-7 * trigamma(x));
    CHECK(std::abs(trigamma(x) - trigamma(x + 1) - 1 / (x * x)) < 1e-12 * trigamma(x));
  }
}

TEST_CASE("the approximate digamma has the reference code's anchor and a correct derivative", "[math][digamma]") {
  // approx psi(1) = -0.5765 where the exact value is -0.57722
  CHECK(std::abs(digamma_approx(1.0) - (-0.5765)) < 1e-4);
  CHECK(std::abs(digamma_approx(1.0) - (-0.57653213488210011)) < 1e-14);  // mpmath
  CHECK(std::abs(digamma(1.0) - (-0.57722)) < 1e-5);
  CHECK(digamma(1.0, DigammaKind::approximate) == digamma_approx(1.0));
  CHECK(digamma(1.0, DigammaKind::exact) == digamma(1.0));
  // it approximates psi to 1.2e-3 everywhere, with an error that decays like 0.0113 / x (not faster)
  for (double x = 1e-4; x < 1e6; x *= 1.7) {
    INFO("x = " << x);
    const double err = std::abs(digamma_approx(x) - digamma(x));
    CHECK(err < 1.2e-3);
    if (x > 200) CHECK(err * x == Approx(0.0113).margin(3e-4));
  }
  for (double x = 0.02; x < 100; x *= 1.9) {
    const double h = 1e-5 * x;
    const double fd = (digamma_approx(x + h) - digamma_approx(x - h)) / (2 * h);
    INFO("x = " << x);
    CHECK(std::abs(fd - digamma_approx_derivative(x)) < 1e-7 * digamma_approx_derivative(x));
    CHECK(digamma_derivative(x, DigammaKind::approximate) == digamma_approx_derivative(x));
    CHECK(digamma_derivative(x, DigammaKind::exact) == trigamma(x));
  }
}

TEST_CASE("harmonic numbers H(x) = psi(x + 1) + gamma and their derivatives", "[math][digamma]") {
  CHECK(std::abs(harmonic_number(1.0) - 1.0) < 1e-14);
  CHECK(std::abs(harmonic_number(4.0) - (1 + 0.5 + 1.0 / 3 + 0.25)) < 1e-14);
  CHECK(std::abs(harmonic_number(0.5) - (2 - 2 * std::log(2.0))) < 1e-14);
  // small x: H(x) ~ (pi^2/6) x, no cancellation against 1/x
  CHECK(std::abs(harmonic_number(1e-8) / 1e-8 - kPi * kPi / 6) < 1e-6);
  for (double x : {0.07, 0.6931, 1.0, 3.3, 17.0}) {
    INFO("x = " << x);
    for (auto kind : {DigammaKind::exact, DigammaKind::approximate}) {
      CHECK(std::abs(harmonic_number(x, kind) - (digamma(x, kind) + 1 / x + kEulerMascheroni)) < 1e-12 * (1 + 1 / x));
      const double h = 1e-5 * x;
      const double fd = (harmonic_number(x + h, kind) - harmonic_number(x - h, kind)) / (2 * h);
      CHECK(std::abs(fd - harmonic_number_derivative(x, kind)) < 1e-7 * harmonic_number_derivative(x, kind));
    }
  }
}

TEST_CASE("float digamma and trigamma agree with double", "[math][digamma]") {
  for (double x = 1e-3; x < 1e4; x *= 2.3) {
    INFO("x = " << x);
    const double d = digamma(x), t = trigamma(x);
    CHECK(std::abs(double(digamma(float(x))) - d) < 2e-6 * std::max(1.0, std::abs(d)));
    CHECK(std::abs(double(trigamma(float(x))) - t) < 2e-6 * t);
    CHECK(std::abs(double(digamma_approx(float(x))) - digamma_approx(x)) < 2e-6 * std::max(1.0, std::abs(d)));
  }
}
