// The scaled complementary error function erfcx(x) = exp(x^2) erfc(x), and the tail of its continued fraction.
//
// erfc(x) underflows for x > 26.5 while erfcx(x) ~ 1 / (x sqrt(pi)) stays representable, so log-space normal
// tail quantities (math/normal.hpp) are built on erfcx rather than erfc.
//
// Method, x >= 0:
//   x < kErfcxCfStart (= 3):  exp(x^2) * erfc(x) with the C library's erfc (glibc: below 1 ulp). x^2 is split into
//                             hi + lo with an fma, exp(x^2) = exp(hi) (1 + lo), so the rounding of x^2 is not
//                             amplified by exp (it would cost x^2 ulp, 9 ulp at x = 3).
//   x >= 3:                   Laplace's continued fraction for the complementary error function
//                             (Abramowitz & Stegun 7.1.14):
//                               sqrt(pi) erfcx(x) = 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + 2 / (x + ...)))))
//                             evaluated bottom-up from a depth n(x) = 10 + 216 / x^2 terms (33 at x = 3, 10 for
//                             large x), which reaches double precision: the truncation error at x = 3, 4, 6, 10
//                             needs 32, 22, 14, 10 terms for a relative error below 2e-17 (checked against mpmath
//                             at 40 digits). Bottom-up evaluation of this Stieltjes fraction is stable (all
//                             partial numerators positive). The SBP authors' code uses the rational
//                             Chebyshev approximation of Shepherd & Laframboise (1981), "Chebyshev approximation of
//                             (1 + 2x) exp(x^2) erfc x in 0 <= x < infinity", Math. Comp. 36; it is not used here.
//   x < 0:                    erfcx(x) = 2 exp(x^2) - erfcx(-x), which overflows to +inf below x = -26.6.
//
// The continued fraction's tails K_n (sqrt(pi) erfcx(x) = 1 / (x + K_1), K_n = (n/2) / (x + K_{n+1})) are exposed
// in detail:: because they give the normal tail's hazard minus its argument, its variance and its third cumulant
// without cancellation (math/normal.hpp).
//
// Float arguments are computed in double and rounded once. The functions never throw; NaN propagates.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

namespace bayesdrop {

/// Below this argument erfcx is exp(x^2) erfc(x); at and above it, the continued fraction (A&S 7.1.14).
inline constexpr double kErfcxCfStart = 3.0;

/// 1 / sqrt(pi).
inline constexpr double kInvSqrtPi = 0.56418958354775628694807945156077259;

namespace detail {

/// The first four tails of Laplace's continued fraction at x >= kErfcxCfStart:
/// sqrt(pi) erfcx(x) = 1 / (x + k1), k1 = (1/2) / (x + k2), k2 = 1 / (x + k3), k3 = (3/2) / (x + k4).
struct ErfcxFractionTails {
  double k1, k2, k3, k4;
};

/// Number of continued-fraction terms used at x >= kErfcxCfStart.
inline int erfcx_cf_depth(double x) {
  const double n = 10.0 + 216.0 / (x * x);
  return n > 40.0 ? 40 : static_cast<int>(n);
}

/// Bottom-up evaluation of the continued fraction, keeping the last four tails. x >= kErfcxCfStart.
inline ErfcxFractionTails erfcx_cf_tails(double x) {
  const int depth = erfcx_cf_depth(x);
  double k = 0.0;
  double tails[5] = {0, 0, 0, 0, 0};  // tails[j] = K_j for j = 1..4
  for (int j = depth; j >= 1; --j) {
    k = (0.5 * j) / (x + k);
    if (j <= 4) tails[j] = k;
  }
  return {tails[1], tails[2], tails[3], tails[4]};
}

/// exp(x^2) erfc(x) for 0 <= x < kErfcxCfStart, with x^2 split exactly into hi + lo.
inline double erfcx_product(double x) {
  const double hi = x * x;
  const double lo = std::fma(x, x, -hi);
  return std::exp(hi) * (1.0 + lo) * std::erfc(x);
}

/// erfcx for x >= 0.
inline double erfcx_nonnegative(double x) {
  if (x < kErfcxCfStart) return erfcx_product(x);
  const ErfcxFractionTails t = erfcx_cf_tails(x);
  return kInvSqrtPi / (x + t.k1);
}

inline double erfcx_double(double x) {
  if (std::isnan(x)) return x;
  if (x >= 0.0) return erfcx_nonnegative(x);
  if (x < -26.7) return std::numeric_limits<double>::infinity();  // 2 exp(x^2) overflows
  const double hi = x * x;
  const double lo = std::fma(x, x, -hi);
  return 2.0 * std::exp(hi) * (1.0 + lo) - erfcx_nonnegative(-x);
}

}  // namespace detail

/// erfcx(x) = exp(x^2) erfc(x), the scaled complementary error function, for float or double.
/// Relative error a few ulp of double for x >= 0; +inf for x < -26.7 (the true value overflows).
template <class T>
T erfcx(T x) {
  static_assert(std::is_floating_point_v<T>, "erfcx needs float or double");
  return static_cast<T>(detail::erfcx_double(static_cast<double>(x)));
}

}  // namespace bayesdrop
