// The KL approximation of variational dropout (Kingma, Salimans & Welling 2015, eq. (7)-(8)).
//
// @inproceedings{kingma2015variational,
//   title     = {Variational Dropout and the Local Reparameterization Trick},
//   author    = {Kingma, Diederik P. and Salimans, Tim and Welling, Max},
//   booktitle = {Advances in Neural Information Processing Systems 28},
//   year      = {2015}
// }
//
// For the multiplicative posterior w = theta * xi, xi ~ N(1, alpha), and the log-uniform prior, the KL divergence
// does not depend on theta and is fitted by a cubic in alpha on 0 < alpha <= 1:
//
//   -KL(alpha) = const + 0.5 log alpha + c1 alpha + c2 alpha^2 + c3 alpha^3
//   c1 = 1.16145124, c2 = -1.50204118, c3 = 0.58629921
//
// The fit is valid for alpha <= 1 only, so the layers cap alpha at 1 (log alpha <= 0).
//
// Constant. The prior is improper, so the KL is defined only up to `const`. These functions use const = 0, exactly
// as PyTorch re-implementations of the regulariser do (-(0.5 log alpha + c1 alpha + c2 alpha^2 + c3 alpha^3) summed
// over the alphas; the model scripts/compare-torch.sh times against is one):
//
//   kingma_kl(log_alpha) = -(0.5 log alpha + c1 alpha + c2 alpha^2 + c3 alpha^3)
//
// It is therefore NOT >= 0: it decreases monotonically on alpha in (0, 1] and reaches -0.24571 at alpha = 1 (the cap).
// A constant does not change any gradient; matching the script keeps reported KL values comparable with it.
//
// Derivative with respect to log alpha (d alpha / d log alpha = alpha):
//
//   d kingma_kl / d log_alpha = -(0.5 + c1 alpha + 2 c2 alpha^2 + 3 c3 alpha^3)
//
// The *_capped functions apply the cap as the reference does with log_alpha.clamp(max=0): the value uses
// min(log_alpha, 0), and the gradient is zero where log_alpha > 0 (passed through unchanged where log_alpha <= 0,
// PyTorch's clamp backward being inclusive at the bound).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

/// Coefficients of the cubic fit of -KL in alpha (Kingma, Salimans & Welling 2015, eq. (8)).
inline constexpr double kKingmaC1 = 1.16145124;
inline constexpr double kKingmaC2 = -1.50204118;
inline constexpr double kKingmaC3 = 0.58629921;
/// The fit holds for alpha <= 1: log alpha is capped at 0 (Kingma et al. 2015, section 3.3).
inline constexpr double kKingmaLogAlphaMax = 0.0;

/// -KL + const = 0.5 log alpha + c1 alpha + c2 alpha^2 + c3 alpha^3, no cap.
template <class Scalar>
Scalar kingma_neg_kl(Scalar log_alpha) {
  const Scalar a = std::exp(log_alpha);
  return Scalar(0.5) * log_alpha + a * (Scalar(kKingmaC1) + a * (Scalar(kKingmaC2) + a * Scalar(kKingmaC3)));
}

/// KL = -(0.5 log alpha + c1 alpha + c2 alpha^2 + c3 alpha^3) (constant 0, may be negative), no cap.
template <class Scalar>
Scalar kingma_kl(Scalar log_alpha) {
  return -kingma_neg_kl(log_alpha);
}

/// d kingma_kl / d log alpha = -(0.5 + c1 alpha + 2 c2 alpha^2 + 3 c3 alpha^3), no cap.
template <class Scalar>
Scalar kingma_kl_derivative(Scalar log_alpha) {
  const Scalar a = std::exp(log_alpha);
  return -(Scalar(0.5) + a * (Scalar(kKingmaC1) + a * (Scalar(2 * kKingmaC2) + a * Scalar(3 * kKingmaC3))));
}

/// kingma_kl at min(log_alpha, 0).
template <class Scalar>
Scalar kingma_kl_capped(Scalar log_alpha) {
  return kingma_kl(std::min(log_alpha, Scalar(kKingmaLogAlphaMax)));
}

/// d kingma_kl_capped / d log alpha: the uncapped derivative where log_alpha <= 0, zero above the cap.
template <class Scalar>
Scalar kingma_kl_capped_derivative(Scalar log_alpha) {
  return log_alpha <= Scalar(kKingmaLogAlphaMax) ? kingma_kl_derivative(log_alpha) : Scalar(0);
}

namespace detail {
/// Entries processed per block by the block functions below: a stack array that stays in L1 and lets Eigen
/// vectorise exp without a heap allocation.
inline constexpr Index kKingmaBlock = 256;
}  // namespace detail

/// Sum of kingma_kl_capped over every entry of `log_alpha` (a Matrix, Vector or Array), accumulated in double.
/// Allocates nothing.
template <class Derived>
double kingma_kl_capped_sum(const Eigen::PlainObjectBase<Derived>& log_alpha) {
  using Scalar = typename Derived::Scalar;
  using Block = Eigen::Array<Scalar, detail::kKingmaBlock, 1>;
  const Scalar* la = log_alpha.data();
  const Index n = log_alpha.size();
  double total = 0;
  Block l, a;
  for (Index s = 0; s < n; s += detail::kKingmaBlock) {
    const Index len = std::min(detail::kKingmaBlock, n - s);
    auto lh = l.head(len);
    auto ah = a.head(len);
    lh = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>(la + s, len).min(Scalar(kKingmaLogAlphaMax));
    ah = lh.exp();
    // -KL = 0.5 log alpha + alpha (c1 + alpha (c2 + alpha c3))
    total -=
        double((Scalar(0.5) * lh + ah * (Scalar(kKingmaC1) + ah * (Scalar(kKingmaC2) + ah * Scalar(kKingmaC3)))).sum());
  }
  return total;
}

/// grad += coeff * d kingma_kl_capped / d log alpha, entry by entry (grad has the shape of log_alpha).
/// Allocates nothing.
template <class DerivedL, class DerivedG>
void kingma_kl_capped_backward(const Eigen::PlainObjectBase<DerivedL>& log_alpha, typename DerivedL::Scalar coeff,
                               Eigen::PlainObjectBase<DerivedG>& grad) {
  using Scalar = typename DerivedL::Scalar;
  using Arr = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  using Block = Eigen::Array<Scalar, detail::kKingmaBlock, 1>;
  const Scalar* la = log_alpha.data();
  Scalar* g = grad.data();
  const Index n = log_alpha.size();
  Block a;
  for (Index s = 0; s < n; s += detail::kKingmaBlock) {
    const Index len = std::min(detail::kKingmaBlock, n - s);
    Eigen::Map<const Arr> l(la + s, len);
    auto ah = a.head(len);
    ah = l.min(Scalar(kKingmaLogAlphaMax)).exp();
    // d KL / d log alpha = -(0.5 + alpha (c1 + alpha (2 c2 + alpha 3 c3))), zero where log alpha > 0 (the cap)
    Eigen::Map<Arr>(g + s, len) -=
        (l <= Scalar(kKingmaLogAlphaMax))
            .select(coeff * (Scalar(0.5) +
                             ah * (Scalar(kKingmaC1) + ah * (Scalar(2 * kKingmaC2) + ah * Scalar(3 * kKingmaC3)))),
                    Scalar(0));
  }
}

}  // namespace bayesdrop
