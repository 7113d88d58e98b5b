// The Kumaraswamy(a, b) distribution on (0, 1): reparameterised sampling, moments, and the closed-form KL divergence
// from a Beta(alpha, beta) prior with its gradient. The posterior of beta-Bernoulli dropout
// (layers/beta_bernoulli_dropout.hpp).
//
// @article{kumaraswamy1980generalized,
//   title   = {A generalized probability density function for double-bounded random processes},
//   author  = {Kumaraswamy, Ponnambalam},
//   journal = {Journal of Hydrology}, volume = {46}, number = {1-2}, pages = {79--88}, year = {1980}
// }
// @article{jones2009kumaraswamy,
//   title   = {Kumaraswamy's distribution: A beta-type distribution with some tractability advantages},
//   author  = {Jones, M. C.},
//   journal = {Statistical Methodology}, volume = {6}, number = {1}, pages = {70--81}, year = {2009}
// }
// @inproceedings{nalisnick2017stick,
//   title     = {Stick-Breaking Variational Autoencoders},
//   author    = {Nalisnick, Eric and Smyth, Padhraic},
//   booktitle = {International Conference on Learning Representations (ICLR)}, year = {2017}
// }
//
//   density   q(pi) = a b pi^(a-1) (1 - pi^a)^(b-1),   CDF F(pi) = 1 - (1 - pi^a)^b            a, b > 0
//   sample    pi = (1 - u^(1/b))^(1/a), u ~ U(0, 1)   (inverse CDF of 1 - u, which is again uniform)
//             computed in log space:  t = log(u) / b,  log pi = log(-expm1(t)) / a
//             so that u^(1/b) near 1 (small b or u near 1) keeps its precision and pi^(1/a) never underflows
//             before the log is taken (a = 0.3 puts many samples below 1e-40).
//   gradient  d log pi / da = -log(pi) / a,   d log pi / db = t e^t / (a b (-expm1(t)))      (u held fixed)
//   moments   E[pi^m] = b B(1 + m/a, b)     (Jones 2009); mean: m = 1
//   KL        KL(Kumaraswamy(a, b) || Beta(alpha, beta))                           (Nalisnick & Smyth 2017, app.)
//               = (1 - alpha/a) (-gamma_E - psi(b) - 1/b) + log(a b) + log B(alpha, beta) - (b - 1)/b
//                 + (beta - 1) b sum_{m >= 1} B(m/a, b) / (m + a b)
//             -gamma_E - psi(b) - 1/b = -H(b) (harmonic number, math/digamma.hpp) is a * E[log pi]; the series is
//             -E[log(1 - pi)] = sum_m E[pi^m] / m, truncated after `series_terms` terms. It vanishes for beta = 1,
//             the prior of beta-Bernoulli dropout, and then the KL is exact (log B(alpha, 1) = -log alpha):
//               KL = -(1 - alpha/a) H(b) + log(a b) - log(alpha) - (b - 1)/b                    (Nalisnick & Smyth
//               2017)
//   dKL/da    = -(alpha/a^2) H(b) + 1/a + (beta - 1) sum_m dT_m/da
//   dKL/db    = -(1 - alpha/a) H'(b) + 1/b - 1/b^2 + (beta - 1) sum_m dT_m/db,      H'(b) = psi'(b + 1)
//             with T_m = b B(m/a, b) / (m + a b):
//               dT_m/da = T_m [ -(m/a^2) (psi(m/a) - psi(m/a + b)) - b/(m + a b) ]
//               dT_m/db = T_m [ 1/b + psi(b) - psi(m/a + b) - a/(m + a b) ]
//             The series terms always use the exact digamma; DigammaKind::approximate replaces only H(b) and H'(b)
//             by the reference code's approximation, as that code does.
//
// Truncation of the series (beta != 1 only): T_m ~ Gamma(b + 1) a^b m^-(b+1) for large m, so the remainder after M
// terms is about Gamma(b + 1) a^b M^-b / b. The default 10 terms is a rough approximation; pass more when beta != 1
// matters (the layers use beta = 1).
//
// Arguments must be positive and finite; otherwise the results are NaN (no exceptions: used in element-wise loops).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <type_traits>

