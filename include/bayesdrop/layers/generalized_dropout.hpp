// Generalized dropout (Srinivas and Babu 2016): a learned keep probability per unit with a Beta prior that drives
// unneeded units' probability to zero.
//
// @article{srinivas2016generalized,
//   title   = {Generalized Dropout},
//   author  = {Srinivas, Suraj and Babu, R. Venkatesh},
//   journal = {arXiv preprint arXiv:1611.06791},
//   year    = {2016}
// }
//
//   k = sigmoid(k_logit), the keep probability of a unit
//   training:    y = x * z,  z = sigmoid((logit(k) + logit(v)) / tau),  v ~ U(0, 1) per example and unit, tau = 0.1
//                (the relaxed Bernoulli of math/relaxed_bernoulli.hpp; no 1/k rescaling, as the authors' code)
//   evaluation:  y = x * k   where k > threshold (1e-3);  y = 0 elsewhere (pruned)
//   KL:          sum over units of -log Beta(k; alpha, beta)
//                = (1 - alpha) log k + (1 - beta) log(1 - k) + lgamma(alpha) + lgamma(beta) - lgamma(alpha + beta)
//                (alpha = 1e-3, beta = 0.5: a prior with its mass at k = 0 and k = 1, which favours switching off)
//   backward:    dx = dy * z;   d k_logit_k += sum_b dz_kb z_kb (1 - z_kb) / tau
//   KL gradient: d KL / d k_logit = ((1 - alpha) / k - (1 - beta) / (1 - k)) k (1 - k)
//                                 = (1 - alpha) (1 - k) - (1 - beta) k
//
// Settings: the BB authors' implementation of the comparison (OpenXAIProject/Variational_Dropouts,
// src/model/gendropout.py): k_logit starts at 0.8, alpha 1e-3, beta 0.5, threshold 1e-3, tau 0.1, one KL term per unit
// (also for a channel gate), and a 1e-20 guard inside the logs; the draw's v is clamped to [1e-6, 1 - 1e-6] as the
// beta-Bernoulli gates' is.
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/math/relaxed_bernoulli.hpp"

namespace bayesdrop {

struct GeneralizedDropoutOptions {
  double k_logit_init = 0.8;  ///< logit of the starting keep probability (k = 0.69)
  double alpha = 1e-3;        ///< Beta prior's alpha, in (0, 1]
  double beta = 0.5;          ///< Beta prior's beta, in (0, 1]
  double temperature = 0.1;   ///< of the relaxed Bernoulli draw
  double threshold = 1e-3;    ///< evaluation keeps a unit while k > threshold

  /// Throws InvalidArgument naming the first setting out of range.
  void validate() const {
    auto fail = [](const std::string& what) { throw InvalidArgument("GeneralizedDropoutOptions: " + what); };
    if (!std::isfinite(k_logit_init)) fail("k_logit_init must be finite, got " + std::to_string(k_logit_init));
    if (!(alpha > 0 && alpha <= 1)) fail("alpha must be in (0, 1], got " + std::to_string(alpha));
    if (!(beta > 0 && beta <= 1)) fail("beta must be in (0, 1], got " + std::to_string(beta));
    if (!(temperature > 0) || !std::isfinite(temperature))
      fail("temperature must be positive, got " + std::to_string(temperature));
    if (!(threshold >= 0 && threshold < 1)) fail("threshold must be in [0, 1), got " + std::to_string(threshold));
  }
};

template <class Scalar>
class GeneralizedDropout final : public Gate<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using typename Gate<Scalar>::VectorType;

  /// Generalized dropout on `units` features.
  explicit GeneralizedDropout(Index units, const GeneralizedDropoutOptions& options = {})
      : Gate<Scalar>(units, "GeneralizedDropout"), k_logit_("k_logit", ParamRole::noise, units, 1) {
    init(options);
  }
  /// Generalized dropout on the channels of a channels x height x width image.
  explicit GeneralizedDropout(ImageShape image, const GeneralizedDropoutOptions& options = {})
      : Gate<Scalar>(image, "GeneralizedDropout"), k_logit_("k_logit", ParamRole::noise, image.channels, 1) {
    init(options);
  }

