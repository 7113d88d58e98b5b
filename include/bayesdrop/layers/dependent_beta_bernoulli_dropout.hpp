// Dependent beta-Bernoulli dropout (DBB, Lee et al. 2018): the beta-Bernoulli gate of a unit
// (layers/beta_bernoulli_dropout.hpp) times an input-dependent gate, so that each example switches off units the
// beta-Bernoulli part left on for the data set as a whole.
//
// @article{lee2018adaptive,
//   title   = {Adaptive Network Sparsification with Dependent Variational Beta-Bernoulli Dropout},
//   author  = {Lee, Juho and Kim, Saehoon and Yoon, Jaehong and Lee, Hae Beom and Yang, Eunho and Hwang, Sung Ju},
//   journal = {arXiv preprint arXiv:1805.10896},
//   year    = {2018}
// }
//
// For unit k (a feature, or a channel) and example n, with xbar_kn = x_kn for a feature and the mean of channel k
// over its H*W positions for a channel (global average pooling), read through a stop-gradient:
//   training:    xhat_kn = (xbar_kn - mu_k) / sqrt(var_k + eps)      batch mean and biased variance of xbar_k
//                h_kn = gamma_k xhat_kn + beta_k + sigma_k eps_k,   eps_k ~ N(0, 1): ONE draw per unit per batch
//                p_kn = clamp(h_kn, 1e-6, 1 - 1e-6)
//                d_kn = sigmoid((logit(p_kn) + logit(v_kn)) / tau),  v_kn ~ U(0, 1): relaxed Bernoulli(p_kn) per
//                       example and unit, temperature tau = 0.1
//                y = x * zbb * d      zbb: the beta-Bernoulli relaxed gate (pi_k drawn once per batch, zbb_kn per
//                                     example); for a channel both multiply all H*W values of channel k of example n
//                running_mean = (1 - m) running_mean + m mu, running_var = (1 - m) running_var + m var
//   evaluation:  h_kn = gamma_k (xbar_kn - running_mean_k) / sqrt(running_var_k + eps) + beta_k   (no noise)
//                z_kn = g_k clamp(h_kn, 0, 1),  g_k = E[pi_k] if E[pi_k] passes the beta-Bernoulli threshold, else 0
//                y = x * z_kn where z_kn > threshold (default 1e-3), else 0        (deterministic)
//                n_active() counts the units with g_k > 0 (the beta-Bernoulli level); n_active_per_example() the
//                units with z_kn > threshold per example, averaged over the examples evaluated since
//                reset_activity().
//   KL:          the shift beta_k is a random variable: q = N(beta_k, sigma_k^2), prior N(0, rho^2), rho = sqrt(5):
//                KL_k = log(rho / sigma_k) + (sigma_k^2 + beta_k^2) / (2 rho^2) - 1/2
//                (the reference code leaves out the constant -1/2 per unit, which changes no gradient), plus the
//                beta-Bernoulli KL when that part is trained too (train_beta_bernoulli).
//   backward:    dx = dy * zbb * d                      (no path through h: the input is read with a stop-gradient)
//                dd_kn = sum over the unit's values of dy * x * zbb
//                dh_kn = dd_kn d_kn (1 - d_kn) / (tau p_kn (1 - p_kn)) where 1e-6 < h_kn < 1 - 1e-6, else 0
//                dgamma_k += sum_n dh_kn xhat_kn,  dbeta_k += sum_n dh_kn,  draw_sigma_k += eps_k sum_n dh_kn
//                sigmoid(raw_sigma_k); the beta-Bernoulli part gets dy * d as its output gradient.
//
// Parameters (role noise, units x 1): gamma (starts at 1), beta (starts at shift_init = 10), raw_sigma with
// sigma = softplus(raw_sigma) (starts Glorot-uniform U(-sqrt(3/K), sqrt(3/K)) for K units, sigma near 0.69, as a
// TensorFlow [K] variable without an initialiser). The beta-Bernoulli part's raw_a and raw_b are state (saved with
// the model, never trained) unless train_beta_bernoulli is set; then they are parameters too. running_mean and
// running_var are state.
//
// The per-unit quantities (sigma, the KL and its gradient) are computed in double also for float layers.
// The options and the references' defaults: layers/dependent_beta_bernoulli_options.hpp; compact(): the
// evaluation rule z and the compact forms, layers/dependent_beta_bernoulli_compact.hpp. The batch normalisation
// of the gate's input shares BatchNorm1d's statistics (detail::BatchStatistics, layers/batch_norm1d.hpp); its
// running variance takes the biased batch variance, as TensorFlow's code does.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/init.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/layers/batch_norm1d.hpp"
#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_compact.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_options.hpp"
#include "bayesdrop/layers/gate.hpp"