#include "bayesdrop/core/types.hpp"
#include "bayesdrop/math/digamma.hpp"

namespace bayesdrop {

/// Terms of sum_m B(m/a, b) / (m + a b) kept by default in the Kumaraswamy-Beta KL (beta != 1 only).
inline constexpr int kKumaraswamyKlSeriesTerms = 10;

/// log pi for pi = (1 - u^(1/b))^(1/a), computed as log(-expm1(log(u) / b)) / a. u in (0, 1]; u = 1 gives -inf.
template <class Scalar>
Scalar kumaraswamy_log_sample(Scalar a, Scalar b, Scalar u) {
  static_assert(std::is_floating_point_v<Scalar>, "kumaraswamy: float or double expected");
  const Scalar t = std::log(u) / b;  // log u^(1/b) <= 0
  return std::log(-std::expm1(t)) / a;
}

/// pi = (1 - u^(1/b))^(1/a), a Kumaraswamy(a, b) draw from u ~ U(0, 1], via kumaraswamy_log_sample.
template <class Scalar>
Scalar kumaraswamy_sample(Scalar a, Scalar b, Scalar u) {
  return std::exp(kumaraswamy_log_sample(a, b, u));
}

/// A reparameterised draw: log pi and its derivatives with respect to a and b at fixed u.
template <class Scalar>
struct KumaraswamyLogSample {
  Scalar log_pi = 0;
  Scalar d_a = 0;  ///< d log pi / da = -log(pi) / a
  Scalar d_b = 0;  ///< d log pi / db = t e^t / (a b (-expm1(t))), t = log(u) / b
};

/// log pi = log(-expm1(t)) / a with t = log(u) / b, and its gradient; u in (0, 1) (u = 1 has no finite gradient).
template <class Scalar>
KumaraswamyLogSample<Scalar> kumaraswamy_log_sample_grad(Scalar a, Scalar b, Scalar u) {
  static_assert(std::is_floating_point_v<Scalar>, "kumaraswamy: float or double expected");
  KumaraswamyLogSample<Scalar> s;
  const Scalar t = std::log(u) / b;
  const Scalar w = -std::expm1(t);  // 1 - u^(1/b) = pi^a
  s.log_pi = std::log(w) / a;
  s.d_a = -s.log_pi / a;
  // d log w / db = (1/w) (-e^t) (dt/db),  dt/db = -t/b
  s.d_b = t * std::exp(t) / (a * b * w);
  return s;
}

/// kumaraswamy_log_sample_grad element by element over arrays a, b, u of one size, into log_pi, d_a and d_b (resized;
/// no allocation once they have that size). u in (0, 1).
template <class DerivedA, class DerivedB, class DerivedU, class Out>
void kumaraswamy_log_sample_grad(const Eigen::ArrayBase<DerivedA>& a, const Eigen::ArrayBase<DerivedB>& b,
                                 const Eigen::ArrayBase<DerivedU>& u, Eigen::PlainObjectBase<Out>& log_pi,
                                 Eigen::PlainObjectBase<Out>& d_a, Eigen::PlainObjectBase<Out>& d_b) {
  using Scalar = typename Out::Scalar;
  const Index n = a.size();
  log_pi.resize(n, 1);
  d_a.resize(n, 1);
  d_b.resize(n, 1);
  auto&& t = d_b.array();
  auto&& w = log_pi.array();
  t = u.log() / b;                    // t = log(u) / b
  w = -t.expm1();                     // w = 1 - u^(1/b) = pi^a
  t = t * t.exp() / (a * b * w);      // d log pi / db = t e^t / (a b w)
  w = w.log() / a;                    // log pi = log(w) / a
  d_a.array() = -log_pi.array() / a;  // d log pi / da = -log(pi) / a
  static_assert(std::is_floating_point_v<Scalar>, "kumaraswamy: float or double expected");
}

/// log E[pi^m] = log b + lgamma(1 + m/a) + lgamma(b) - lgamma(1 + m/a + b), m > -a.
template <class Scalar>
Scalar kumaraswamy_log_moment(Scalar a, Scalar b, Scalar m) {
  static_assert(std::is_floating_point_v<Scalar>, "kumaraswamy: float or double expected");
  if (!(a > 0) || !(b > 0)) return std::numeric_limits<Scalar>::quiet_NaN();
  const Scalar x = Scalar(1) + m / a;
  return std::log(b) + std::lgamma(x) + std::lgamma(b) - std::lgamma(x + b);
}

/// E[pi^m] = b B(1 + m/a, b) (Jones 2009).
template <class Scalar>
Scalar kumaraswamy_moment(Scalar a, Scalar b, Scalar m) {
  return std::exp(kumaraswamy_log_moment(a, b, m));
}

/// E[pi] = b B(1 + 1/a, b).
template <class Scalar>
Scalar kumaraswamy_mean(Scalar a, Scalar b) {
  return kumaraswamy_moment(a, b, Scalar(1));
}

/// KL(Kumaraswamy(a, b) || Beta(alpha, beta)) and its partial derivatives in a and b.
template <class Scalar>
struct KumaraswamyBetaKl {
  Scalar value = 0;
  Scalar d_a = 0;  ///< d KL / da
  Scalar d_b = 0;  ///< d KL / db
};

/// The closed-form KL of Nalisnick & Smyth with its gradient (see the top of this header). H(b) uses `kind`; the
/// series (beta != 1 only) keeps `series_terms` terms and uses the exact digamma. NaN for non-positive arguments.
template <class Scalar>
KumaraswamyBetaKl<Scalar> kumaraswamy_beta_kl_with_grad(Scalar a, Scalar b, Scalar alpha, Scalar beta = Scalar(1),
                                                        DigammaKind kind = DigammaKind::exact,
                                                        int series_terms = kKumaraswamyKlSeriesTerms) {
  static_assert(std::is_floating_point_v<Scalar>, "kumaraswamy: float or double expected");
  KumaraswamyBetaKl<Scalar> r;
  if (!(a > 0) || !(b > 0) || !(alpha > 0) || !(beta > 0)) {
    r.value = r.d_a = r.d_b = std::numeric_limits<Scalar>::quiet_NaN();
    return r;
  }
  const Scalar one(1);
  const Scalar h = harmonic_number(b, kind);                 // gamma_E + psi(b) + 1/b
  const Scalar dh = harmonic_number_derivative(b, kind);     // psi'(b + 1)
  const Scalar log_beta_fn = beta == one ? -std::log(alpha)  // log B(alpha, 1) = -log alpha, exactly
                                         : std::lgamma(alpha) + std::lgamma(beta) - std::lgamma(alpha + beta);
  r.value = -(one - alpha / a) * h + std::log(a * b) + log_beta_fn - (b - one) / b;
  r.d_a = -(alpha / (a * a)) * h + one / a;
  r.d_b = -(one - alpha / a) * dh + one / b - one / (b * b);
  if (beta != one) {
    // (beta - 1) sum_m T_m, T_m = b B(m/a, b) / (m + a b)
    Scalar sum = 0, sum_da = 0, sum_db = 0;
    const Scalar lgamma_b = std::lgamma(b), psi_b = digamma(b);
    for (int m = 1; m <= series_terms; ++m) {
      const Scalar mm = Scalar(m), x = mm / a, denom = mm + a * b;
      const Scalar t = b * std::exp(std::lgamma(x) + lgamma_b - std::lgamma(x + b)) / denom;
      const Scalar psi_xb = digamma(x + b);
      sum += t;
      sum_da += t * (-(mm / (a * a)) * (digamma(x) - psi_xb) - b / denom);
      sum_db += t * (one / b + psi_b - psi_xb - a / denom);
    }
    r.value += (beta - one) * sum;
    r.d_a += (beta - one) * sum_da;
    r.d_b += (beta - one) * sum_db;
  }
  return r;
}

/// KL(Kumaraswamy(a, b) || Beta(alpha, beta)) alone; see kumaraswamy_beta_kl_with_grad.
template <class Scalar>
Scalar kumaraswamy_beta_kl(Scalar a, Scalar b, Scalar alpha, Scalar beta = Scalar(1),
                           DigammaKind kind = DigammaKind::exact, int series_terms = kKumaraswamyKlSeriesTerms) {
  return kumaraswamy_beta_kl_with_grad(a, b, alpha, beta, kind, series_terms).value;
}

}  // namespace bayesdrop
