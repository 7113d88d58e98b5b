// L0 gates (Louizos, Welling and Kingma 2018): a hard-concrete gate per unit, exactly 0 or 1 with positive
// probability, and a penalty on the expected number of weights the gates leave on.
//
// @inproceedings{louizos2018learning,
//   title     = {Learning Sparse Neural Networks through {L_0} Regularization},
//   author    = {Louizos, Christos and Welling, Max and Kingma, Diederik P.},
//   booktitle = {International Conference on Learning Representations},
//   year      = {2018}
// }
//
//   training:    u ~ U(1e-6, 1 - 1e-6) per example and unit,
//                s = sigmoid((log u - log(1 - u) + log_alpha) / beta),   s_bar = s (zeta - gamma) + gamma,
//                z = min(1, max(0, s_bar))          (eq. 10; beta = 2/3, gamma = -0.1, zeta = 1.1)
//   evaluation:  z = min(1, max(0, sigmoid(log_alpha) (zeta - gamma) + gamma))   (eq. 13: deterministic)
//   penalty:     lambda * w * sum over units of P(z != 0) = lambda * w * sum sigmoid(log_alpha - beta log(-gamma /
//   zeta))
//                (eq. 12), w = the weights a unit gates (GateSite::weights_per_unit: its row of the next dense layer,
//                its conv filter), so that the penalty counts weights as the authors' L0Dense and L0Conv2d do
//   backward:    dx = dy * z;   d log_alpha_k += sum_b dz_kb (zeta - gamma) s_kb (1 - s_kb) / beta  where 0 < s_bar < 1
//
// Settings of the authors' code (AMLab-Amsterdam/L0_regularization, l0_layers.py, models.py): log_alpha starts at
// N(log((1 - p) / p), 0.01^2) from the drop rate p (their MLP: 0.2 on the pixels, 0.5 on hidden units, which is
// GateSite::drop_rate()), and log_alpha is kept in [log 1e-2, log 1e2] (their constrain_parameters after every step;
// here a projection at the start of each training forward). Their penalty also reweights a weight decay by
// P(z != 0); bayesdrop's recipes keep weight decay in the optimiser instead. lambda is set per experiment there
// (models.py defaults to 1 per weight); here 0.01 per weight: one epoch of the MNIST MLP with the assignment's recipe
// reaches 95.14 % with it and 94.82 % with 0.1 (bayesdrop-mnist --dropout l0 --epochs 1, seed 1).
//
// The penalty is this layer's kl(): the ELBO adds kl() / N, as the authors' loss adds regularization() / N.
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/layers/gate.hpp"

namespace bayesdrop {

struct L0GateOptions {
  double drop_rate = 0.5;           ///< log_alpha starts at log((1 - p) / p)
  double init_std = 0.01;           ///< spread of log_alpha's start
  double lambda = 0.01;             ///< penalty per expected weight left on
  Index weights_per_unit = 1;       ///< weights each unit gates (the penalty's w)
  double beta = 2.0 / 3.0;          ///< temperature of the hard concrete
  double gamma = -0.1, zeta = 1.1;  ///< the stretch interval (gamma, zeta)

  /// Throws InvalidArgument naming the first setting out of range.
  void validate() const {
    auto fail = [](const std::string& what) { throw InvalidArgument("L0GateOptions: " + what); };
    if (!(drop_rate > 0 && drop_rate < 1)) fail("drop_rate must be in (0, 1), got " + std::to_string(drop_rate));
    if (!(init_std >= 0) || !std::isfinite(init_std)) fail("init_std must be >= 0, got " + std::to_string(init_std));
    if (!(lambda >= 0) || !std::isfinite(lambda)) fail("lambda must be >= 0, got " + std::to_string(lambda));
    if (weights_per_unit < 1) fail("weights_per_unit must be >= 1, got " + std::to_string(weights_per_unit));
    if (!(beta > 0) || !std::isfinite(beta)) fail("beta must be positive, got " + std::to_string(beta));
    if (!(gamma < 0 && zeta > 1)) {
      fail("the stretch needs gamma < 0 and zeta > 1, got " + std::to_string(gamma) + " and " + std::to_string(zeta));
    }
  }
};

template <class Scalar>
class L0Gate final : public Gate<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using typename Gate<Scalar>::VectorType;

  /// log_alpha's range, [log 1e-2, log 1e2] (the authors' constrain_parameters).
  static constexpr double kLogAlphaMin = -4.605170185988091, kLogAlphaMax = 4.605170185988091;

  /// L0 gates on `units` features.
  L0Gate(Index units, Rng& rng, const L0GateOptions& options = {})
      : Gate<Scalar>(units, "L0Gate"), log_alpha_("log_alpha", ParamRole::noise, units, 1) {
    init(rng, options);
  }
  /// L0 gates on the channels of a channels x height x width image.
  L0Gate(ImageShape image, Rng& rng, const L0GateOptions& options = {})
      : Gate<Scalar>(image, "L0Gate"), log_alpha_("log_alpha", ParamRole::noise, image.channels, 1) {
    init(rng, options);
  }

