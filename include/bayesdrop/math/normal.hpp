// The standard normal distribution in log space: pdf, cdf Phi, log Phi, the inverse Mills ratio, and
// log(Phi(b) - Phi(a)) with its derivatives, accurate in both tails.
//
// Why: structured Bayesian pruning (layers/structured_bayesian_pruning.hpp) works with a normal truncated to an
// interval [alpha, beta] that can lie 1e10 standard deviations from the mean. The direct formulas then give 0/0
// (Phi(beta) - Phi(alpha) underflows) or lose every digit (a difference of two numbers near 1); the functions here
// never form those differences.
//
// Building blocks, for x >= 0 (the upper tail; the lower tail by symmetry):
//   Phi(-x)      = (1/2) erfcx(x / sqrt 2) exp(-x^2 / 2)                 (math/erfcx.hpp)
//   h(x)         = phi(x) / Phi(-x) = sqrt(2/pi) / erfcx(x / sqrt 2)     inverse Mills ratio (hazard) of N(0, 1)
//   log Phi(-x)  = -x^2/2 - log h(x) - log sqrt(2 pi)
// and, for the moments of X | X > x (used by the truncated log-normal), three quantities that the obvious formulas
// get only by cancellation when x is large: k = h - x = E[X - x | X > x], v = 1 - h k = Var[X | X > x] and
// c3 = h (k (h + k) - 1) = the third cumulant of X | X > x. With Laplace's continued fraction
// sqrt(pi) erfcx(y) = 1 / (y + K1), K_n = (n/2) / (y + K_{n+1}) at y = x / sqrt 2 (Abramowitz & Stegun 7.1.14):
//   h  = sqrt2 (y + K1),  k = sqrt2 K1,
//   v  = ((y - K3) / (y + K3) + 2 K2^2) / (2 (y + K2)^2),
//   c3 = h (y/2 + 3/2 K3 - K4) / ((y + K4) (y + K3)^2 (y + K2)^2),
// all sums of positive terms for y >= 3 (derived by substituting K1 = (1/2)/(y + K2), K2 = 1/(y + K3),
// K3 = (3/2)/(y + K4) into the obvious formulas). Below y = 3 the obvious formulas lose at most ~50x eps.
//
// log(Phi(b) - Phi(a)), a < b, in four regimes:
//   narrow (w = b - a, m = (a + b)/2, w max(1, |m|) < 1e-2): Z = w phi(m) (1 + (m^2 - 1) w^2/24
//            + (m^4 - 6 m^2 + 3) w^4/1920), the midpoint expansion (next term below 3e-16 relative);
//   b <= 0 (both in the lower tail), s = -b, t = -a:  log Z = log Phi(b) + log1mexp(delta),
//            delta = log Phi(a) - log Phi(b) = -w (s + w/2) + log(h(s) / h(t))    (no difference of huge logs);
//   a >= 0: the mirror image, Phi(b) - Phi(a) = Phi(-a) - Phi(-b);
//   a < 0 < b: Z = 1 - Phi(a) - Phi(-b) via log1p when that is above 1/2, else Z = (erf(b/sqrt2) + erf(-a/sqrt2))/2
//            (a sum of two positive terms).
// Derivatives: d log Z / db = phi(b) / Z and d log Z / da = -phi(a) / Z, formed as ratios that stay finite:
//   in the lower tail phi(b) / Z = h(s) / (-expm1(delta)) and phi(a) / Z = h(t) / expm1(-delta).
//
// Phi(x) itself (x <= 0) is erfc(-x/sqrt2)/2 near zero and erfcx(-x/sqrt2) exp(-x^2/2)/2 below -3 sqrt2, with x^2
// split exactly by an fma: erfc of the rounded argument would lose 2 x^2 ulp (2e-13 at x = -37).
//
// log1mexp(x) = log(1 - exp(x)) follows Maechler (2012), "Accurately computing log(1 - exp(-|a|))", CRAN Rmpfr
// vignette: log(-expm1(x)) for x > -log 2, log1p(-exp(x)) otherwise.
//
// Float arguments are computed in double and rounded once, so float results are the double ones rounded.
// The functions never throw; NaN propagates.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "bayesdrop/math/erfcx.hpp"