namespace bayesdrop {

template <class Scalar>
class DependentBetaBernoulliDropout final : public Gate<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using typename Gate<Scalar>::VectorType;
  using Options = DependentBetaBernoulliOptions;

  /// One gate per feature of a `units`-long input. rng draws the Glorot initialisations (raw_sigma, and raw_b when
  /// the beta-Bernoulli options ask for it).
  DependentBetaBernoulliDropout(Index units, Rng& rng, Options options = {})
      : Gate<Scalar>(units, "DependentBetaBernoulliDropout"),
        options_(validated(options)),
        bb_(units, rng, options_.beta_bernoulli),
        gamma_("gamma", ParamRole::noise, units, 1),
        beta_("beta", ParamRole::noise, units, 1),
        raw_sigma_("raw_sigma", ParamRole::noise, units, 1) {
    init(rng);
  }
  /// One gate per channel of a channels x height x width image; the dependent part reads each channel's mean.
  DependentBetaBernoulliDropout(ImageShape image, Rng& rng, Options options = {})
      : Gate<Scalar>(image, "DependentBetaBernoulliDropout"),
        options_(validated(options)),
        bb_(image, rng, options_.beta_bernoulli),
        gamma_("gamma", ParamRole::noise, image.channels, 1),
        beta_("beta", ParamRole::noise, image.channels, 1),
        raw_sigma_("raw_sigma", ParamRole::noise, image.channels, 1) {
    init(rng);
  }

  std::string_view name() const override { return "DependentBetaBernoulliDropout"; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    Rng* rng = ctx.training() ? &this->training_rng(ctx) : nullptr;  // before any state changes
    const Index units = this->units(), batch = x.cols();
    const MatrixType& xb = detail::dbb_pooled(x, units, this->spatial(), pooled_);
    normalise(xb, ctx.batch_statistics());
    const auto gamma = gamma_.value.col(0).array();
    if (!ctx.training()) {
      // z = g clamp(h, 0, 1) where above the threshold, h = gamma xhat + beta; the tally counts the kept (k, n)
      g_ = bb_.eval_gate();
      d_.resize(units, batch);
      d_.array() = (stats_.x_hat.array().colwise() * gamma).colwise() + beta_.value.col(0).array();
      detail::dependent_eval_gate_in_place(d_, g_, options_.threshold);
      active_sum_ += double((d_.array() > Scalar(0)).count());
      examples_ += double(batch);
      this->scale_per_example(x, d_, y);
      return;
    }
    bb_.forward(x, y_bb_, ctx);  // x * zbb; draws the units' pi, then zbb per example and unit
    // h = gamma xhat + beta + sigma eps, eps ~ N(0, 1) once per unit for the batch
    detail::bb_softplus(raw_sigma_.value.col(0), sigma_, dsigma_);  // sigma = softplus(raw_sigma), slope sigmoid
    eps_.resize(units);
    rng->normal(eps_);
    shift_.array() = beta_.value.col(0).array() + (sigma_ * eps_).template cast<Scalar>();
    h_.resize(units, batch);
    h_.array() = (stats_.x_hat.array().colwise() * gamma).colwise() + shift_.array();
    // d = sigmoid((logit(p) + logit(v)) / tau) = 1 / (1 + ((1 - p) / p * (1 - v) / v)^(1/tau)), p = clamp(h),
    // v clamped to [eps, 1 - eps], drawn into d itself.
    d_.resize(units, batch);
    rng->uniform(d_);
    const Scalar lo(kBetaBernoulliClamp), hi(1.0 - kBetaBernoulliClamp), inv_tau(1.0 / options_.temperature);
    base_.resize(units);
    power_.resize(units);
    for (Index j = 0; j < batch; ++j) {
      auto dj = d_.col(j).array();
      const auto v = dj.max(lo).min(hi);
      const auto p = h_.col(j).array().max(lo).min(hi);
      base_.array() = (Scalar(1) - v) / v * ((Scalar(1) - p) / p);
      detail::relaxed_bernoulli_from_odds(base_, integer_power_, inv_tau, power_, dj);
    }
    this->scale_per_example(y_bb_, d_, y);
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    // dd_kn = sum over the unit's values of dy * x * zbb, then dh = dd d (1 - d) / (tau p (1 - p)) inside the clamp
    this->grad_per_example(y_bb_, dy, dh_);
    const Scalar lo(kBetaBernoulliClamp), hi(1.0 - kBetaBernoulliClamp), inv_tau(1.0 / options_.temperature);
    const auto h = h_.array();
    dh_.array() =
        (h > lo && h < hi)
            .select(dh_.array() * d_.array() * (Scalar(1) - d_.array()) * inv_tau / (h * (Scalar(1) - h)), Scalar(0));
    sum_dh_ = dh_.rowwise().sum();
    gamma_.grad.col(0).array() += (dh_.array() * stats_.x_hat.array()).rowwise().sum();
    beta_.grad.col(0) += sum_dh_;
    raw_sigma_.grad.col(0).array() +=
        (sum_dh_.template cast<double>().array() * eps_ * dsigma_).template cast<Scalar>();
    // The beta-Bernoulli part sees dy * d: its own parameters' gradient, and dx = dy * zbb * d.
    if (dx || options_.train_beta_bernoulli) {
      this->scale_per_example(dy, d_, dy_bb_);
      bb_.backward(x, dy_bb_, dx);
      if (!options_.train_beta_bernoulli) {  // frozen: its gradients are not wanted (and nobody would clear them)
        bb_.raw_a().grad.setZero();
        bb_.raw_b().grad.setZero();
      }
    }
  }

