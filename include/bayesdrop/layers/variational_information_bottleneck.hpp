// Variational information bottleneck gates (Dai et al. 2018): a learned Gaussian factor per unit whose KL term
// pushes units to the point where their noise drowns their signal, which prunes them.
//
// @inproceedings{dai2018compressing,
//   title     = {Compressing Neural Networks using the Variational Information Bottleneck},
//   author    = {Dai, Bin and Zhu, Chen and Guo, Baining and Wipf, David},
//   booktitle = {Proceedings of the 35th International Conference on Machine Learning},
//   year      = {2018}
// }
//
//   training:    y = x * z,   z = mu + sigma * eps,  sigma = exp(logvar / 2),  eps ~ N(0, 1) per example and unit
//                (for a channel gate: eps per example and channel, shared by the channel's H*W values)
//   evaluation:  y = x * mu   where log alpha = logvar - log(mu^2 + 1e-8) < 0;   y = 0 elsewhere (pruned)
//   KL:          sum over units k of  0.5 log(1 + mu_k^2 / (sigma_k^2 + 1e-8))   (Dai et al., eq. 9: the bound on
//                the information the layer passes on), times H*W for a channel gate
//   backward:    dx = dy * z;   with dz_kb = sum over the values of unit k of dy * x:
//                d mu_k += sum_b dz_kb,   d logvar_k += 0.5 sigma_k sum_b eps_kb dz_kb
//   KL gradient: with v = sigma^2 + 1e-8,  d KL / d mu = mu / (v + mu^2),
//                d KL / d logvar = -0.5 mu^2 sigma^2 / (v (v + mu^2))
//
// Parameters (role noise, units x 1): mu, started at N(1, 0.01^2), and logvar, at N(-9, 0.01^2): the authors'
// initialisation (OpenXAIProject/Variational_Dropouts, src/model/vib.py: init_mag 9, init_var 0.01), with their
// 1e-8 guards in the KL and in log alpha. The pruning threshold is theirs too (log alpha < 0 keeps a unit).
//
// Sparsity: n_active() counts the units with log alpha < 0; eval_scale() is mu on them and 0 elsewhere, so a trained
// VIB network compacts into a smaller plain one (the factor mu folds into the next weight layer).
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/layers/gate.hpp"

namespace bayesdrop {

struct VibOptions {
  double mu_mean = 1.0;       ///< mu starts at N(mu_mean, init_std^2)
  double logvar_mean = -9.0;  ///< logvar starts at N(logvar_mean, init_std^2)
  double init_std = 0.01;     ///< spread of both starts

  VibOptions& with_start(double mu, double logvar, double std_dev) {
    if (!std::isfinite(mu) || !std::isfinite(logvar) || !(std_dev >= 0) || !std::isfinite(std_dev)) {
      throw InvalidArgument("VibOptions: the start must be finite with a spread >= 0, got mu " + std::to_string(mu) +
                            ", logvar " + std::to_string(logvar) + ", spread " + std::to_string(std_dev));
    }
    mu_mean = mu;
    logvar_mean = logvar;
    init_std = std_dev;
    return *this;
  }
};

template <class Scalar>
class VariationalInformationBottleneck final : public Gate<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using typename Gate<Scalar>::VectorType;

  /// A VIB gate on `units` features.
  VariationalInformationBottleneck(Index units, Rng& rng, const VibOptions& options = {})
      : Gate<Scalar>(units, "VariationalInformationBottleneck"),
        mu_("mu", ParamRole::noise, units, 1),
        logvar_("logvar", ParamRole::noise, units, 1) {
    init(rng, options);
  }
  /// A VIB gate on the channels of a channels x height x width image.
  VariationalInformationBottleneck(ImageShape image, Rng& rng, const VibOptions& options = {})
      : Gate<Scalar>(image, "VariationalInformationBottleneck"),
        mu_("mu", ParamRole::noise, image.channels, 1),
        logvar_("logvar", ParamRole::noise, image.channels, 1) {
    init(rng, options);
  }