namespace bayesdrop {

/// sqrt(2).
inline constexpr double kSqrt2 = 1.41421356237309504880168872420969808;
/// 1 / sqrt(2).
inline constexpr double kInvSqrt2 = 0.70710678118654752440084436210484904;
/// log(sqrt(2 pi)) = log(2 pi) / 2, the log normaliser of the standard normal density.
inline constexpr double kLogSqrt2Pi = 0.91893853320467274178032973640561764;
/// 1 / sqrt(2 pi) = phi(0).
inline constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438187;
/// sqrt(2 / pi) = h(0), the inverse Mills ratio at zero.
inline constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876373;
/// log(2).
inline constexpr double kLog2 = 0.69314718055994530941723212145817657;
/// log(Phi(b) - Phi(a)) uses the midpoint expansion when (b - a) max(1, |a + b|/2) is below this.
inline constexpr double kNarrowIntervalWidth = 1e-2;

namespace detail {

/// Upper-tail quantities of N(0, 1) at x >= 0 (see the header comment): h = phi(x)/Phi(-x), k = h - x,
/// v = 1 - h k = Var[X | X > x], c3 = third cumulant of X | X > x.
struct NormalTail {
  double h, k, v, c3;
};

inline NormalTail normal_tail(double x) {
  const double y = x * kInvSqrt2;
  if (y < kErfcxCfStart) {
    const double h = kSqrt2OverPi / erfcx_product(y);
    const double k = h - x;
    return {h, k, 1.0 - h * k, h * (k * (h + k) - 1.0)};
  }
  const ErfcxFractionTails t = erfcx_cf_tails(y);
  const double y2 = y + t.k2, y3 = y + t.k3, y4 = y + t.k4;
  const double h = kSqrt2 * (y + t.k1);
  const double v = ((y - t.k3) / y3 + 2.0 * t.k2 * t.k2) / (2.0 * y2 * y2);
  const double c3 = h * (0.5 * y + 1.5 * t.k3 - t.k4) / (y4 * y3 * y3 * y2 * y2);
  return {h, kSqrt2 * t.k1, v, c3};
}

/// exp(-x^2 / 2) with x^2 split exactly into hi + lo (an fma), so that the rounding of x^2 is not amplified.
inline double exp_neg_half_square(double x) {
  const double hi = x * x;
  const double lo = std::fma(x, x, -hi);
  return std::exp(-0.5 * hi) * (1.0 - 0.5 * lo);
}

/// Phi(x) for x <= 0 with a relative error of a few ulp: erfc(-x/sqrt2) / 2 near zero, where rounding x/sqrt2 costs
/// at most x^2 ulp (18 at the switch); below -3 sqrt2, erfcx(-x/sqrt2) exp(-x^2/2) / 2, whose factors do not amplify
/// the rounding of the argument (erfc(-x/sqrt2) would lose 2 x^2 ulp: 2e-13 at x = -37).
inline double ndtr_lower(double x) {
  if (x < -40.0) return 0.0;  // below the smallest double (and keeps exp_neg_half_square away from inf - inf)
  const double y = -x * kInvSqrt2;
  if (y < kErfcxCfStart) return 0.5 * std::erfc(y);
  return 0.5 * erfcx_nonnegative(y) * exp_neg_half_square(x);
}

/// Phi(x) for any x (relative accuracy below 0, absolute near 1).
inline double ndtr(double x) {
  return x <= 0.0 ? ndtr_lower(x) : 1.0 - ndtr_lower(-x);
}

/// h(x) = phi(x) / Phi(-x) for any x (0 at -inf, ~x at +inf).
inline double inverse_mills(double x) {
  if (x >= 0.0) {
    const double y = x * kInvSqrt2;
    if (y < kErfcxCfStart) return kSqrt2OverPi / erfcx_product(y);
    return kSqrt2 * (y + erfcx_cf_tails(y).k1);
  }
  if (x < -40.0) return 0.0;  // phi(x) underflows; Phi(-x) = 1
  return exp_neg_half_square(x) * kInvSqrt2Pi / (1.0 - ndtr_lower(x));
}

/// log(1 - exp(x)) for x <= 0 (Maechler 2012); -inf at 0.
inline double log1mexp(double x) {
  return x > -kLog2 ? std::log(-std::expm1(x)) : std::log1p(-std::exp(x));
}

/// log Phi(x).
inline double log_ndtr(double x) {
  if (std::isnan(x)) return x;
  if (x <= 0.0) return std::log(0.5 * erfcx_double(-x * kInvSqrt2)) - 0.5 * x * x;
  return std::log1p(-ndtr_lower(-x));
}

/// log Phi(b) - log Phi(a) for b = -s, a = -(s + w), s >= 0, w >= 0, given h(s) and h(s + w): <= 0.
inline double log_ndtr_ratio_lower(double s, double w, double h_s, double h_t) {
  return -w * (s + 0.5 * w) + std::log(h_s / h_t);
}

/// log(Phi(b) - Phi(a)) and its derivatives with respect to a and b.
struct LogMass {
  double value, d_da, d_db;
};

/// Both ends in the lower tail: b <= 0.
inline LogMass log_ndtr_diff_lower(double a, double b) {
  const double s = -b, t = -a, w = b - a;
  const double h_s = inverse_mills(s), h_t = inverse_mills(t);
  const double delta = log_ndtr_ratio_lower(s, w, h_s, h_t);
  const double log_phi_b = -0.5 * s * s - kLogSqrt2Pi - std::log(h_s);
  return {log_phi_b + log1mexp(delta), -h_t / std::expm1(-delta), h_s / -std::expm1(delta)};
}

inline LogMass log_ndtr_diff_double(double a, double b) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  if (std::isnan(a) || std::isnan(b) || a > b) return {nan, nan, nan};
  if (a == b) return {-inf, -inf, inf};
  if (a == -inf && b == inf) return {0.0, 0.0, 0.0};
  if (a == -inf) return {log_ndtr(b), 0.0, inverse_mills(-b)};  // phi(b)/Phi(b) = h(-b)
  if (b == inf) return {log_ndtr(-a), -inverse_mills(a), 0.0};
  const double w = b - a, m = 0.5 * a + 0.5 * b;
  if (w * std::fmax(1.0, std::fabs(m)) < kNarrowIntervalWidth) {
    // Z = w phi(m) (1 + S), S = ((mw)^2 - w^2)/24 + ((mw)^4 - 6 (mw)^2 w^2 + 3 w^4)/1920
    const double mw2 = (m * w) * (m * w), w2 = w * w;
    const double log1p_s = std::log1p((mw2 - w2) / 24.0 + (mw2 * mw2 - 6.0 * mw2 * w2 + 3.0 * w2 * w2) / 1920.0);
    const double log_wz = std::log(w) + log1p_s;  // log(Z / phi(m))
    // phi(b)/phi(m) = exp(-w (b + m)/4), phi(a)/phi(m) = exp(w (a + m)/4)
    return {log_wz - 0.5 * m * m - kLogSqrt2Pi, -std::exp(0.25 * w * (a + m) - log_wz),
            std::exp(-0.25 * w * (b + m) - log_wz)};
  }
  if (b <= 0.0) return log_ndtr_diff_lower(a, b);
  if (a >= 0.0) {
    const LogMass m2 = log_ndtr_diff_lower(-b, -a);
    return {m2.value, -m2.d_db, -m2.d_da};
  }
  // a < 0 < b: Z = 1 - Phi(a) - Phi(-b), both tails <= 1/2
  const double tails = ndtr_lower(a) + ndtr_lower(-b);
  const double value =
      tails < 0.5 ? std::log1p(-tails) : std::log(0.5 * (std::erf(b * kInvSqrt2) + std::erf(-a * kInvSqrt2)));
  return {value, -std::exp(-0.5 * a * a - kLogSqrt2Pi - value), std::exp(-0.5 * b * b - kLogSqrt2Pi - value)};
}

}  // namespace detail

