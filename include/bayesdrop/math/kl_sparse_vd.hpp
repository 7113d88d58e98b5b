// Sparse variational dropout (Molchanov, Ashukha & Vetrov 2017): the log alpha of a weight and the approximate
// KL divergence from the log-uniform prior, with their derivatives.
//
// @inproceedings{molchanov2017variational,
//   title     = {Variational Dropout Sparsifies Deep Neural Networks},
//   author    = {Molchanov, Dmitry and Ashukha, Arsenii and Vetrov, Dmitry},
//   booktitle = {Proceedings of the 34th International Conference on Machine Learning},
//   pages     = {2498--2507},
//   year      = {2017}
// }
//
// Posterior of one weight (additive noise reparameterisation): w = theta + sigma eps, eps ~ N(0, 1), with
// alpha = sigma^2 / theta^2 derived from the trained theta and log sigma^2:
//
//   log alpha = clip(log sigma^2 - log(theta^2 + 1e-8), -8, 8)
//
// The clip is a hard clamp, as in the authors' Theano code (`T.switch(T.le(x, -8), -8, ...)`): its derivative is
// 1 strictly inside (-8, 8) and 0 at or beyond the bounds.
//
// KL approximation (paper eq. (14), constants k1, k2, k3 as in the paper and all reference code):
//
//   -KL(log alpha) ~= k1 sigmoid(k2 + k3 log alpha) - 0.5 log1p(exp(-log alpha)) - k1
//    KL(log alpha)  = k1 (1 - sigmoid(k2 + k3 log alpha)) + 0.5 softplus(-log alpha)
//   dKL/dlog alpha  = -k1 k3 s (1 - s) - 0.5 sigmoid(-log alpha),        s = sigmoid(k2 + k3 log alpha)
//
// KL > 0 everywhere and decreases to 0 as log alpha grows (the formula in double precision: 5.63578 at -10, 0.00017 at
// 8). softplus(t) = max(t, 0) + log1p(exp(-|t|)) never overflows.
//
// Each function exists for a scalar (float or double) and for an Eigen array expression; the array forms return
// lazy expressions, so a layer fuses them into one pass over its weights.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <type_traits>

