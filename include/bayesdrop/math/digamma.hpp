// Digamma psi(x) = d/dx log Gamma(x) and trigamma psi'(x) for x > 0, and the "approximate digamma" of the
// beta-Bernoulli reference code, with its derivative. Used by the Kumaraswamy-Beta KL (math/kumaraswamy.hpp).
//
// Exact (to a few ulp in double on x > 0):
//   recurrence  psi(x) = psi(x + 1) - 1/x,  psi'(x) = psi'(x + 1) + 1/x^2         Abramowitz & Stegun 6.3.5, 6.4.6
//               applied until x >= 10, then the asymptotic (Stirling) series in 1/x with the Bernoulli numbers B_2k:
//   psi(x)  ~ log x - 1/(2x) - sum_{k=1..7} B_2k / (2k x^2k)                         Abramowitz & Stegun 6.3.18
//   psi'(x) ~ 1/x + 1/(2x^2) + sum_{k=1..7} B_2k / x^(2k+1)                          Abramowitz & Stegun 6.4.12
//   (the approach of Bernardo's algorithm AS 103, Applied Statistics 25, 1976). At x = 10 the first omitted term
//   is below 1e-16 in absolute value (digamma: B_16 / (16 x^16) = 4.4e-17; trigamma: B_16 / x^17 = 7.1e-17).
//
// Approximate (the function-style TensorFlow code the course assignment derives from, `model/digamma.py` of
// OpenXAIProject/Network-Structure-Dropout):
//   psi~(x)  = log(x + 1 + c0) - 1 / (c1 (x + 1)) - 1/x,   c0 = 0.4849142940227510, c1 = 1.0271785180163817
//   psi~'(x) = 1 / (x + 1 + c0) + 1 / (c1 (x + 1)^2) + 1/x^2
//   i.e. psi(x + 1) approximated by log(x + 1 + c0) - 1/(c1 (x + 1)), then the recurrence. psi~(1) = -0.57653 where
//   psi(1) = -0.57722. |psi~ - psi| < 1.2e-3 on x > 0 and decays only like 0.0113 / x for large x
//   (log(x + 1 + c0) - 1/(c1 (x + 1)) has 1/x coefficient c0 - 1/c1 = -0.4886 where psi(x + 1) has -0.5).
//
// Harmonic number H(x) = psi(x + 1) + gamma_E = psi(x) + 1/x + gamma_E (H(n) = 1 + 1/2 + ... + 1/n for integer n):
// the Kumaraswamy-Beta KL contains -gamma_E - psi(b) - 1/b = -H(b). Computed as psi(x + 1) + gamma_E, which avoids
// the cancellation of psi(x) + 1/x for small x; for the approximation the -1/x terms cancel in closed form:
//   H~(x) = log(x + 1 + c0) - 1 / (c1 (x + 1)) + gamma_E,   H~'(x) = 1 / (x + 1 + c0) + 1 / (c1 (x + 1)^2)
//
// Domain: x > 0. For x <= 0 or NaN the functions return NaN (psi has poles at 0, -1, -2, ...; the callers only need
// positive arguments). They never throw, so they can run inside element-wise loops.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