  std::string_view name() const override { return "GeneralizedDropout"; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    if (!ctx.training()) {
      fill_eval_scale(scale_);
      this->scale_per_unit(x, scale_, y);
      return;
    }
    Rng& rng = this->training_rng(ctx);
    // odds of dropping, (1 - k) / k = exp(-k_logit), times (1 - v) / v per draw
    q_.array() = (-k_logit_.value.col(0).array()).exp();
    z_.resize(this->units(), x.cols());
    rng.uniform(z_);  // v, clamped to [1e-6, 1 - 1e-6], becomes z = 1 / (1 + (q (1 - v) / v)^(1/tau))
    detail::relaxed_bernoulli_gates(z_.data(), 0, z_.size(), q_, 1e-6, integer_power_,
                                    Scalar(1.0 / options_.temperature));
    this->scale_per_example(x, z_, y);
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    if (dx) this->scale_per_example(dy, z_, *dx);
    this->grad_per_example(x, dy, dz_);
    const Scalar inv_tau(1.0 / options_.temperature);
    k_logit_.grad.col(0) += (dz_.array() * z_.array() * (Scalar(1) - z_.array())).rowwise().sum().matrix() * inv_tau;
  }

  std::vector<Parameter<Scalar>*> parameters() override { return {&k_logit_}; }

  bool has_kl() const override { return true; }
  Scalar kl() const override {
    const double a = options_.alpha, b = options_.beta;
    const double log_beta_fn = std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
    double sum = 0;
    for (Index i = 0; i < this->units(); ++i) {
      const double k = keep(i);
      sum += (1 - a) * std::log(k + 1e-20) + (1 - b) * std::log(1 - k + 1e-20) + log_beta_fn;
    }
    return Scalar(sum);
  }

  void kl_backward(Scalar coeff) override {
    const double a = options_.alpha, b = options_.beta;
    for (Index i = 0; i < this->units(); ++i) {
      const double k = keep(i);
      // d/dk of the KL (with the logs' guards) times dk / d k_logit = k (1 - k)
      const double dk = (1 - a) / (k + 1e-20) - (1 - b) / (1 - k + 1e-20);
      k_logit_.grad(i, 0) += Scalar(double(coeff) * dk * k * (1 - k));
    }
  }

  /// The keep probabilities k = sigmoid(k_logit) (units x 1). Allocates.
  VectorType keep_probability() const {
    VectorType k(this->units());
    for (Index i = 0; i < this->units(); ++i) k[i] = Scalar(keep(i));
    return k;
  }
  Index n_active() const override {
    Index n = 0;
    for (Index i = 0; i < this->units(); ++i) n += keep(i) > options_.threshold;
    return n;
  }
  /// k on the kept units, 0 on the pruned ones. Allocates.
  VectorType eval_scale() const override {
    VectorType s;
    fill_eval_scale(s);
    return s;
  }

  Parameter<Scalar>& k_logit() { return k_logit_; }
  const Parameter<Scalar>& k_logit() const { return k_logit_; }
  const GeneralizedDropoutOptions& options() const { return options_; }

 private:
  /// sigmoid(k_logit) of unit i, in double, without overflow.
  double keep(Index i) const {
    const double t = double(k_logit_.value(i, 0));
    if (t >= 0) return 1.0 / (1.0 + std::exp(-t));
    const double e = std::exp(t);
    return e / (1.0 + e);
  }
  void fill_eval_scale(VectorType& s) const {
    s.resize(this->units());
    for (Index i = 0; i < this->units(); ++i) {
      const double k = keep(i);
      s[i] = k > options_.threshold ? Scalar(k) : Scalar(0);
    }
  }
  void init(const GeneralizedDropoutOptions& o) {
    o.validate();
    options_ = o;
    integer_power_ = detail::relaxed_integer_power(o.temperature);
    k_logit_.value.setConstant(Scalar(o.k_logit_init));
    q_.resize(this->units());
  }

  GeneralizedDropoutOptions options_;
  int integer_power_ = 0;
  Parameter<Scalar> k_logit_;
  VectorType q_, scale_;
  MatrixType z_, dz_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(GeneralizedDropout)

}  // namespace bayesdrop
