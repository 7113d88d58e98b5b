// Options of the sparse variational dropout layers (SparseVDLinear, SparseVDConv2d). The per-weight posterior both
// share (detail::SparseVDPosterior) is in layers/sparse_vd_posterior.hpp.
//
// Where the references disagree, the default follows the authors' Theano code (ars-ashuha/variational-dropout-
// sparsifies-dnn, nets/layers.py), which produced the paper's results, and the alternative is an option:
//
//  * Variance of the weight noise in the local reparameterisation (SparseVDVariance):
//      clipped_alpha (default)  sigma^2_eff = exp(clip(log alpha)) theta^2   the authors' code (`T.exp(log_alpha) *
//                               W * W`), and google-research's `clip_alpha=8` path up to its epsilon. Inside the clip
//                               it equals sigma^2 theta^2 / (theta^2 + 1e-8) ~= sigma^2; at the clip bounds the
//                               noise follows theta and log sigma^2 receives no data gradient, consistent with the
//                               clipped log alpha that the KL and the pruning rule see.
//      sigma2                   sigma^2_eff = exp(log sigma^2)   the paper's additive reparameterisation read
//                               literally, and google-research's default (`clip_alpha=None`).
//  * Mask during training (train_mask): the authors' layer defaults to train_clip=False, and both LeNet scripts pass
//    train_clip=True. Default false (the layer's default and the paper's model); set it to follow the scripts.
//  * theta initialisation: dense N(0, 0.01^2) (Lasagne init.Normal(), ars-ashuha/variational-dropout-sparsifies-dnn),
//  conv Glorot uniform (the conv
//    layer ignores its W=init.Normal() argument). Copies of the dense layer in Lasagne forks use GlorotNormal; pass
//    with_init(Init::glorot_normal()) for that, which also learns faster in the first epoch (std 0.01 starts every
//    weight at log alpha ~ -0.8, and small weights slow the first Adam steps of a deep ReLU net).
//  * Pruning: a weight is pruned iff its clipped log alpha >= threshold (3), as the authors' `T.ge` and
//    google-research's keep mask `log_alpha < 3` both do.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/init.hpp"
#include "bayesdrop/core/parallel.hpp"
#include "bayesdrop/core/parameter.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/types.hpp"
#include "bayesdrop/math/kl_sparse_vd.hpp"

namespace bayesdrop {

/// Which weight variance the training forward's variance path uses (see the header comment).
enum class SparseVDVariance {
  clipped_alpha,  ///< exp(clip(log alpha)) theta^2, the authors' code. Default
  sigma2,         ///< exp(log sigma^2), the literal additive reparameterisation
};

/// The log sigma^2 every weight starts from (authors' `ard_init=-10`; the DeepBayes notebook's log sigma = -5).
inline constexpr double kSparseVDLogSigma2Init = -10.0;
/// The theta initialiser of the authors' dense layer: Lasagne init.Normal(), std 0.01.
inline constexpr double kSparseVDDenseInitStd = 0.01;

struct SparseVDOptions {
  std::optional<Init> init;                         ///< theta initialiser. Default: unset = the layer's (see above)
  double log_sigma2_init = kSparseVDLogSigma2Init;  ///< finite. Default: -10
  double threshold = kSparseVDLogAlphaThreshold;    ///< prune where log alpha >= threshold, in [-8, 8]. Default: 3
  bool train_mask = false;                          ///< also prune the mean in training (train_clip). Default: false
  SparseVDVariance variance = SparseVDVariance::clipped_alpha;  ///< Default: clipped_alpha
  bool bias = true;                                             ///< learn an additive bias per output. Default: true

  SparseVDOptions& with_init(Init i) {
    init = i;
    return *this;
  }
  SparseVDOptions& with_log_sigma2_init(double v) {
    log_sigma2_init = v;
    validate("SparseVDOptions");
    return *this;
  }
  SparseVDOptions& with_threshold(double t) {
    threshold = t;
    validate("SparseVDOptions");
    return *this;
  }
  SparseVDOptions& with_train_mask(bool m) {
    train_mask = m;
    return *this;
  }
  SparseVDOptions& with_variance(SparseVDVariance v) {
    variance = v;
    return *this;
  }
  SparseVDOptions& with_bias(bool b) {
    bias = b;
    return *this;
  }

  /// Throws InvalidArgument, naming `who`, for a non-finite log sigma^2 init or a threshold outside [-8, 8].
  void validate(const char* who) const {
    if (!std::isfinite(log_sigma2_init)) {
      throw InvalidArgument(std::string(who) + ": log_sigma2_init must be finite, got " +
                            std::to_string(log_sigma2_init));
    }
    if (!(threshold >= -kSparseVDLogAlphaClip && threshold <= kSparseVDLogAlphaClip)) {
      throw InvalidArgument(std::string(who) +
                            ": the log alpha threshold must be in [-8, 8] (log alpha is clipped "
                            "to that range, so a threshold outside it prunes all or nothing), got " +
                            std::to_string(threshold));
    }
  }
};

}  // namespace bayesdrop