  std::string_view name() const override { return "VariationalInformationBottleneck"; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    if (!ctx.training()) {
      fill_eval_scale(scale_);
      this->scale_per_unit(x, scale_, y);
      return;
    }
    Rng& rng = this->training_rng(ctx);
    sigma_.array() = (Scalar(0.5) * logvar_.value.col(0).array()).exp();
    eps_.resize(this->units(), x.cols());
    rng.normal(eps_);
    z_.resize(this->units(), x.cols());
    z_.array() = (eps_.array().colwise() * sigma_.array()).colwise() + mu_.value.col(0).array();
    this->scale_per_example(x, z_, y);
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    if (dx) this->scale_per_example(dy, z_, *dx);
    this->grad_per_example(x, dy, dz_);
    mu_.grad.col(0) += dz_.rowwise().sum();
    logvar_.grad.col(0).array() += Scalar(0.5) * sigma_.array() * (dz_.array() * eps_.array()).rowwise().sum();
  }

  std::vector<Parameter<Scalar>*> parameters() override { return {&mu_, &logvar_}; }

  bool has_kl() const override { return true; }
  Scalar kl() const override {
    double sum = 0;
    for (Index k = 0; k < this->units(); ++k) {
      const double mu = double(mu_.value(k, 0)), v = std::exp(double(logvar_.value(k, 0))) + 1e-8;
      sum += 0.5 * std::log1p(mu * mu / v);
    }
    return Scalar(sum * double(this->spatial()));
  }

  void kl_backward(Scalar coeff) override {
    const double c = double(coeff) * double(this->spatial());
    for (Index k = 0; k < this->units(); ++k) {
      const double mu = double(mu_.value(k, 0)), s2 = std::exp(double(logvar_.value(k, 0))), v = s2 + 1e-8;
      mu_.grad(k, 0) += Scalar(c * mu / (v + mu * mu));
      logvar_.grad(k, 0) += Scalar(-c * 0.5 * mu * mu * s2 / (v * (v + mu * mu)));
    }
  }

  /// log alpha = logvar - log(mu^2 + 1e-8) of every unit: noise over signal; a unit is kept while it is < 0.
  VectorType log_alpha() const {
    return (logvar_.value.col(0).array() - (mu_.value.col(0).array().square() + Scalar(1e-8)).log()).matrix();
  }
  Index n_active() const override { return (log_alpha().array() < Scalar(0)).count(); }
  /// mu on the kept units, 0 on the pruned ones. Allocates.
  VectorType eval_scale() const override {
    VectorType s;
    fill_eval_scale(s);
    return s;
  }

  Parameter<Scalar>& mu() { return mu_; }
  const Parameter<Scalar>& mu() const { return mu_; }
  Parameter<Scalar>& logvar() { return logvar_; }
  const Parameter<Scalar>& logvar() const { return logvar_; }

 private:
  void init(Rng& rng, const VibOptions& o) {
    VibOptions{}.with_start(o.mu_mean, o.logvar_mean, o.init_std);  // validates an options struct filled in by hand
    rng.normal(mu_.value);
    mu_.value = (mu_.value.array() * Scalar(o.init_std) + Scalar(o.mu_mean)).matrix();
    rng.normal(logvar_.value);
    logvar_.value = (logvar_.value.array() * Scalar(o.init_std) + Scalar(o.logvar_mean)).matrix();
    sigma_.resize(this->units());
  }

  /// eval_scale() into a buffer the evaluation forward reuses.
  void fill_eval_scale(VectorType& s) const {
    s.resize(this->units());
    for (Index k = 0; k < this->units(); ++k) {
      const Scalar mu = mu_.value(k, 0);
      s[k] = logvar_.value(k, 0) - std::log(mu * mu + Scalar(1e-8)) < Scalar(0) ? mu : Scalar(0);
    }
  }

  Parameter<Scalar> mu_, logvar_;
  VectorType sigma_, scale_;
  MatrixType eps_, z_, dz_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(VariationalInformationBottleneck)

}  // namespace bayesdrop