/// The standard normal density phi(x).
template <class T>
T normal_pdf(T x) {
  static_assert(std::is_floating_point_v<T>, "normal_pdf needs float or double");
  const double xd = x;
  return static_cast<T>(std::exp(-0.5 * xd * xd - kLogSqrt2Pi));
}

/// log phi(x) = -x^2/2 - log sqrt(2 pi).
template <class T>
T normal_log_pdf(T x) {
  static_assert(std::is_floating_point_v<T>, "normal_log_pdf needs float or double");
  const double xd = x;
  return static_cast<T>(-0.5 * xd * xd - kLogSqrt2Pi);
}

/// Phi(x), the standard normal cdf (relative accuracy in the lower tail, absolute near 1).
template <class T>
T ndtr(T x) {
  static_assert(std::is_floating_point_v<T>, "ndtr needs float or double");
  return static_cast<T>(detail::ndtr(static_cast<double>(x)));
}

/// log Phi(x), accurate for any x: erfcx-based below 0 (log Phi(-40) = -804.608...), log1p above.
template <class T>
T log_ndtr(T x) {
  static_assert(std::is_floating_point_v<T>, "log_ndtr needs float or double");
  return static_cast<T>(detail::log_ndtr(static_cast<double>(x)));
}

/// The inverse Mills ratio phi(x) / (1 - Phi(x)) = phi(x) / Phi(-x) (the hazard of N(0, 1)); ~x for large x.
template <class T>
T inverse_mills_ratio(T x) {
  static_assert(std::is_floating_point_v<T>, "inverse_mills_ratio needs float or double");
  return static_cast<T>(detail::inverse_mills(static_cast<double>(x)));
}

