// The truncated log-normal of structured Bayesian pruning (Neklyudov et al. 2017, "Structured Bayesian
// Pruning via Log-Normal Multiplicative Noise"; code necludov/group-sparsity-sbp), in log space:
// log theta ~ N(mu, sigma^2) truncated to [a, b], sigma = exp(log_sigma). With alpha = (a - mu)/sigma,
// beta = (b - mu)/sigma, Z = Phi(beta) - Phi(alpha) and X = (log theta - mu)/sigma (a standard normal truncated to
// [alpha, beta]):
//
//   log Z          = log(Phi(beta) - Phi(alpha))
//   E[theta^k]     = exp(k mu + k^2 sigma^2 / 2) (Phi(beta - k sigma) - Phi(alpha - k sigma)) / Z,   k = 1, 2
//   SNR            = E[theta] / sqrt(Var theta) = 1 / sqrt(expm1(log E[theta^2] - 2 log E[theta]))
//   KL             = log(b - a) - log sigma - H,  H = log(sqrt(2 pi e) Z) + (alpha phi(alpha) - beta phi(beta)) / (2Z)
//                    (the entropy of X; KL(truncated log-normal || log-uniform on [a, b]), Neklyudov et al.)
//   sample         X = Phi^-1(Phi(alpha) + u Z), u ~ U(0, 1]; log theta = mu + sigma X
//                  d log theta / d mu        = 1 - ((1-u) phi(alpha) + u phi(beta)) / phi(X)
//                  d log theta / d log sigma = sigma (X - ((1-u) alpha phi(alpha) + u beta phi(beta)) / phi(X))
//                  (implicit differentiation of Phi(X) = (1-u) Phi(alpha) + u Phi(beta))
//
// These formulas are exact but useless once mu leaves [a, b] or sigma gets small: with mu = 5, sigma = e^-20,
// beta = -2.4e9, and each term above is a difference of numbers near 1e19 whose result is O(1). The
// implementation therefore works in three regimes, chosen by where the mean sits:
//
//   mu >= b ("below": [a, b] lies below the mean), anchored at b. D = beta - X >= 0 has the density
//       exp(-s d - d^2/2) / C on [0, w], with s = (mu - b)/sigma >= 0, w = (b - a)/sigma, i.e. the upper tail of
//       N(0, 1) beyond s, cut at s + w. Every quantity is written with the tail functions h, k = h - s, v, c3 of
//       math/normal.hpp at s and t = s + w, and with r = Phi(alpha)/Phi(beta) = exp(delta) (delta in log space):
//         log Z = log Phi(-s) + log1mexp(delta)        log C = log(Z / phi(beta)) = -log h(s) + log1mexp(delta)
//         M1 = E[D] = k_s + c1,  c1 = (h_s - h_t)/E,  E = expm1(-delta),  rho = (density of D at w) = h_t / E
//         Var D = v_s + c2 - 2 k_s c1 - c1^2,  c2 = -(s h_s + (w - s) h_t) / E
//         H = log C + 1/2 + (s M1 - w rho) / 2                                (the entropy of D, = that of X)
//         dH/ds = -(M1 + s Var D - w rho (w - M1)) / 2,  dH/dw = rho (1 + 2 s w + w^2 - s M1 + w rho) / 2
//       and log theta = b - sigma D. The one-sided parts (k_s, v_s) come from the continued fraction without
//       cancellation; the corrections carry 1/E, which is 0 whenever they would matter for precision.
//   mu <= a ("above"): the mirror image, anchored at a: s = (a - mu)/sigma, log theta = a + sigma D, u -> 1 - u.
//   a < mu < b ("around"): the direct formulas in X, with phi(alpha)/Z and phi(beta)/Z from
//       log_ndtr_diff_grad (never 0/0; they are 0 for ends far from the mean).
//
// Moments: log E[theta^k] = A + R_k - R_0, where R = log Z + c^2/2 for the anchor c of the (shifted) interval
// (c = upper end if <= 0, lower end if >= 0, else 0) and A = k mu + k^2 sigma^2/2 + (c_0^2 - c_k^2)/2 is rewritten
// exactly, e.g. A = k b when both intervals are below the mean, so no term is larger than the result.
//
// SNR: log E[theta^2] - 2 log E[theta] is tiny when log theta is concentrated (1e-36 at mu = 5, sigma = e^-20),
// below the rounding of its two terms. When the cumulant series r = sigma^2 kappa2(X) + sigma^3 kappa3(X) + ...
// (the cumulant generating function K(2 sigma) - 2 K(sigma)) is below kSnrSeriesBelow, the series is used (its
// first omitted term is ~3.5 r^2, the direct difference is accurate to ~1e-14 absolute); otherwise the difference.
//
// Sample: in the anchored regimes, d solves log Phi(-(s + d)) - log Phi(-s) = log(u + (1-u) r) by Halley's method
// from the root of the quadratic upper bound -h_s d - h_s k_s d^2/2 = log p (the hazard h is convex, so the root
// bounds d from above; log Phi is concave and smooth); usually two steps. The derivatives are
//   d log theta / d mu = G = (u (h_x - h_s) + (1-u) r (h_x - h_t)) / (P h_x),   P = u + (1-u) r,  x = s + d
//   d log theta / d log sigma = +-sigma (-s G + w q - d),  q = (1-u) r h_t / (P h_x)  (+ below, - above)
// where h_x - h_s = d + k_x - k_s (a second-order Taylor expansion in d below d = 1e-5). Around the mean,
// X = Phi^-1(p) (or -Phi^-1(1-p), from whichever of p = (1-u) Phi(alpha) + u Phi(beta) and its complement is
// smaller, both formed as sums), math/ndtri.hpp. log theta is finally clipped to [a, b] against rounding only.
//
// Domain and accuracy (tested against mpmath at 130 digits, tests/math/test_truncated_log_normal.cpp): a < b finite,
// mu within (b - a)/4 of [a, b], log sigma in [-20, 5] (the SBP clip range with [a, b] = [-20, 0]); there the far
// end's corrections never cancel the one-sided terms (w >= 4 s). Values and derivatives agree with mpmath to
// ~1e-12 relative (log SNR to ~1e-8 near the series switch). Results are computed in double for float arguments too
// and rounded once. Never throws; the uniform u may be anywhere in [0, 1].
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "bayesdrop/math/ndtri.hpp"
#include "bayesdrop/math/normal.hpp"

