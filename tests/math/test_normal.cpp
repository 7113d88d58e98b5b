// The standard normal in log space against high-precision values, in every regime of log(Phi(b) - Phi(a)).
// Reference values: mpmath 1.3.0 at mp.dps = 60 (log Phi, inverse Mills ratio) and 80 (log(Phi(b) - Phi(a)) and its
// derivatives -phi(a)/Z, phi(b)/Z), evaluated at the exact doubles below; Z as ncdf(b) - ncdf(a) in the lower tail,
// ncdf(-a) - ncdf(-b) in the upper tail and log1p(-(ncdf(a) + ncdf(-b))) around zero.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "bayesdrop/math/normal.hpp"

using namespace bayesdrop;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

/// |got - want| <= rel |want| + abs
bool close(double got, double want, double rel, double abs = 0.0) {
  if (got == want) return true;  // also +-inf
  return std::fabs(got - want) <= rel * std::fabs(want) + abs;
}
}  // namespace

TEST_CASE("log Phi matches mpmath from the far lower tail to the upper tail", "[math][normal]") {
  struct Ref {
    double x, value;
  };
  const Ref refs[] = {
      {-1e5, -5.0000000124318639983e+9},   {-40.0, -804.60844201375378817}, {-10.0, -53.231285150512470578},
      {-1.0, -1.8410216450092635058},      {0.0, -0.69314718055994530942},  {5.0, -2.8665161296376359338e-7},
      {30.0, -4.9067139271481870595e-198},
  };
  for (const auto& r : refs) {
    INFO("x = " << r.x << ": log_ndtr = " << log_ndtr(r.x) << ", mpmath " << r.value);
    CHECK(close(log_ndtr(r.x), r.value, 2e-15));
  }
  // the naive log(Phi(x)) is fine where Phi is neither tiny nor near 1
  for (double x = -8.0; x <= 3.0; x += 0.37) {
    INFO("x = " << x);
    CHECK(close(log_ndtr(x), std::log(ndtr(x)), 1e-13));
  }
  CHECK(log_ndtr(-kInf) == -kInf);
  CHECK(log_ndtr(kInf) == 0.0);
  CHECK(std::isnan(log_ndtr(std::numeric_limits<double>::quiet_NaN())));
}

TEST_CASE("normal pdf, cdf and inverse Mills ratio", "[math][normal]") {
  CHECK(close(normal_pdf(0.0), 0.39894228040143267794, 1e-15));
  CHECK(close(normal_log_pdf(3.0), -4.5 - kLogSqrt2Pi, 1e-15));
  CHECK(close(normal_pdf(-2.0), std::exp(normal_log_pdf(-2.0)), 1e-15));
  CHECK(close(ndtr(-1.0), 0.15865525393145705142, 1e-15));
  CHECK(close(ndtr(2.0), 0.97724986805182079282, 1e-15));
  CHECK(ndtr(0.0) == 0.5);
  struct Ref {
    double x, value;
  };
  const Ref refs[] = {{-10.0, 7.6945986267064193463e-23},
                      {0.0, 0.79788456080286535588},
                      {1.0, 1.5251352761609812091},
                      {10.0, 10.098093233962511963},
                      {1e5, 1.0000000001e+5}};
  for (const auto& r : refs) {
    INFO("x = " << r.x << ": h = " << inverse_mills_ratio(r.x) << ", mpmath " << r.value);
    CHECK(close(inverse_mills_ratio(r.x), r.value, 2e-15));
  }
  // tail quantities at large x (from the Mills ratio series 1/x - 1/x^3 + 3/x^5): k = h - x ~ 1/x - 2/x^3,
  // v = 1 - h k ~ 1/x^2, c3 ~ 2/x^3
  const double x = 1e6;
  const detail::NormalTail t = detail::normal_tail(x);
  CHECK(close(t.k, 1.0 / x - 2.0 / (x * x * x), 1e-15));
  CHECK(close(t.v, 1.0 / (x * x), 1e-10));
  CHECK(close(t.c3, 2.0 / (x * x * x), 1e-10));
  // and they agree with the direct formulas where those have no cancellation to speak of
  for (double xm : {0.0, 0.5, 2.0, 4.0, 4.2426, 4.2427, 5.0}) {
    const detail::NormalTail tm = detail::normal_tail(xm);
    const double h = inverse_mills_ratio(xm), k = h - xm;
    INFO("x = " << xm);
    CHECK(close(tm.h, h, 1e-15));
    CHECK(close(tm.k, k, 1e-13));
    CHECK(close(tm.v, 1.0 - h * k, 1e-12));
    CHECK(close(tm.c3, h * (k * (h + k) - 1.0), 1e-10));
  }
}

TEST_CASE("log1mexp = log(1 - exp(x)) on both sides of -log 2", "[math][normal]") {
  CHECK(close(log1mexp(-1e-20), std::log(1e-20), 1e-15));
  CHECK(close(log1mexp(-50.0), -std::exp(-50.0), 1e-15));
  CHECK(close(log1mexp(-0.5), std::log(1.0 - std::exp(-0.5)), 1e-15));
  CHECK(close(log1mexp(-2.0), std::log(1.0 - std::exp(-2.0)), 1e-15));
  CHECK(log1mexp(0.0) == -kInf);
  CHECK(log1mexp(-kInf) == 0.0);
}

