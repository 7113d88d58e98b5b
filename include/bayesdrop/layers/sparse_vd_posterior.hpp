// The per-weight posterior state of the sparse variational dropout layers (SparseVDLinear, SparseVDConv2d): the
// parameters theta, log sigma^2 and bias, the weight-level quantities of the training forward, their gradients, the
// KL and the pruning counts. The options and the choices behind their defaults are in layers/sparse_vd_options.hpp.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/init.hpp"
#include "bayesdrop/core/parallel.hpp"
#include "bayesdrop/core/parameter.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/types.hpp"
#include "bayesdrop/layers/sparse_vd_options.hpp"
#include "bayesdrop/math/kl_sparse_vd.hpp"

namespace bayesdrop {

namespace detail {

/// The parameters of a sparse VD layer whose weights form a rows x cols matrix (rows = outputs or output channels,
/// cols = inputs or patch entries), and everything computed per weight. Owned by the layer.
template <class Scalar>
class SparseVDPosterior {
 public:
  using MatrixType = Matrix<Scalar>;
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  SparseVDPosterior(Index rows, Index cols, Index fan_in, Index fan_out, const SparseVDOptions& options,
                    const Init& default_init, Rng& rng)
      : theta("theta", ParamRole::weight, rows, cols),
        log_sigma2("log_sigma2", ParamRole::noise, rows, cols),
        bias("bias", ParamRole::bias, rows, 1),
        options_(options) {
    initialize(theta.value, fan_in, fan_out, options.init.value_or(default_init), rng);
    log_sigma2.value.setConstant(Scalar(options.log_sigma2_init));
  }

  const SparseVDOptions& options() const { return options_; }
  bool has_bias() const { return options_.bias; }
  /// Switches the training mask (train_clip) on or off; takes effect at the next training forward.
  void set_train_mask(bool m) { options_.train_mask = m; }

  /// Training forward, weight side: log alpha (clipped), alpha, the weight variances and, with train_mask, the
  /// masked mean, into member buffers (nothing allocated after the first call), in chunks over the threads.
  void prepare_train() {
    const Index rows = theta.value.rows(), cols = theta.value.cols();
    log_alpha_.resize(rows, cols);
    alpha_.resize(rows, cols);
    var_w_.resize(rows, cols);
    if (options_.train_mask) mean_w_.resize(rows, cols);
    const bool clipped = options_.variance == SparseVDVariance::clipped_alpha;
    const Scalar threshold = Scalar(options_.threshold);
    parallel_chunks(theta.value.size(), [&](Index s, Index len) {
      const auto th = segment(theta.value, s, len), ls2 = segment(log_sigma2.value, s, len);
      auto la = segment(log_alpha_, s, len), a = segment(alpha_, s, len), v = segment(var_w_, s, len);
      la = sparse_vd_log_alpha(th, ls2);
      a = la.exp();
      if (clipped) {
        v = a * th.square();  // sigma^2_eff = alpha theta^2
      } else {
        v = ls2.exp();  // sigma^2_eff = sigma^2
      }
      if (options_.train_mask) segment(mean_w_, s, len) = (la < threshold).select(th, Scalar(0));
    });
  }
  /// Mean weights of the last training forward (theta, or theta masked with train_mask).
  const MatrixType& mean_weight() const { return options_.train_mask ? mean_w_ : theta.value; }
  /// Weight variances of the last training forward, as a matrix for the variance-path product.
  Eigen::Map<const MatrixType> variance_weight() const {
    return Eigen::Map<const MatrixType>(var_w_.data(), var_w_.rows(), var_w_.cols());
  }

  /// Evaluation weights: theta with every weight of log alpha >= threshold set to zero (into a separate buffer,
  /// so an evaluation between a training forward and its backward changes nothing).
  const MatrixType& prepare_eval() {
    eval_la_ = sparse_vd_log_alpha(theta.value.array(), log_sigma2.value.array());
    eval_w_.resize(theta.value.rows(), theta.value.cols());
    const Scalar threshold = Scalar(options_.threshold);
    const Scalar* t = theta.value.data();
    const Scalar* la = eval_la_.data();
    Scalar* w = eval_w_.data();
    for (Index i = 0, n = eval_w_.size(); i < n; ++i) w[i] = la[i] < threshold ? t[i] : Scalar(0);
    return eval_w_;
  }