  /// gamma, beta, raw_sigma; with train_beta_bernoulli raw_a and raw_b first.
  std::vector<Parameter<Scalar>*> parameters() override {
    if (options_.train_beta_bernoulli) return {&bb_.raw_a(), &bb_.raw_b(), &gamma_, &beta_, &raw_sigma_};
    return {&gamma_, &beta_, &raw_sigma_};
  }
  /// The frozen beta-Bernoulli raw_a and raw_b (unless trained), running_mean, running_var.
  std::vector<StateTensor<Scalar>> state() override {
    std::vector<StateTensor<Scalar>> s;
    if (!options_.train_beta_bernoulli) {
      s.push_back({"raw_a", &bb_.raw_a().value});
      s.push_back({"raw_b", &bb_.raw_b().value});
    }
    s.push_back({"running_mean", &running_mean_});
    s.push_back({"running_var", &running_var_});
    return s;
  }

  bool has_kl() const override { return true; }
  /// sum_k KL(N(beta_k, sigma_k^2) || N(0, rho^2)), plus the beta-Bernoulli KL when that part is trained.
  Scalar kl() const override {
    const double rho2 = options_.prior_std * options_.prior_std;
    double total = 0;
    for (Index k = 0; k < this->units(); ++k) {
      const double sigma = detail::bb_softplus(double(raw_sigma_.value(k, 0))), beta = double(beta_.value(k, 0));
      // log(rho / sigma) + (sigma^2 + beta^2) / (2 rho^2) - 1/2
      total += std::log(options_.prior_std / sigma) + (sigma * sigma + beta * beta) / (2 * rho2) - 0.5;
    }
    if (options_.train_beta_bernoulli) total += double(bb_.kl());
    return Scalar(total);
  }

  /// beta.grad += coeff beta / rho^2; raw_sigma.grad += coeff (sigma / rho^2 - 1 / sigma) sigmoid(raw_sigma).
  void kl_backward(Scalar coeff) override {
    const double rho2 = options_.prior_std * options_.prior_std, c = double(coeff);
    for (Index k = 0; k < this->units(); ++k) {
      const double raw = double(raw_sigma_.value(k, 0)), sigma = detail::bb_softplus(raw);
      beta_.grad(k, 0) += Scalar(c * double(beta_.value(k, 0)) / rho2);
      raw_sigma_.grad(k, 0) += Scalar(c * (sigma / rho2 - 1.0 / sigma) * detail::bb_sigmoid(raw));
    }
    if (options_.train_beta_bernoulli) bb_.kl_backward(coeff);
  }

  /// Units the beta-Bernoulli part keeps (E[pi] above its threshold): the most any example uses.
  Index n_active() const override { return bb_.n_active(); }
  /// Units with z > threshold per example, averaged over the examples of the evaluation forwards since
  /// reset_activity() (n_active() before any).
  double n_active_per_example() const override { return examples_ > 0 ? active_sum_ / examples_ : double(n_active()); }
  void reset_activity() override { active_sum_ = examples_ = 0; }
  /// The beta-Bernoulli factor g (E[pi] where kept, else 0): an input-dependent factor in [0, 1] multiplies it.
  VectorType eval_scale() const override { return bb_.eval_gate(); }

  /// compact(): the units the beta-Bernoulli part pruned go; the others keep an input-dependent gate.
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override {
    // h = slope xbar + offset with slope = gamma / sqrt(running_var + eps), offset = beta - slope running_mean
    const VectorType slope =
        (gamma_.value.col(0).array() * (running_var_.col(0).array() + Scalar(options_.bn_eps)).rsqrt()).matrix();
    const VectorType offset = (beta_.value.col(0).array() - slope.array() * running_mean_.col(0).array()).matrix();
    return std::make_shared<DependentGateForm<Scalar>>(bb_.eval_gate(), slope, offset, options_.threshold,
                                                       this->spatial());
  }

