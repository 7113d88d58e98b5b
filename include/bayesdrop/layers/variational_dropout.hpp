// Variational dropout, type A (Kingma et al. 2015): Gaussian dropout on units with a LEARNED noise variance alpha.
//
// @inproceedings{kingma2015variational,
//   title     = {Variational Dropout and the Local Reparameterization Trick},
//   author    = {Kingma, Diederik P. and Salimans, Tim and Welling, Max},
//   booktitle = {Advances in Neural Information Processing Systems 28},
//   year      = {2015}
// }
//
//   training:    y = x * z,   z = 1 + sqrt(alpha) * eps,  eps ~ N(0, 1) per example and per unit,
//                alpha = exp(log_alpha), log_alpha <= 0   (reparameterised: gradients reach log_alpha; the cap is a
//                projection, below)
//                (for a channel gate: eps per example and per channel, shared by the channel's H*W values)
//   evaluation:  y = x        (the mean of the noise is 1; deterministic, no noise drawn)
//   KL:          sum over units k of kingma_kl(min(log_alpha_k, 0))
//                = -sum_k (0.5 log alpha_k + c1 alpha_k + c2 alpha_k^2 + c3 alpha_k^3)   (math/kl_variational.hpp)
//   backward:    dx = dy * z
//                d log_alpha_k += 0.5 sqrt(alpha_k) sum_b eps_kb * (sum over the values of unit k of dy * x)
//
// Parameter: log_alpha (role noise), units x 1 (one alpha per unit, the default) or 1 x 1 (one alpha shared by the
// layer: VariationalDropoutOptions::with_shared_alpha(true)). Initialised to log(p / (1 - p)) from the drop rate p of
// the binary dropout being replaced (0 < p <= 0.5; default 0.5, i.e. log_alpha = 0), as the gngdb replication
// (gngdb/variational-dropout) does.
//
// Design choices where the references differ:
//  - The cap alpha <= 1. Kingma et al. fit the KL on 0 < alpha <= 1 only and cap alpha at 1 for stability (Sec. 3.3
//    and 3.4); they cap it, they do not freeze it. The cap is a PROJECTION: every training forward first sets
//    log_alpha = min(log_alpha, 0) (project_onto_cap(); the optimiser's last step may have pushed a unit over), and
//    the gradient passes unchanged at the cap. That is projected gradient descent, with the projection applied
//    lazily at the next use instead of by a hook every optimiser and training loop would have to call. Why not the
//    alternatives: a clip with a zero gradient above the cap (log_alpha.clamp(max=0) in a PyTorch model) freezes
//    every unit that momentum pushes over the cap for good, and the hidden units start AT the cap (p = 0.5): after
//    one MNIST epoch most of them sat above it and never learned their alpha again. A squashing parameterisation
//    (gngdb's alpha = sigmoid(logit), or log_alpha = -softplus(raw)) has a gradient that vanishes as alpha nears
//    1, so a unit near the cap learns slowly, and it changes what the stored parameter means.
//  - The KL has no additive constant, exactly as the reference's kl() (so it is negative near the cap, down to
//    -0.24571 per unit at alpha = 1); gradients do not depend on the constant.
//  - The KL counts one term per noise variable of an example, i.e. per unit (not per outgoing weight), as
//    Kingma et al.'s type A (Sec. 3.2: one noise value per example and input unit) implies. With a shared alpha
//    there are still `units` noise variables, so the KL is units * kingma_kl(alpha).
//
// Sparsity: alpha <= 1 never switches a unit off, so every unit is active: n_active() == units().
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/math/kl_variational.hpp"

namespace bayesdrop {

struct VariationalDropoutOptions {
  double log_alpha = 0.0;     ///< initial log alpha, <= 0 (the cap). Default: 0, i.e. p = 0.5
  bool shared_alpha = false;  ///< one alpha for the whole layer instead of one per unit. Default: false

  /// Initial log alpha = log(p / (1 - p)) from a drop rate 0 < p <= 0.5 (alpha <= 1, the cap of the KL fit).
  VariationalDropoutOptions& with_p(double p) {
    if (!(p > 0.0 && p <= 0.5)) {
      throw InvalidArgument("VariationalDropoutOptions: the initial drop rate p must be in (0, 0.5], got " +
                            std::to_string(p) +
                            " (alpha = p / (1 - p) is capped at 1 by Kingma et al.'s KL approximation)");
    }
    log_alpha = std::log(p / (1.0 - p));
    return *this;
  }
  /// Initial log alpha directly; finite and <= 0.
  VariationalDropoutOptions& with_log_alpha(double la) {
    if (!std::isfinite(la) || la > kKingmaLogAlphaMax) {
      throw InvalidArgument("VariationalDropoutOptions: the initial log alpha must be finite and <= 0, got " +
                            std::to_string(la) + " (alpha is capped at 1, the range of Kingma et al.'s KL fit)");
    }
    log_alpha = la;
    return *this;
  }
  VariationalDropoutOptions& with_shared_alpha(bool shared) {
    shared_alpha = shared;
    return *this;
  }
};

template <class Scalar>
class VariationalDropout final : public Gate<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using typename Gate<Scalar>::VectorType;