namespace bayesdrop {

/// KL fit constants of Molchanov et al. 2017, eq. (14) (the authors' notebook refits 0.63619, 1.87475, 1.48841;
/// the paper and all reference code use these rounded values).
inline constexpr double kSparseVDK1 = 0.63576;
inline constexpr double kSparseVDK2 = 1.87320;
inline constexpr double kSparseVDK3 = 1.48695;
/// log alpha is clipped to [-8, 8] (authors' nets/layers.py `clip(mtx, to=8)`; google-research `value_limit=8`).
inline constexpr double kSparseVDLogAlphaClip = 8.0;
/// Added to theta^2 inside the log (authors' conv layer `T.log(W**2 + 1e-8)`; google-research `common.EPSILON`).
inline constexpr double kSparseVDLogAlphaEpsilon = 1e-8;
/// Weights with log alpha >= 3 are pruned (alpha > e^3 ~ 20, a binary dropout rate above 0.95; paper §4.3, the
/// authors' `T.ge(log_alpha, thresh=3)` and google-research `tf.less(log_alpha, 3.0)` keep mask).
inline constexpr double kSparseVDLogAlphaThreshold = 3.0;
/// Added to the pre-activation variance under the square root (authors' nets/layers.py `T.sqrt(... + 1e-8)`).
inline constexpr double kSparseVDVarianceEpsilon = 1e-8;

// --- scalars -----------------------------------------------------------------------------------------------------

/// Unclipped log alpha = log sigma^2 - log(theta^2 + 1e-8).
template <class Scalar, class = std::enable_if_t<std::is_floating_point_v<Scalar>>>
Scalar sparse_vd_log_alpha_unclipped(Scalar theta, Scalar log_sigma2) {
  return log_sigma2 - std::log(theta * theta + Scalar(kSparseVDLogAlphaEpsilon));
}

/// log alpha clipped to [-8, 8].
template <class Scalar, class = std::enable_if_t<std::is_floating_point_v<Scalar>>>
Scalar sparse_vd_log_alpha(Scalar theta, Scalar log_sigma2) {
  const Scalar la = sparse_vd_log_alpha_unclipped(theta, log_sigma2);
  const Scalar c = Scalar(kSparseVDLogAlphaClip);
  return la < -c ? -c : (la > c ? c : la);
}

/// Whether the clip passes gradients at this unclipped log alpha: strictly inside (-8, 8).
template <class Scalar, class = std::enable_if_t<std::is_floating_point_v<Scalar>>>
bool sparse_vd_log_alpha_inside(Scalar unclipped) {
  return std::abs(unclipped) < Scalar(kSparseVDLogAlphaClip);
}

/// Approximate KL(q(w) || p(w)) of one weight, given its log alpha (not clipped here).
template <class Scalar, class = std::enable_if_t<std::is_floating_point_v<Scalar>>>
Scalar sparse_vd_kl(Scalar log_alpha) {
  const Scalar s = Scalar(1) / (Scalar(1) + std::exp(-(Scalar(kSparseVDK2) + Scalar(kSparseVDK3) * log_alpha)));
  const Scalar t = -log_alpha;
  const Scalar softplus = (t > 0 ? t : Scalar(0)) + std::log1p(std::exp(-std::abs(t)));
  return Scalar(kSparseVDK1) * (Scalar(1) - s) + Scalar(0.5) * softplus;
}

/// d sparse_vd_kl / d log alpha.
template <class Scalar, class = std::enable_if_t<std::is_floating_point_v<Scalar>>>
Scalar sparse_vd_kl_derivative(Scalar log_alpha) {
  const Scalar s = Scalar(1) / (Scalar(1) + std::exp(-(Scalar(kSparseVDK2) + Scalar(kSparseVDK3) * log_alpha)));
  const Scalar sig_neg = Scalar(1) / (Scalar(1) + std::exp(log_alpha));  // sigmoid(-log alpha)
  return -Scalar(kSparseVDK1 * kSparseVDK3) * s * (Scalar(1) - s) - Scalar(0.5) * sig_neg;
}

// --- arrays (lazy Eigen expressions; arguments must outlive the returned expression) ----------------------------

/// Unclipped log alpha, entry by entry.
template <class DT, class DS>
auto sparse_vd_log_alpha_unclipped(const Eigen::ArrayBase<DT>& theta, const Eigen::ArrayBase<DS>& log_sigma2) {
  using Scalar = typename DT::Scalar;
  return log_sigma2.derived() - (theta.derived().square() + Scalar(kSparseVDLogAlphaEpsilon)).log();
}

/// log alpha clipped to [-8, 8], entry by entry.
template <class DT, class DS>
auto sparse_vd_log_alpha(const Eigen::ArrayBase<DT>& theta, const Eigen::ArrayBase<DS>& log_sigma2) {
  using Scalar = typename DT::Scalar;
  return sparse_vd_log_alpha_unclipped(theta, log_sigma2)
      .max(Scalar(-kSparseVDLogAlphaClip))
      .min(Scalar(kSparseVDLogAlphaClip));
}

/// Approximate KL per weight, entry by entry.
template <class D>
auto sparse_vd_kl(const Eigen::ArrayBase<D>& log_alpha) {
  using Scalar = typename D::Scalar;
  const auto& la = log_alpha.derived();
  return Scalar(kSparseVDK1) * (Scalar(1) - (Scalar(kSparseVDK2) + Scalar(kSparseVDK3) * la).logistic()) +
         Scalar(0.5) * ((-la).max(Scalar(0)) + (-la.abs()).exp().log1p());
}

/// d sparse_vd_kl / d log alpha, entry by entry; s (1 - s) is written sigmoid(z) sigmoid(-z).
template <class D>
auto sparse_vd_kl_derivative(const Eigen::ArrayBase<D>& log_alpha) {
  using Scalar = typename D::Scalar;
  const auto& la = log_alpha.derived();
  return -Scalar(kSparseVDK1 * kSparseVDK3) * (Scalar(kSparseVDK2) + Scalar(kSparseVDK3) * la).logistic() *
             (-Scalar(kSparseVDK2) - Scalar(kSparseVDK3) * la).logistic() -
         Scalar(0.5) * (-la).logistic();
}

}  // namespace bayesdrop