  /// Whether the mean-path gradient must be masked (and so go through a scratch matrix first).
  bool masks_mean_gradient() const { return options_.train_mask; }

  /// Adds the weight gradients of the last training forward, given G_mean = d loss / d mean_weight (only when
  /// masks_mean_gradient(), otherwise the layer has already added it to theta.grad; pass null) and
  /// G_var = d loss / d variance_weight:
  ///   theta.grad      += mask * G_mean + G_var * d var / d theta
  ///   log_sigma2.grad +=                 G_var * d var / d log sigma^2
  /// clipped_alpha: var = alpha theta^2, alpha = exp(clip(ls2 - log(theta^2 + e))); strictly inside the clip
  ///   d var / d ls2 = var,  d var / d theta = 2 theta alpha e / (theta^2 + e); at the clip: 0 and 2 theta alpha.
  /// sigma2: d var / d ls2 = var, d var / d theta = 0.
  /// One pass, plain arithmetic (the exponentials were cached by prepare_train).
  void accumulate_gradients(const MatrixType* g_mean, const MatrixType& g_var) {
    const Scalar e = Scalar(kSparseVDLogAlphaEpsilon), clip = Scalar(kSparseVDLogAlphaClip);
    const Scalar threshold = Scalar(options_.threshold);
    const bool clipped = options_.variance == SparseVDVariance::clipped_alpha;
    // Branch-free loops, every load and operation unconditional, so that they vectorise.
    parallel_chunks(theta.value.size(), [&](Index s, Index len) {
      const Scalar* __restrict t = theta.value.data() + s;
      const Scalar* __restrict la = log_alpha_.data() + s;
      const Scalar* __restrict a = alpha_.data() + s;
      const Scalar* __restrict v = var_w_.data() + s;
      const Scalar* __restrict gv = g_var.data() + s;
      Scalar* __restrict tg = theta.grad.data() + s;
      Scalar* __restrict lg = log_sigma2.grad.data() + s;
      const Scalar* __restrict gm = g_mean ? g_mean->data() + s : nullptr;
      // One loop per case, so that none tests a flag per weight; the mean part is added in the same statement as
      // before the loops were split, which keeps the results bit for bit.
      auto clipped_loop = [&](auto with_mean) {
        BAYESDROP_VECTORIZE
        for (Index i = 0; i < len; ++i) {
          const Scalar ti = t[i], lai = la[i], gvi = gv[i], vi = v[i];
          // inside = 1 strictly within the clip, else 0, used as a factor: with a select GCC sinks the division
          // into a branch (it will not speculate an operation that might trap) and the loop stays scalar.
          const Scalar inside = Scalar(std::abs(lai) < clip);
          const Scalar inner = inside * (e / (ti * ti + e)) + (Scalar(1) - inside);  // exact on both sides
          Scalar mean_part(0);
          if constexpr (decltype(with_mean)::value) mean_part = Scalar(lai < threshold) * gm[i];
          tg[i] += mean_part + gvi * (Scalar(2) * ti * a[i] * inner);
          lg[i] += inside * (gvi * vi);
        }
      };
      if (clipped) {
        if (gm) {
          clipped_loop(std::true_type{});
        } else {
          clipped_loop(std::false_type{});
        }
      } else {
        if (gm) {
          BAYESDROP_VECTORIZE
          for (Index i = 0; i < len; ++i) tg[i] += Scalar(la[i] < threshold) * gm[i];
        }
        BAYESDROP_VECTORIZE
        for (Index i = 0; i < len; ++i) lg[i] += gv[i] * v[i];
      }
    });
  }

  /// Sum over weights of the approximate KL at the clipped log alpha (accumulated in double).
  Scalar kl() const {
    const Array la = sparse_vd_log_alpha(theta.value.array(), log_sigma2.value.array());
    return Scalar(sparse_vd_kl(la).template cast<double>().sum());
  }