  /// Variational dropout on `units` features, one alpha per unit, initialised from the drop rate p (0 < p <= 0.5).
  VariationalDropout(Index units, double p) : VariationalDropout(units, VariationalDropoutOptions{}.with_p(p)) {}
  VariationalDropout(Index units, VariationalDropoutOptions options)
      : Gate<Scalar>(units, "VariationalDropout"),
        log_alpha_("log_alpha", ParamRole::noise, options.shared_alpha ? 1 : units, 1) {
    init(options);
  }
  /// Variational dropout on whole channels of a channels x height x width image.
  VariationalDropout(ImageShape image, double p) : VariationalDropout(image, VariationalDropoutOptions{}.with_p(p)) {}
  VariationalDropout(ImageShape image, VariationalDropoutOptions options)
      : Gate<Scalar>(image, "VariationalDropout"),
        log_alpha_("log_alpha", ParamRole::noise, options.shared_alpha ? 1 : image.channels, 1) {
    init(options);
  }

  std::string_view name() const override { return "VariationalDropout"; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    if (!ctx.training()) {
      y = x;
      return;
    }
    Rng& rng = this->training_rng(ctx);
    project_onto_cap();
    // sqrt(alpha) per unit, alpha = exp(log_alpha)
    if (shared_) {
      sqrt_alpha_.setConstant(this->units(), std::exp(Scalar(0.5) * log_alpha_.value(0, 0)));
    } else {
      sqrt_alpha_.array() = (Scalar(0.5) * log_alpha_.value.col(0).array()).exp();
    }
    eps_.resize(this->units(), x.cols());
    rng.normal(eps_);
    if (this->spatial() == 1) {
      y.resize(x.rows(), x.cols());
      // y = x * (1 + sqrt(alpha) eps)
      y.array() = x.array() * (Scalar(1) + eps_.array().colwise() * sqrt_alpha_.array());
    } else {
      z_.resize(this->units(), x.cols());
      z_.array() = Scalar(1) + eps_.array().colwise() * sqrt_alpha_.array();
      this->scale_per_example(x, z_, y);
    }
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    // g_k = sum_b eps_kb * dz_kb, dz_kb = sum over the unit's values of dy * x (d loss / d z)
    if (this->spatial() == 1) {
      if (dx) {
        dx->resize(dy.rows(), dy.cols());
        dx->array() = dy.array() * (Scalar(1) + eps_.array().colwise() * sqrt_alpha_.array());  // dx = dy * z
      }
      g_ = (dy.array() * x.array() * eps_.array()).rowwise().sum().matrix();
    } else {
      if (dx) this->scale_per_example(dy, z_, *dx);
      this->grad_per_example(x, dy, dz_);
      g_ = (dz_.array() * eps_.array()).rowwise().sum().matrix();
    }
    // dz / d log_alpha = 0.5 sqrt(alpha) eps (the forward projected log_alpha onto the cap, where it passes)
    if (shared_) {
      log_alpha_.grad(0, 0) += Scalar(0.5) * sqrt_alpha_(0) * g_.sum();
    } else {
      log_alpha_.grad.col(0).array() += Scalar(0.5) * sqrt_alpha_.array() * g_.array();
    }
  }

  std::vector<Parameter<Scalar>*> parameters() override { return {&log_alpha_}; }

  bool has_kl() const override { return true; }
  /// sum over units of kingma_kl(min(log_alpha, 0)); a shared alpha counts once per unit.
  Scalar kl() const override { return Scalar(multiplicity() * kingma_kl_capped_sum(log_alpha_.value)); }

  /// log_alpha.grad += coeff * d kl() / d log_alpha (zero above the cap, which a training forward projects away).
  void kl_backward(Scalar coeff) override {
    kingma_kl_capped_backward(log_alpha_.value, coeff * Scalar(multiplicity()), log_alpha_.grad);
  }

  Index n_active() const override { return this->units(); }

  /// log_alpha = min(log_alpha, 0): the projection onto the cap alpha <= 1 that every training forward applies first.
  /// Call it yourself to see the values the next forward will use (e.g. after an optimiser step).
  void project_onto_cap() { log_alpha_.value = log_alpha_.value.cwiseMin(Scalar(kKingmaLogAlphaMax)); }

  Parameter<Scalar>& log_alpha() { return log_alpha_; }
  const Parameter<Scalar>& log_alpha() const { return log_alpha_; }
  bool shared_alpha() const { return shared_; }
  /// The capped alpha = exp(min(log_alpha, 0)) of every unit (units x 1; the shared value repeated). Allocates.
  VectorType alpha() const {
    if (shared_) return VectorType::Constant(this->units(), std::exp(capped(log_alpha_.value(0, 0))));
    return log_alpha_.value.col(0).array().min(Scalar(kKingmaLogAlphaMax)).exp().matrix();
  }

 private:
  static Scalar capped(Scalar la) { return std::min(la, Scalar(kKingmaLogAlphaMax)); }
  /// How many noise variables each log_alpha entry stands for in the KL.
  double multiplicity() const { return shared_ ? double(this->units()) : 1.0; }

  void init(const VariationalDropoutOptions& o) {
    VariationalDropoutOptions{}.with_log_alpha(o.log_alpha);  // validates an options struct filled in by hand
    shared_ = o.shared_alpha;
    log_alpha_.value.setConstant(Scalar(o.log_alpha));
  }

  Parameter<Scalar> log_alpha_;
  bool shared_ = false;
  VectorType sqrt_alpha_, g_;
  MatrixType eps_, z_, dz_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(VariationalDropout)

}  // namespace bayesdrop