namespace bayesdrop {

/// Below this value of the cumulant series sigma^2 kappa2 + sigma^3 kappa3, the SNR uses the series instead of
/// log E[theta^2] - 2 log E[theta] (both errors are ~1e-7 relative there; see the header comment).
inline constexpr double kSnrSeriesBelow = 1e-7;
/// The anchored sample's derivative uses a Taylor expansion of the hazard difference below this offset d.
inline constexpr double kHazardTaylorBelow = 1e-5;
/// When log Phi(far end) - log Phi(near end) is below this (exp underflows to 0 and expm1 overflows), the far end is
/// ignored and its tail functions are not evaluated.
inline constexpr double kFarEndNegligibleBelow = -800.0;

/// log Z, the moments of theta and the signal-to-noise ratio of a truncated log-normal.
template <class T>
struct TruncatedLogNormalMoments {
  T log_z;              ///< log(Phi(beta) - Phi(alpha))
  T log_mean;           ///< log E[theta]
  T log_second_moment;  ///< log E[theta^2]
  T mean;               ///< E[theta]
  T log_snr;            ///< log(E[theta] / sqrt(Var theta))
  T snr;                ///< E[theta] / sqrt(Var theta)
};

/// KL(truncated log-normal || log-uniform on [a, b]) of one unit with its derivatives.
template <class T>
struct TruncatedLogNormalKL {
  T value;
  T d_mu;
  T d_log_sigma;
};

/// One reparameterised draw of log theta and its derivatives with respect to the parameters (u fixed).
template <class T>
struct TruncatedLogNormalSample {
  T log_theta;
  T d_mu;
  T d_log_sigma;
};

namespace detail {

/// Where the interval [a, b] lies relative to the mean mu of log theta.
enum class TnRegime {
  below,   ///< mu >= b: anchored at b
  above,   ///< mu <= a: anchored at a (mirror image)
  around,  ///< a < mu < b
};

/// Everything the KL, moments and sample share for one (mu, log sigma, a, b).
struct TnGeometry {
  TnRegime regime;
  double sigma, alpha, beta, w;  // w = (b - a) / sigma
  double log_z;
  // anchored regimes
  double s = 0, t = 0;  // distance of the near end from the mean in sigmas, and s + w
  NormalTail tail_s{0, 0, 0, 0}, tail_t{0, 0, 0, 0};
  double delta = 0, r = 0, inv_e = 0;  // log(Phi(far)/Phi(near)), exp(delta), 1 / expm1(-delta)
  // around the mean: phi(alpha)/Z and phi(beta)/Z
  double rho_a = 0, rho_b = 0;
};

/// with_mass = false skips log Z and phi/Z around the mean (the sample does not need them there).
inline TnGeometry tn_geometry(double mu, double log_sigma, double a, double b, bool with_mass = true) {
  TnGeometry g;
  g.sigma = std::exp(log_sigma);
  g.alpha = (a - mu) / g.sigma;
  g.beta = (b - mu) / g.sigma;
  g.w = (b - a) / g.sigma;
  if (mu >= b || mu <= a) {
    g.regime = mu >= b ? TnRegime::below : TnRegime::above;
    g.s = mu >= b ? (mu - b) / g.sigma : g.alpha;
    g.t = g.s + g.w;
    g.tail_s = normal_tail(g.s);
    const double quadratic = -g.w * (g.s + 0.5 * g.w);  // delta = quadratic + log(h(s)/h(t)), log(...) <= 0
    if (quadratic < kFarEndNegligibleBelow) {
      // The far end carries no mass at double precision: r = 1/E = 0 exactly, and every use of the tail at t is
      // multiplied by one of them. The placeholder h(t) ~ t keeps those products finite.
      g.tail_t = {g.t, 0.0, 0.0, 0.0};
      g.delta = quadratic;
    } else {
      g.tail_t = normal_tail(g.t);
      g.delta = log_ndtr_ratio_lower(g.s, g.w, g.tail_s.h, g.tail_t.h);
    }
    g.r = std::exp(g.delta);
    g.inv_e = 1.0 / std::expm1(-g.delta);  // 0 when the far end is negligible
    g.log_z = -0.5 * g.s * g.s - kLogSqrt2Pi - std::log(g.tail_s.h) + log1mexp(g.delta);
  } else {
    g.regime = TnRegime::around;
    if (!with_mass) {
      g.log_z = std::numeric_limits<double>::quiet_NaN();
      return g;
    }
    const LogMass m = log_ndtr_diff_double(g.alpha, g.beta);
    g.log_z = m.value;
    g.rho_a = -m.d_da;
    g.rho_b = m.d_db;
  }
  return g;
}

/// Moments of D (anchored regimes): E[D], Var D and the density of D at its far end w.
struct AnchoredMoments {
  double m1, var, rho;
};

inline AnchoredMoments anchored_moments(const TnGeometry& g) {
  const double hs = g.tail_s.h, ht = g.tail_t.h, ks = g.tail_s.k;
  const double c1 = (hs - ht) * g.inv_e;
  const double c2 = -(g.s * hs + (g.w - g.s) * ht) * g.inv_e;
  return {ks + c1, g.tail_s.v + c2 - 2.0 * ks * c1 - c1 * c1, ht * g.inv_e};
}

inline TruncatedLogNormalKL<double> tn_kl(double mu, double log_sigma, double a, double b) {
  const TnGeometry g = tn_geometry(mu, log_sigma, a, b);
  const double log_width = std::log(b - a);
  if (g.regime == TnRegime::around) {
    const double al = g.alpha, be = g.beta, ra = g.rho_a, rb = g.rho_b;
    const double entropy = g.log_z + 0.5 + kLogSqrt2Pi + 0.5 * (al * ra - be * rb);
    const double common = be * rb - al * ra;
    const double dh_da = -0.5 * ra * (1.0 + al * al + common);  // d entropy / d alpha
    const double dh_db = 0.5 * rb * (1.0 + be * be + common);   // d entropy / d beta
    // d alpha / d mu = d beta / d mu = -1/sigma; d alpha / d log sigma = -alpha, d beta / d log sigma = -beta
    return {log_width - log_sigma - entropy, (dh_da + dh_db) / g.sigma, -1.0 + al * dh_da + be * dh_db};
  }
  const AnchoredMoments m = anchored_moments(g);
  const double s = g.s, w = g.w;
  const double log_c = -std::log(g.tail_s.h) + log1mexp(g.delta);
  const double entropy = log_c + 0.5 + 0.5 * (s * m.m1 - w * m.rho);
  const double dh_ds = -0.5 * (m.m1 + s * m.var - w * m.rho * (w - m.m1));
  const double dh_dw = 0.5 * m.rho * (1.0 + 2.0 * s * w + w * w - s * m.m1 + w * m.rho);
  // s = (mu - b)/sigma below the mean, (a - mu)/sigma above it; w = (b - a)/sigma
  const double ds_dmu = g.regime == TnRegime::below ? 1.0 / g.sigma : -1.0 / g.sigma;
  return {log_width - log_sigma - entropy, -dh_ds * ds_dmu, -1.0 + s * dh_ds + w * dh_dw};
}

/// log Z + c^2/2 of the standard normal on [l, u] (c the anchor: u if u <= 0, l if l >= 0, else 0); w = u - l.
inline double scaled_log_mass(double l, double u, double w) {
  if (u <= 0.0 || l >= 0.0) {
    const double s = u <= 0.0 ? -u : l;
    const double hs = inverse_mills(s);
    const double quadratic = -w * (s + 0.5 * w);
    if (quadratic < kFarEndNegligibleBelow) return -kLogSqrt2Pi - std::log(hs);  // log1mexp(delta) = 0
    return -kLogSqrt2Pi - std::log(hs) + log1mexp(log_ndtr_ratio_lower(s, w, hs, inverse_mills(s + w)));
  }
  return log_ndtr_diff_double(l, u).value;
}

/// log E[theta^k] (k = 1, 2) relative to R_0 = scaled_log_mass of the unshifted interval.
inline double log_raw_moment(const TnGeometry& g, double mu, double a, double b, int k, double r0) {
  const double ks = k * g.sigma;
  const double l = g.alpha - ks, u = g.beta - ks;
  const double rk = scaled_log_mass(l, u, g.w);
  double anchor;  // k mu + k^2 sigma^2 / 2 + (c_0^2 - c_k^2)/2, rewritten without large terms
  if (g.regime == TnRegime::below) {
    anchor = k * b;  // both intervals below the mean (shifting down keeps it there)
  } else if (g.regime == TnRegime::above) {
    if (l >= 0.0) {
      anchor = k * a;
    } else if (u <= 0.0) {
      anchor = k * b - 0.5 * g.w * (g.alpha + g.beta);
    } else {
      anchor = k * a + 0.5 * l * l;
    }
  } else {
    anchor = u <= 0.0 ? k * b - 0.5 * g.beta * g.beta : k * mu + 0.5 * ks * ks;
  }
  return anchor + rk - r0;
}

inline TruncatedLogNormalMoments<double> tn_moments(double mu, double log_sigma, double a, double b) {
  const TnGeometry g = tn_geometry(mu, log_sigma, a, b);
  const double r0 = scaled_log_mass(g.alpha, g.beta, g.w);
  const double log_m1 = log_raw_moment(g, mu, a, b, 1, r0);
  const double log_m2 = log_raw_moment(g, mu, a, b, 2, r0);
  // Var X and the third cumulant of X
  double var_x, k3_x;
  if (g.regime == TnRegime::around) {
    const double m = g.rho_a - g.rho_b;
    var_x = 1.0 + g.alpha * g.rho_a - g.beta * g.rho_b - m * m;
    const double ex3 = 2.0 * m + g.alpha * g.alpha * g.rho_a - g.beta * g.beta * g.rho_b;
    k3_x = ex3 - 3.0 * m * var_x - m * m * m;
  } else {
    const AnchoredMoments am = anchored_moments(g);
    var_x = am.var;
    double k3_d;
    if (g.delta < -60.0) {
      k3_d = g.tail_s.c3;  // the far end is negligible: one-sided tail, from the continued fraction
    } else {
      // recurrence E[D^3] = 2 E[D] - s E[D^2] - w^2 rho (small s here, no cancellation to speak of)
      const double m2 = am.var + am.m1 * am.m1;
      const double m3 = 2.0 * am.m1 - g.s * m2 - g.w * g.w * am.rho;
      k3_d = m3 - 3.0 * am.m1 * am.var - am.m1 * am.m1 * am.m1;
    }
    k3_x = g.regime == TnRegime::below ? -k3_d : k3_d;  // X = beta - D below, alpha + D above
  }
  const double series = g.sigma * g.sigma * (var_x + g.sigma * k3_x);
  double r = series > 0.0 && series < kSnrSeriesBelow ? series : log_m2 - 2.0 * log_m1;
  r = std::fmax(r, std::numeric_limits<double>::min());
  // log(expm1(r)), finite for large r
  const double log_rel_var = r > 30.0 ? r + std::log1p(-std::exp(-r)) : std::log(std::expm1(r));
  const double log_snr = -0.5 * log_rel_var;
  return {g.log_z, log_m1, log_m2, std::exp(log_m1), log_snr, std::exp(log_snr)};
}

/// The anchored sample in canonical form: d = offset of X from the near end, G = d log theta / d mu and
/// Q with d log theta / d log sigma = +-sigma Q. uc is u (below) or 1 - u (above).
struct CanonicalSample {
  double d, g, q;
};

inline CanonicalSample tn_canonical_sample(const TnGeometry& geo, double uc) {
  const double s = geo.s, w = geo.w, r = geo.r;
  const NormalTail& ts = geo.tail_s;
  if (uc >= 1.0) return {0.0, 0.0, 0.0};  // the near end itself
  if (uc <= 0.0) return {w, 0.0, 0.0};    // the far end itself
  // p = Phi(X)/Phi(near end) = uc + (1-uc) r = 1 - (1-uc)(1-r), in (0, 1]; log p from the form without rounding
  const double one_minus_r = -std::expm1(geo.delta);
  const double p = uc + (1.0 - uc) * r;
  const double log_p = p > 0.5 ? std::log1p(-(1.0 - uc) * one_minus_r) : std::log(p);
  // h(s + d) - h(s) = d + k(s + d) - k(s), with k' = -v, k'' = c3 for a second-order Taylor expansion at small d
  const auto hazard_step = [&](double d, double k_x) {
    return d < kHazardTaylorBelow ? d * (1.0 - ts.v) + 0.5 * ts.c3 * d * d : d + (k_x - ts.k);
  };
  // Upper bound of the root: -h_s d - h_s k_s d^2/2 = log p (h convex), then Halley's method on
  // f(d) = log Phi(-(s+d)) - log Phi(-s) - log p = -d (s + d/2) - log(h(s+d)/h(s)) - log p,
  // f' = -h(x), f'' = -h(x) k(x) (x = s + d): cubic convergence, usually two steps from the bound.
  const double c = -log_p;
  double d = 2.0 * c / (ts.h + std::sqrt(ts.h * ts.h + 2.0 * ts.h * ts.k * c));
  if (d > w) d = w;
  for (int i = 0; i < 100; ++i) {
    const NormalTail tx = normal_tail(s + d);
    const double f = -d * (s + 0.5 * d) - std::log1p(hazard_step(d, tx.k) / ts.h) - log_p;
    if (f == 0.0) break;
    const double newton = f / tx.h;                            // -f/f'
    const double step = newton / (1.0 + 0.5 * newton * tx.k);  // Halley: -f/f' / (1 - f f''/(2 f'^2))
    d += step;
    if (d < 0.0) d = 0.0;
    if (d > w) d = w;
    // the error left after a Halley step is O(step^3); stop once that is below an ulp of d
    if (std::fabs(step) * step * step <= std::numeric_limits<double>::epsilon() * d) break;
  }
  if (d < 0.0) d = 0.0;
  const NormalTail tx = normal_tail(s + d);
  const double dh_s = hazard_step(d, tx.k);
  const double dh_t = (d - w) + (tx.k - geo.tail_t.k);
  const double denom = p * tx.h;
  const double g = (uc * dh_s + (1.0 - uc) * r * dh_t) / denom;
  const double q_far = (1.0 - uc) * r * geo.tail_t.h / denom;  // (1-u) phi(far end) / phi(X)
  return {d, g, -s * g + w * q_far - d};
}

inline TruncatedLogNormalSample<double> tn_sample(double mu, double log_sigma, double a, double b, double u) {
  const TnGeometry g = tn_geometry(mu, log_sigma, a, b, /*with_mass=*/false);
  double log_theta, d_mu, d_ls;
  if (g.regime == TnRegime::below) {
    const CanonicalSample c = tn_canonical_sample(g, u);
    log_theta = b - g.sigma * c.d;
    d_mu = c.g;
    d_ls = g.sigma * c.q;
  } else if (g.regime == TnRegime::above) {
    const CanonicalSample c = tn_canonical_sample(g, 1.0 - u);
    log_theta = a + g.sigma * c.d;
    d_mu = c.g;
    d_ls = -g.sigma * c.q;
  } else {
    const double al = g.alpha, be = g.beta;
    // lower and upper masses of X's quantile, each a sum of positive terms
    const double lo_a = ndtr_lower(al), hi_b = ndtr_lower(-be);  // Phi(alpha), Phi(-beta)
    const double p = (1.0 - u) * lo_a + u * (1.0 - hi_b);
    const double q = (1.0 - u) * (1.0 - lo_a) + u * hi_b;
    double x;
    if (u <= 0.0) {
      x = al;  // the ends themselves (p or q may be 0 there)
    } else if (u >= 1.0) {
      x = be;
    } else {
      x = p <= q ? ndtri_lower(p, std::log(p)) : -ndtri_lower(q, std::log(q));
    }
    // (1-u) phi(alpha)/phi(x) and u phi(beta)/phi(x)
    // (in logs, so that a zero weight times an overflowing ratio is 0, not NaN)
    const double qa = std::exp(std::log1p(-u) + 0.5 * (x - al) * (x + al));
    const double qb = std::exp(std::log(u) + 0.5 * (x - be) * (x + be));
    log_theta = mu + g.sigma * x;
    d_mu = 1.0 - qa - qb;
    d_ls = g.sigma * (x - al * qa - be * qb);
  }
  log_theta = std::fmin(std::fmax(log_theta, a), b);
  return {log_theta, d_mu, d_ls};
}

}  // namespace detail

/// log(Phi(beta) - Phi(alpha)), alpha = (a - mu)/sigma, beta = (b - mu)/sigma, sigma = exp(log_sigma).
template <class T>
T truncated_normal_log_z(T mu, T log_sigma, T a, T b) {
  static_assert(std::is_floating_point_v<T>, "truncated_normal_log_z needs float or double");
  return static_cast<T>(detail::tn_geometry(double(mu), double(log_sigma), double(a), double(b)).log_z);
}

/// E[theta], E[theta^2] (in logs) and SNR = E[theta] / sqrt(Var theta) of log theta ~ N(mu, sigma^2) on [a, b].
template <class T>
TruncatedLogNormalMoments<T> truncated_log_normal_moments(T mu, T log_sigma, T a, T b) {
  static_assert(std::is_floating_point_v<T>, "truncated_log_normal_moments needs float or double");
  const auto m = detail::tn_moments(double(mu), double(log_sigma), double(a), double(b));
  return {T(m.log_z), T(m.log_mean), T(m.log_second_moment), T(m.mean), T(m.log_snr), T(m.snr)};
}

/// KL(log theta ~ N(mu, sigma^2) on [a, b] || log theta ~ U[a, b]) with its derivatives (Neklyudov et al. 2017).
template <class T>
TruncatedLogNormalKL<T> truncated_log_normal_kl(T mu, T log_sigma, T a, T b) {
  static_assert(std::is_floating_point_v<T>, "truncated_log_normal_kl needs float or double");
  const auto k = detail::tn_kl(double(mu), double(log_sigma), double(a), double(b));
  return {T(k.value), T(k.d_mu), T(k.d_log_sigma)};
}

/// The inverse-cdf draw log theta = mu + sigma Phi^-1(Phi(alpha) + u Z) for u in [0, 1], with its derivatives with
/// respect to mu and log sigma at fixed u (the reparameterisation gradient).
template <class T>
TruncatedLogNormalSample<T> truncated_log_normal_sample(T mu, T log_sigma, T a, T b, T u) {
  static_assert(std::is_floating_point_v<T>, "truncated_log_normal_sample needs float or double");
  const auto s = detail::tn_sample(double(mu), double(log_sigma), double(a), double(b), double(u));
  return {T(s.log_theta), T(s.d_mu), T(s.d_log_sigma)};
}

}  // namespace bayesdrop