  /// theta.grad += coeff dKL/dtheta, log_sigma2.grad += coeff dKL/dls2, through the clipped log alpha:
  ///   dKL/dls2 = KL'(la) [inside],  dKL/dtheta = -KL'(la) 2 theta / (theta^2 + e) [inside],  0 at the clip.
  /// One pass over the weights: log alpha and KL' go through chunk-sized stack arrays (in L1), and the last loop
  /// is branch-free so that it vectorises (a conditional load here had kept it scalar, 4.6 ns a weight).
  void kl_backward(Scalar coeff) {
    const Scalar e = Scalar(kSparseVDLogAlphaEpsilon), clip = Scalar(kSparseVDLogAlphaClip);
    parallel_chunks(theta.value.size(), [&](Index s, Index len) {
      alignas(64) Scalar la_buffer[kParallelChunk], g_buffer[kParallelChunk];
      Eigen::Map<ArrayX> la_chunk(la_buffer, len), g_chunk(g_buffer, len);
      la_chunk = sparse_vd_log_alpha_unclipped(segment(theta.value, s, len), segment(log_sigma2.value, s, len));
      g_chunk = coeff * sparse_vd_kl_derivative(la_chunk);
      const Scalar* __restrict t = theta.value.data() + s;
      const Scalar* __restrict la = la_buffer;
      const Scalar* __restrict g = g_buffer;
      Scalar* __restrict tg = theta.grad.data() + s;
      Scalar* __restrict lg = log_sigma2.grad.data() + s;
      BAYESDROP_VECTORIZE
      for (Index i = 0; i < len; ++i) {
        const Scalar ti = t[i], gi = g[i];
        const Scalar kept = Scalar(std::abs(la[i]) < clip) * gi;  // a factor, not a select: see above
        lg[i] += kept;                                            // d la / d ls2 = 1
        tg[i] -= kept * Scalar(2) * ti / (ti * ti + e);           // d la / d theta = -2 theta / (theta^2 + e)
      }
    });
  }

  /// log alpha clipped to [-8, 8] at the current parameters.
  MatrixType log_alpha() const { return sparse_vd_log_alpha(theta.value.array(), log_sigma2.value.array()).matrix(); }
  /// 1 where a weight is kept by the evaluation rule (log alpha < threshold), else 0.
  Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic> kept() const {
    const Array la = sparse_vd_log_alpha(theta.value.array(), log_sigma2.value.array());
    return la < Scalar(options_.threshold);
  }
  std::int64_t kept_weights() const { return static_cast<std::int64_t>(kept().count()); }
  /// Rows with at least one kept weight.
  std::int64_t active_rows() const { return static_cast<std::int64_t>(kept().rowwise().any().count()); }
  /// Groups of `group` consecutive columns (an input, or an input channel's kh*kw patch entries) with at least
  /// one kept weight.
  std::int64_t active_column_groups(Index group) const {
    const auto k = kept();
    std::int64_t n = 0;
    for (Index g = 0; g * group < k.cols(); ++g) n += k.middleCols(g * group, group).any() ? 1 : 0;
    return n;
  }

  Parameter<Scalar> theta;       ///< mean of the weight posterior (the authors' W), role weight
  Parameter<Scalar> log_sigma2;  ///< log of the additive noise variance, role noise
  Parameter<Scalar> bias;        ///< additive bias per output (row), role bias

 private:
  using ArrayX = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  /// Entries [s, s + len) of a column-major matrix or array, as a 1-D array.
  template <class M>
  static Eigen::Map<ArrayX> segment(M& m, Index s, Index len) {
    return Eigen::Map<ArrayX>(m.data() + s, len);
  }
  template <class M>
  static Eigen::Map<const ArrayX> segment(const M& m, Index s, Index len) {
    return Eigen::Map<const ArrayX>(m.data() + s, len);
  }

  SparseVDOptions options_;
  Array log_alpha_, alpha_, var_w_, eval_la_;
  MatrixType mean_w_, eval_w_;
};

}  // namespace detail
}  // namespace bayesdrop