namespace bayesdrop {

/// Which digamma the Kumaraswamy-Beta KL uses.
enum class DigammaKind {
  exact,        ///< psi(x) by recurrence and asymptotic series (class-style TF and PyTorch reference code)
  approximate,  ///< psi~(x) of the function-style TF code (the course assignment's code base)
};

/// Euler-Mascheroni constant gamma_E = -psi(1) (Abramowitz & Stegun 6.1.3).
inline constexpr double kEulerMascheroni = 0.57721566490153286060651209008240243;

/// The recurrence shifts x up to at least this value before the asymptotic series is used.
inline constexpr double kDigammaAsymptoticMin = 10.0;

/// B_2k / (2k) for k = 1..7 (B_2 .. B_14 = 1/6, -1/30, 1/42, -1/30, 5/66, -691/2730, 7/6): the coefficients of
/// x^-2k in the digamma asymptotic series (Abramowitz & Stegun 6.3.18, Bernoulli numbers from table 23.2).
inline constexpr double kDigammaSeries[7] = {1.0 / 12.0,  -1.0 / 120.0,     1.0 / 252.0, -1.0 / 240.0,
                                             1.0 / 132.0, -691.0 / 32760.0, 1.0 / 12.0};
/// B_2k for k = 1..7: the coefficients of x^-(2k+1) in the trigamma asymptotic series (Abramowitz & Stegun 6.4.12).
inline constexpr double kTrigammaSeries[7] = {1.0 / 6.0,  -1.0 / 30.0,     1.0 / 42.0, -1.0 / 30.0,
                                              5.0 / 66.0, -691.0 / 2730.0, 7.0 / 6.0};

/// c0 of the approximate digamma psi~(x) = log(x + 1 + c0) - 1/(c1 (x + 1)) - 1/x (Network-Structure-Dropout
/// `model/digamma.py`).
inline constexpr double kApproxDigammaShift = 0.4849142940227510;
/// c1 of the approximate digamma (same source).
inline constexpr double kApproxDigammaScale = 1.0271785180163817;

namespace detail {

/// Horner evaluation of sum_k c[k] t^k for k = 0..6, t = 1/x^2.
template <class Scalar>
Scalar digamma_series(const double (&c)[7], Scalar t) {
  Scalar s = Scalar(c[6]);
  for (int k = 5; k >= 0; --k) s = Scalar(c[k]) + t * s;
  return s;
}

}  // namespace detail

/// psi(x), x > 0: the recurrence up to x >= 6, then the asymptotic series. NaN for x <= 0; +inf at +inf.
template <class Scalar>
Scalar digamma(Scalar x) {
  static_assert(std::is_floating_point_v<Scalar>, "digamma: float, double or long double expected");
  if (!(x > Scalar(0))) return std::numeric_limits<Scalar>::quiet_NaN();
  if (std::isinf(x)) return x;
  Scalar shift = 0;
  while (x < Scalar(kDigammaAsymptoticMin)) {  // psi(x) = psi(x + 1) - 1/x
    shift -= Scalar(1) / x;
    x += Scalar(1);
  }
  const Scalar r = Scalar(1) / x, t = r * r;
  // log x - 1/(2x) - sum_k B_2k / (2k x^2k)
  return shift + std::log(x) - Scalar(0.5) * r - t * detail::digamma_series(kDigammaSeries, t);
}

/// psi'(x), x > 0: the recurrence up to x >= 6, then the asymptotic series. NaN for x <= 0; 0 at +inf.
template <class Scalar>
Scalar trigamma(Scalar x) {
  static_assert(std::is_floating_point_v<Scalar>, "digamma: float, double or long double expected");
  if (!(x > Scalar(0))) return std::numeric_limits<Scalar>::quiet_NaN();
  if (std::isinf(x)) return Scalar(0);
  Scalar shift = 0;
  while (x < Scalar(kDigammaAsymptoticMin)) {  // psi'(x) = psi'(x + 1) + 1/x^2
    shift += Scalar(1) / (x * x);
    x += Scalar(1);
  }
  const Scalar r = Scalar(1) / x, t = r * r;
  // 1/x + 1/(2x^2) + sum_k B_2k / x^(2k+1)
  return shift + r + Scalar(0.5) * t + r * t * detail::digamma_series(kTrigammaSeries, t);
}

/// The reference code's approximation psi~(x) = log(x + 1 + c0) - 1/(c1 (x + 1)) - 1/x, x > 0 (NaN otherwise).
template <class Scalar>
Scalar digamma_approx(Scalar x) {
  static_assert(std::is_floating_point_v<Scalar>, "digamma: float, double or long double expected");
  if (!(x > Scalar(0))) return std::numeric_limits<Scalar>::quiet_NaN();
  return std::log(x + Scalar(1) + Scalar(kApproxDigammaShift)) -
         Scalar(1) / (Scalar(kApproxDigammaScale) * (x + Scalar(1))) - Scalar(1) / x;
}

/// d psi~ / dx = 1/(x + 1 + c0) + 1/(c1 (x + 1)^2) + 1/x^2, x > 0 (NaN otherwise).
template <class Scalar>
Scalar digamma_approx_derivative(Scalar x) {
  static_assert(std::is_floating_point_v<Scalar>, "digamma: float, double or long double expected");
  if (!(x > Scalar(0))) return std::numeric_limits<Scalar>::quiet_NaN();
  const Scalar x1 = x + Scalar(1);
  return Scalar(1) / (x1 + Scalar(kApproxDigammaShift)) + Scalar(1) / (Scalar(kApproxDigammaScale) * x1 * x1) +
         Scalar(1) / (x * x);
}

/// psi(x) or psi~(x).
template <class Scalar>
Scalar digamma(Scalar x, DigammaKind kind) {
  return kind == DigammaKind::exact ? digamma(x) : digamma_approx(x);
}

/// psi'(x) or psi~'(x).
template <class Scalar>
Scalar digamma_derivative(Scalar x, DigammaKind kind) {
  return kind == DigammaKind::exact ? trigamma(x) : digamma_approx_derivative(x);
}

/// Harmonic number H(x) = psi(x + 1) + gamma_E = psi(x) + 1/x + gamma_E, x > 0 (NaN otherwise); with
/// DigammaKind::approximate, H~(x) = psi~(x) + 1/x + gamma_E = log(x + 1 + c0) - 1/(c1 (x + 1)) + gamma_E.
template <class Scalar>
Scalar harmonic_number(Scalar x, DigammaKind kind = DigammaKind::exact) {
  static_assert(std::is_floating_point_v<Scalar>, "digamma: float, double or long double expected");
  if (!(x > Scalar(0))) return std::numeric_limits<Scalar>::quiet_NaN();
  if (kind == DigammaKind::exact) return digamma(x + Scalar(1)) + Scalar(kEulerMascheroni);
  return std::log(x + Scalar(1) + Scalar(kApproxDigammaShift)) -
         Scalar(1) / (Scalar(kApproxDigammaScale) * (x + Scalar(1))) + Scalar(kEulerMascheroni);
}

/// dH/dx = psi'(x + 1), or with the approximation 1/(x + 1 + c0) + 1/(c1 (x + 1)^2); x > 0 (NaN otherwise).
template <class Scalar>
Scalar harmonic_number_derivative(Scalar x, DigammaKind kind = DigammaKind::exact) {
  static_assert(std::is_floating_point_v<Scalar>, "digamma: float, double or long double expected");
  if (!(x > Scalar(0))) return std::numeric_limits<Scalar>::quiet_NaN();
  const Scalar x1 = x + Scalar(1);
  if (kind == DigammaKind::exact) return trigamma(x1);
  return Scalar(1) / (x1 + Scalar(kApproxDigammaShift)) + Scalar(1) / (Scalar(kApproxDigammaScale) * x1 * x1);
}

}  // namespace bayesdrop
