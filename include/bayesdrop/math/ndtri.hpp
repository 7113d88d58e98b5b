// The inverse of the standard normal cdf: ndtri(p) = Phi^-1(p), and ndtri_log(log p) for probabilities too small
// for a double (or too close to 1 to tell apart from it).
//
// Method:
//   starting value  Acklam's rational approximation (P. J. Acklam, "An algorithm for computing the inverse normal
//                   cumulative distribution function", 2003; relative error below 1.15e-9 on (0, 1), which we
//                   re-checked against mpmath), evaluated on the lower half p <= 1/2;
//                   below p = 1e-300 (where Acklam's tail formula still works but exp of the answer would not)
//                   the asymptotic x0 = -sqrt(2L - log(2L) - log(2 pi)), L = -log p, from
//                   log Phi(x) ~ -x^2/2 - log(-x) - log sqrt(2 pi).
//   refinement      Acklam's Halley step on Phi(x) = p, x <- x - u / (1 + x u / 2), u = (Phi(x) - p) / phi(x), with
//                   u formed as r / ((1 + r) h(-x)), r = Phi(x)/p - 1, h the inverse Mills ratio (math/normal.hpp),
//                   so that it is relative however small p is (Acklam writes u = e sqrt(2 pi) exp(x^2/2), which
//                   overflows below p ~ 1e-308). From Acklam's start one step reaches double precision.
//                   Given log p (ndtri_log, or p below 1e-300), Newton steps on log Phi(x) = log p instead:
//                   x <- x - (log Phi(x) - log p) / h(-x); log Phi is concave, so they converge monotonically after
//                   the first; the asymptotic start needs up to five.
//   upper half      ndtri(p) = -ndtri(1 - p) (1 - p is exact for p >= 1/2); ndtri_log uses 1 - p = -expm1(log p).
//
// Float arguments are computed in double and rounded once. ndtri(0) = -inf, ndtri(1) = +inf, NaN outside [0, 1].
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "bayesdrop/math/normal.hpp"

namespace bayesdrop {

/// Acklam's rational approximation switches from the central to the tail formula below this p.
inline constexpr double kAcklamTailStart = 0.02425;
/// Below this probability the starting value comes from the asymptotic expansion of log Phi.
inline constexpr double kNdtriAsymptoticBelow = 1e-300;

namespace detail {

/// Acklam's approximation of Phi^-1(p) for 0 < p <= 1/2 (relative error < 1.15e-9). Coefficients from Acklam (2003).
inline double acklam_lower(double p) {
  static constexpr double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                  1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                  6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                  -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                  3.754408661907416e+00};
  if (p < kAcklamTailStart) {
    const double q = std::sqrt(-2.0 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
}

/// Newton on log Phi(x) = log_p from x (log_p <= log 1/2), until the error left after a step, about
/// |f''/(2 f')| step^2 <= step^2 / 2 (f = log Phi, f'' / f' = -k(-x) in (-0.8, 0)), is below an ulp of x, or after
/// `max_steps`.
inline double ndtri_refine(double x, double log_p, int max_steps) {
  for (int i = 0; i < max_steps; ++i) {
    // d log Phi(x) / dx = phi(x) / Phi(x) = h(-x)
    const double step = (log_ndtr(x) - log_p) / inverse_mills(-x);
    x -= step;
    if (0.5 * step * step <= std::numeric_limits<double>::epsilon() * std::fabs(x)) break;
  }
  return x;
}

/// Halley steps on Phi(x) = p from x (Acklam's refinement), with the residual as a ratio so that it is relative
/// however small p is: u = (Phi(x) - p) / phi(x) = r / ((1 + r) h(-x)), r = Phi(x)/p - 1 (p >= 1e-300 keeps phi(x)
/// a normal number), x <- x - u / (1 + x u / 2). The error left after a step is about x^2 u^3 / 6: stop once that is
/// below an ulp of x, or after `max_steps`.
inline double ndtri_refine_p(double x, double p, int max_steps) {
  for (int i = 0; i < max_steps; ++i) {
    const double r = ndtr(x) / p - 1.0;
    const double u = r / ((1.0 + r) * inverse_mills(-x));
    const double step = u / (1.0 + 0.5 * x * u);
    x -= step;
    if (x * x * std::fabs(step * step * step) <= std::numeric_limits<double>::epsilon() * std::fabs(x)) break;
  }
  return x;
}

/// Phi^-1 of a probability p <= 1/2 given as p and log p (p may underflow to 0 when log_p is finite).
inline double ndtri_lower(double p, double log_p) {
  if (p >= kNdtriAsymptoticBelow) return ndtri_refine_p(acklam_lower(p), p, 3);
  const double two_l = -2.0 * log_p;
  const double x0 = -std::sqrt(two_l - std::log(two_l) - 2.0 * kLogSqrt2Pi);
  return ndtri_refine(x0, log_p, 8);
}

inline double ndtri_double(double p) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (std::isnan(p) || p < 0.0 || p > 1.0) return std::numeric_limits<double>::quiet_NaN();
  if (p == 0.0) return -inf;
  if (p == 1.0) return inf;
  if (p <= 0.5) return ndtri_lower(p, std::log(p));
  const double q = 1.0 - p;  // exact for p >= 1/2
  return -ndtri_lower(q, std::log(q));
}

inline double ndtri_log_double(double log_p) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (std::isnan(log_p) || log_p > 0.0) return std::numeric_limits<double>::quiet_NaN();
  if (log_p == -inf) return -inf;
  if (log_p == 0.0) return inf;
  if (log_p <= -kLog2) return ndtri_lower(std::exp(log_p), log_p);
  const double q = -std::expm1(log_p);
  return -ndtri_lower(q, std::log(q));
}

}  // namespace detail

/// Phi^-1(p), the standard normal quantile, for 0 <= p <= 1 (about 1 ulp in double).
template <class T>
T ndtri(T p) {
  static_assert(std::is_floating_point_v<T>, "ndtri needs float or double");
  return static_cast<T>(detail::ndtri_double(static_cast<double>(p)));
}

/// Phi^-1(exp(log_p)) for log_p <= 0, also where exp(log_p) underflows (ndtri_log(-1e4) = -141.2...).
template <class T>
T ndtri_log(T log_p) {
  static_assert(std::is_floating_point_v<T>, "ndtri_log needs float or double");
  return static_cast<T>(detail::ndtri_log_double(static_cast<double>(log_p)));
}

}  // namespace bayesdrop