TEST_CASE("log(Phi(b) - Phi(a)) and its derivatives match mpmath in every regime", "[math][normal]") {
  struct Ref {
    double a, b, value, d_da, d_db;
  };
  const Ref refs[] = {
      // both in the lower tail
      {-40.0, -39.0, -765.08315656437754441, -2.7334909240424957198e-16, 39.025607419930108723},
      {-1000.0, -999.5, -4.9950795119468814337e+5, -8.069174209913452188e-215, 999.50100049824713208},
      {-3.0, -2.0, -3.844353426334205621, -0.20709345651174374453, 2.5229147832555255827},
      {-1e10, -1e9, -5.0000000000000002164e+17, 0.0, 1.000000000000000001e+9},
      {-2.5e9, -2.4e9, -2.8800000000000000225e+18, 0.0, 2.4000000000000000004e+9},
      {-30.0, -1e-9, -0.69314718135782987054, -2.9472922721086940382e-196, 0.79788456143948512836},
      // narrow interval in the lower tail (midpoint expansion)
      {-10.0, -10.0 + 1e-5, -62.431813997812761188, -99995.000088785730012, 1.0000500008378564668e+5},
      // both in the upper tail (mirror image)
      {39.0, 40.0, -765.08315656437754441, -39.025607419930108723, 2.7334909240424957198e-16},
      {5.0, 5.5, -15.133540811271287591, -5.5544659400602591308, 0.40236416315299031997},
      {2.0, 1e10, -3.7831843336820319488, -2.3732155328228408673, 0.0},
      {0.0, 1e-3, -7.8266939788534653286, -1000.0001666666694236, 999.99966666671109029},
      {1e-12, 2e-12, -28.54995964913322097, -1.0000000000000000201e+12, 1.0000000000000000201e+12},
      // around zero
      {-1.0, 2.0, -0.20016629432446257995, -0.29559286165003363563, 0.065955682558704667011},
      {-1e-3, 1e-3, -7.1335467982935200192, -499.99983333335554515, 499.99983333335554515},
      {-1e10, 0.5, -0.36894641528865639307, 0.0, 0.50916043383703348583},
      {-50.0, 50.0, 0.0, 0.0, 0.0},  // mpmath: -2.16e-545, -5.41e-544, 5.41e-544 (below the double range)
  };
  for (const auto& r : refs) {
    const auto g = log_ndtr_diff_grad(r.a, r.b);
    INFO("a = " << r.a << ", b = " << r.b << ": " << g.value << " " << g.d_da << " " << g.d_db);
    CHECK(close(g.value, r.value, 1e-14, 1e-300));
    CHECK(close(g.d_da, r.d_da, 1e-12, 1e-300));
    CHECK(close(g.d_db, r.d_db, 1e-12, 1e-300));
    CHECK(log_ndtr_diff(r.a, r.b) == g.value);
  }
}

TEST_CASE("log(Phi(b) - Phi(a)) is continuous across its regimes and consistent with its derivatives",
          "[math][normal]") {
  // across b = 0 (lower tail / around zero) and a = 0 (around zero / upper tail)
  CHECK(close(log_ndtr_diff(-1.5, -1e-300), log_ndtr_diff(-1.5, 1e-300), 1e-15));
  CHECK(close(log_ndtr_diff(-1e-300, 2.0), log_ndtr_diff(1e-300, 2.0), 1e-15));
  // across the narrow-interval threshold w max(1, |m|) = 1e-2 at m = -20
  const double m = -20.0, w = kNarrowIntervalWidth / 20.0;
  const double lo = log_ndtr_diff(m - 0.5 * w * (1 - 1e-6), m + 0.5 * w * (1 - 1e-6));  // midpoint expansion
  const double hi = log_ndtr_diff(m - 0.5 * w * (1 + 1e-6), m + 0.5 * w * (1 + 1e-6));  // lower-tail formula
  CHECK(close(hi - lo, 2e-6, 2e-5));  // d log Z / d log w = 1 + O(m^2 w^2) for a narrow interval: no jump
  // central differences of the value reproduce the derivatives
  const double pairs[][2] = {{-7.0, -6.5}, {-2.0, 0.3}, {0.4, 3.0}, {-0.2, -0.19}, {-60.0, -20.0}, {12.0, 12.5}};
  for (const auto& p : pairs) {
    const double a = p[0], b = p[1], h = 1e-6;
    const auto g = log_ndtr_diff_grad(a, b);
    const double fd_a = (log_ndtr_diff(a + h, b) - log_ndtr_diff(a - h, b)) / (2 * h);
    const double fd_b = (log_ndtr_diff(a, b + h) - log_ndtr_diff(a, b - h)) / (2 * h);
    INFO("a = " << a << ", b = " << b);
    CHECK(close(g.d_da, fd_a, 1e-7, 1e-9));
    CHECK(close(g.d_db, fd_b, 1e-7, 1e-9));
  }
}

TEST_CASE("log(Phi(b) - Phi(a)) edge cases and float", "[math][normal]") {
  const auto eq = log_ndtr_diff_grad(1.0, 1.0);
  CHECK(eq.value == -kInf);
  CHECK(std::isnan(log_ndtr_diff(2.0, 1.0)));
  CHECK(close(log_ndtr_diff(-kInf, -3.0), log_ndtr(-3.0), 1e-15));
  CHECK(close(log_ndtr_diff(3.0, kInf), log_ndtr(-3.0), 1e-15));
  CHECK(log_ndtr_diff(-kInf, kInf) == 0.0);
  CHECK(close(log_ndtr_diff_grad(-kInf, -3.0).d_db, inverse_mills_ratio(3.0), 1e-15));
  const float af = -38.0f, bf = -37.5f;
  const auto gf = log_ndtr_diff_grad(af, bf);
  const auto gd = log_ndtr_diff_grad(double(af), double(bf));
  CHECK(std::isfinite(gf.value));
  CHECK(close(gf.value, gd.value, 1e-7));
  CHECK(close(gf.d_db, gd.d_db, 1e-7));
}