  std::string_view name() const override { return "L0Gate"; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    if (!ctx.training()) {
      fill_eval_scale(scale_);
      this->scale_per_unit(x, scale_, y);
      return;
    }
    Rng& rng = this->training_rng(ctx);
    project();
    const Scalar lo(1e-6), hi(1.0 - 1e-6), inv_beta(1.0 / o_.beta), stretch(o_.zeta - o_.gamma), gamma(o_.gamma);
    s_.resize(this->units(), x.cols());
    rng.uniform(s_);
    s_.array() = s_.array().max(lo).min(hi);
    // s = sigmoid((logit u + log_alpha) / beta)
    s_.array() =
        (((s_.array() / (Scalar(1) - s_.array())).log()).colwise() + log_alpha_.value.col(0).array()) * inv_beta;
    s_.array() = Scalar(1) / (Scalar(1) + (-s_.array()).exp());
    z_ = (s_.array() * stretch + gamma).max(Scalar(0)).min(Scalar(1)).matrix();
    this->scale_per_example(x, z_, y);
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    if (dx) this->scale_per_example(dy, z_, *dx);
    this->grad_per_example(x, dy, dz_);
    const Scalar stretch(o_.zeta - o_.gamma), inv_beta(1.0 / o_.beta);
    // the clamp passes no gradient where it binds (z = 0 or z = 1)
    const auto inside = ((z_.array() > Scalar(0)) && (z_.array() < Scalar(1))).template cast<Scalar>();
    log_alpha_.grad.col(0) +=
        (dz_.array() * inside * s_.array() * (Scalar(1) - s_.array())).rowwise().sum().matrix() * (stretch * inv_beta);
  }

  std::vector<Parameter<Scalar>*> parameters() override { return {&log_alpha_}; }

  /// The expected-L0 penalty (see the header comment); a KL in the ELBO's sense.
  bool has_kl() const override { return true; }
  Scalar kl() const override {
    double sum = 0;
    for (Index k = 0; k < this->units(); ++k) sum += sigmoid(double(log_alpha_.value(k, 0)) - shift());
    return Scalar(penalty_per_gate() * sum);
  }
  void kl_backward(Scalar coeff) override {
    const double c = double(coeff) * penalty_per_gate();
    for (Index k = 0; k < this->units(); ++k) {
      const double p = sigmoid(double(log_alpha_.value(k, 0)) - shift());
      log_alpha_.grad(k, 0) += Scalar(c * p * (1 - p));
    }
  }

  /// P(z != 0) of every unit: the probability that the gate lets it through in training. Allocates.
  VectorType probability_nonzero() const {
    VectorType p(this->units());
    for (Index k = 0; k < this->units(); ++k) p[k] = Scalar(sigmoid(double(log_alpha_.value(k, 0)) - shift()));
    return p;
  }
  Index n_active() const override {
    VectorType s;
    fill_eval_scale(s);
    return (s.array() > Scalar(0)).count();
  }
  /// The deterministic test-time gate of every unit (0 for a pruned unit). Allocates.
  VectorType eval_scale() const override {
    VectorType s;
    fill_eval_scale(s);
    return s;
  }

  /// log_alpha = clamp(log_alpha, [log 1e-2, log 1e2]): what every training forward applies first.
  void project() { log_alpha_.value = log_alpha_.value.cwiseMax(Scalar(kLogAlphaMin)).cwiseMin(Scalar(kLogAlphaMax)); }

  Parameter<Scalar>& log_alpha() { return log_alpha_; }
  const Parameter<Scalar>& log_alpha() const { return log_alpha_; }
  const L0GateOptions& options() const { return o_; }

 private:
  static double sigmoid(double t) {
    if (t >= 0) return 1.0 / (1.0 + std::exp(-t));
    const double e = std::exp(t);
    return e / (1.0 + e);
  }
  /// beta log(-gamma / zeta): P(z != 0) = sigmoid(log_alpha - shift()).
  double shift() const { return o_.beta * std::log(-o_.gamma / o_.zeta); }
  double penalty_per_gate() const { return o_.lambda * double(o_.weights_per_unit); }

  void fill_eval_scale(VectorType& s) const {
    s.resize(this->units());
    for (Index k = 0; k < this->units(); ++k) {
      const double g = sigmoid(double(log_alpha_.value(k, 0))) * (o_.zeta - o_.gamma) + o_.gamma;
      s[k] = Scalar(std::min(1.0, std::max(0.0, g)));
    }
  }
  void init(Rng& rng, const L0GateOptions& o) {
    o.validate();
    o_ = o;
    rng.normal(log_alpha_.value);
    const double mean = std::log((1 - o.drop_rate) / o.drop_rate);
    log_alpha_.value = (log_alpha_.value.array() * Scalar(o.init_std) + Scalar(mean)).matrix();
  }

  L0GateOptions o_;
  Parameter<Scalar> log_alpha_;
  VectorType scale_;
  MatrixType s_, z_, dz_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(L0Gate)

}  // namespace bayesdrop