  const Options& options() const { return options_; }
  /// The beta-Bernoulli part (its raw_a and raw_b, E[pi], n_active).
  BetaBernoulliDropout<Scalar>& beta_bernoulli() { return bb_; }
  const BetaBernoulliDropout<Scalar>& beta_bernoulli() const { return bb_; }
  Parameter<Scalar>& gamma() { return gamma_; }
  Parameter<Scalar>& beta() { return beta_; }
  Parameter<Scalar>& raw_sigma() { return raw_sigma_; }
  const Parameter<Scalar>& gamma() const { return gamma_; }
  const Parameter<Scalar>& beta() const { return beta_; }
  const Parameter<Scalar>& raw_sigma() const { return raw_sigma_; }
  /// sigma = softplus(raw_sigma) per unit. Allocates.
  VectorType sigma() const {
    VectorType v(this->units());
    for (Index k = 0; k < this->units(); ++k) v[k] = Scalar(detail::bb_softplus(double(raw_sigma_.value(k, 0))));
    return v;
  }
  const MatrixType& running_mean() const { return running_mean_; }
  const MatrixType& running_var() const { return running_var_; }
  /// The dependent factor d of the last training forward (units x B), or the whole factor z of the last evaluation.
  const MatrixType& dependent_gate() const { return d_; }
  /// eps of the last training forward, one per unit (the shift's noise). Allocates.
  VectorType sampled_shift_noise() const { return eps_.template cast<Scalar>().matrix(); }
  /// h of the last training forward (units x B): gamma xhat + beta + sigma eps, before the clamp.
  const MatrixType& gate_input() const { return h_; }

 private:
  static Options validated(const Options& o) {
    o.validate();
    return o;
  }

  void init(Rng& rng) {
    integer_power_ = detail::relaxed_integer_power(options_.temperature);
    gamma_.value.setOnes();
    beta_.value.setConstant(Scalar(options_.shift_init));
    if (options_.sigma_kind == Options::SigmaInit::glorot_uniform) {
      // TF glorot_uniform of a rank-1 [K] variable: fan_in = fan_out = K, limit sqrt(6 / 2K) = sqrt(3 / K)
      initialize(raw_sigma_.value, this->units(), this->units(), Init::glorot_uniform(), rng);
    } else {
      raw_sigma_.value.setConstant(Scalar(options_.raw_sigma_init));
    }
    running_mean_ = MatrixType::Zero(this->units(), 1);
    running_var_ = MatrixType::Ones(this->units(), 1);
  }

  // stats_.x_hat from xbar: with the batch's mean and biased variance (BatchNorm1d's statistics; the running ones
  // take the biased variance, as TensorFlow's code does), or with the running ones
  void normalise(const MatrixType& xb, bool batch_statistics) {
    if (batch_statistics) {
      stats_.compute(xb, options_.bn_eps);
      const Scalar m(options_.bn_momentum);
      stats_.update_running(running_mean_, running_var_, m, m);
    } else {
      stats_.mean = running_mean_.col(0);
      stats_.inv_std.resize(this->units());
      stats_.inv_std.array() = (running_var_.col(0).array() + Scalar(options_.bn_eps)).rsqrt();
      stats_.x_hat = xb.colwise() - stats_.mean;
      stats_.x_hat.array().colwise() *= stats_.inv_std.array();
    }
  }

  Options options_;
  BetaBernoulliDropout<Scalar> bb_;
  Parameter<Scalar> gamma_, beta_, raw_sigma_;
  MatrixType running_mean_, running_var_;
  int integer_power_ = 0;  ///< 1/tau when it is an integer in [1, 64], else 0
  // caches of the last forward: pooled input, its normalisation (x_hat and the statistics), h, the dependent factor
  // d (training) or the whole evaluation factor z, x * zbb, and gradient scratch
  MatrixType pooled_, h_, d_, y_bb_, dh_, dy_bb_;
  detail::BatchStatistics<Scalar> stats_;
  VectorType shift_, base_, power_, sum_dh_, g_;
  Eigen::ArrayXd sigma_, dsigma_, eps_;   ///< per unit, double: sigma, d sigma / d raw_sigma, the shift noise
  double active_sum_ = 0, examples_ = 0;  ///< tally of n_active_per_example()
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(DependentBetaBernoulliDropout)

}  // namespace bayesdrop
