// The ELBO as the methods' reference code minimises it, scaled to one example (the authors' repositories
// ars-ashuha/variational-dropout-sparsifies-dnn, necludov/group-sparsity-sbp, juho-lee/bbdrop):
//
//   total = mean cross-entropy + kl_weight * KL / N + L2,     L2 = weight_decay * 1/2 * sum of squared weights
//
// N is the training-set size. The L2 term is what a coupled weight decay in the optimiser adds to the gradient
// (d/dv of wd/2 v^2 = wd v), so the trainer reports it here but the optimiser applies it. A KL warm-up multiplies
// the KL by a weight that ramps from 0 to 1 over the first epochs (sparse VD's rw_linear).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/parameter.hpp"

namespace bayesdrop {

/// The parts of the per-example ELBO loss. All values are means or sums as documented, never pre-scaled.
struct ElboTerms {
  double cross_entropy = 0;  ///< mean cross-entropy over the examples
  double kl = 0;             ///< KL(q || p) summed over the model (not divided by N)
  double kl_weight = 1;      ///< warm-up weight of the KL term, in [0, 1] for the methods' schedules
  double n = 1;              ///< training-set size N that scales the KL to one example
  double l2 = 0;             ///< weight_decay * 1/2 * sum of squares of the decayed parameters

  /// mean CE + kl_weight * KL / N + L2.
  double total() const { return cross_entropy + kl_weight * kl / n + l2; }
  /// The KL part of total(), kl_weight * KL / N.
  double kl_term() const { return kl_weight * kl / n; }
};

/// Builds ElboTerms, checking that N is positive and the weight is finite and non-negative.
inline ElboTerms elbo_terms(double cross_entropy, double kl, double kl_weight, double n, double l2 = 0) {
  if (!(n > 0)) throw InvalidArgument("elbo_terms: the training-set size N must be positive, got " + std::to_string(n));
  if (!(kl_weight >= 0) || !std::isfinite(kl_weight)) {
    throw InvalidArgument("elbo_terms: kl_weight must be finite and >= 0, got " + std::to_string(kl_weight));
  }
  return ElboTerms{cross_entropy, kl, kl_weight, n, l2};
}

/// weight_decay * 1/2 * sum of squares over `params` (the L2 term of the loss for coupled decay).
template <class Scalar>
double l2_penalty(const std::vector<Parameter<Scalar>*>& params, double weight_decay) {
  double sum = 0;
  for (const auto* p : params) sum += double(p->value.template cast<double>().squaredNorm());
  return weight_decay * 0.5 * sum;
}

/// KL weight per epoch. Epochs are counted from 0 as in the reference scripts; fractional epochs (steps) are fine.
class KlSchedule {
 public:
  /// The same weight throughout (1 = the plain ELBO).
  static KlSchedule constant(double weight = 1.0) {
    if (!(weight >= 0) || !std::isfinite(weight)) {
      throw InvalidArgument("KlSchedule::constant: weight must be finite and >= 0, got " + std::to_string(weight));
    }
    KlSchedule s;
    s.constant_ = weight;
    return s;
  }

  /// 0 before epoch `start`, rising linearly to 1 at epoch `end`, 1 after. The sparse VD scripts' rw_linear is
  /// linear(5, 20): 0 for epochs 0-4, (epoch - 5) / 15 for 5-19, 1 from 20.
  static KlSchedule linear(double start, double end) {
    if (!(start >= 0) || !(end > start) || !std::isfinite(end)) {
      throw InvalidArgument("KlSchedule::linear: need 0 <= start < end, got start " + std::to_string(start) +
                            " and end " + std::to_string(end) + " (epochs)");
    }
    KlSchedule s;
    s.start_ = start;
    s.end_ = end;
    s.constant_ = -1;
    return s;
  }

  /// The weight at (0-based) `epoch`.
  double at(double epoch) const {
    if (constant_ >= 0) return constant_;
    if (epoch <= start_) return 0.0;
    return std::min(1.0, (epoch - start_) / (end_ - start_));
  }

  bool is_constant() const { return constant_ >= 0; }

 private:
  KlSchedule() = default;
  double constant_ = 1.0;  // < 0 marks the linear ramp
  double start_ = 0, end_ = 0;
};

}  // namespace bayesdrop