/// log(1 - exp(x)) for x <= 0 (NaN above 0, -inf at 0).
template <class T>
T log1mexp(T x) {
  static_assert(std::is_floating_point_v<T>, "log1mexp needs float or double");
  return static_cast<T>(detail::log1mexp(static_cast<double>(x)));
}

/// log(Phi(b) - Phi(a)) with its partial derivatives -phi(a)/Z and phi(b)/Z.
template <class T>
struct LogNdtrDiff {
  T value;  ///< log(Phi(b) - Phi(a))
  T d_da;   ///< d value / d a = -phi(a) / (Phi(b) - Phi(a))
  T d_db;   ///< d value / d b = phi(b) / (Phi(b) - Phi(a))
};

/// log(Phi(b) - Phi(a)) for a <= b, without cancellation in every regime (see the header comment), with its
/// derivatives. a == b gives {-inf, -inf, +inf}; a > b or NaN gives NaN.
template <class T>
LogNdtrDiff<T> log_ndtr_diff_grad(T a, T b) {
  static_assert(std::is_floating_point_v<T>, "log_ndtr_diff_grad needs float or double");
  const detail::LogMass m = detail::log_ndtr_diff_double(static_cast<double>(a), static_cast<double>(b));
  return {static_cast<T>(m.value), static_cast<T>(m.d_da), static_cast<T>(m.d_db)};
}

/// log(Phi(b) - Phi(a)) for a <= b (see log_ndtr_diff_grad).
template <class T>
T log_ndtr_diff(T a, T b) {
  return log_ndtr_diff_grad(a, b).value;
}

}  // namespace bayesdrop
