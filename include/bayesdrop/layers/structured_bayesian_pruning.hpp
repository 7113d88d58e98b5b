// Structured Bayesian pruning (Neklyudov et al. 2017): one multiplicative factor theta_k per unit (input feature of a
// dense layer, or channel of a convolution), with a truncated log-normal posterior and a truncated log-uniform
// prior; units whose factor is too noisy (signal-to-noise ratio <= 1) are removed at test time.
//
// @inproceedings{neklyudov2017structured,
//   title     = {Structured Bayesian Pruning via Log-Normal Multiplicative Noise},
//   author    = {Neklyudov, Kirill and Molchanov, Dmitry and Ashukha, Arsenii and Vetrov, Dmitry},
//   booktitle = {Advances in Neural Information Processing Systems 30},
//   year      = {2017}
// }
//
//   posterior:   log theta_k ~ N(mu_k, sigma_k^2) truncated to [a, b] = [-20, 0], sigma_k = exp(log_sigma_k)
//   prior:       log theta_k ~ U[a, b]
//   training:    u_k ~ U(0, 1]: ONE draw per unit per minibatch, shared by all examples of the batch;
//                log theta_k = mu_k + sigma_k Phi^-1(Phi(alpha_k) + u_k Z_k)   (inverse cdf, reparameterised)
//                y = x * theta       (for a channel gate theta_k multiplies all H*W values of channel k)
//   evaluation:  y = x * E[theta] * 1[SNR > threshold]   (deterministic, no noise drawn)
//                E[theta] = exp(mu + sigma^2/2) (Phi(beta - sigma) - Phi(alpha - sigma)) / Z,
//                SNR = E[theta] / sqrt(Var theta), threshold 1 (strict >)
//   KL:          sum_k  log(b - a) - log sigma_k - log Z_k - (alpha_k phi(alpha_k) - beta_k phi(beta_k)) / (2 Z_k)
//                       - log sqrt(2 pi e)                     (exact; Neklyudov et al. 2017)
//   backward:    dx = dy * theta
//                d mu_k        += (sum over the batch and the unit's values of dy * x) * theta_k * d log theta_k / d
//                mu_k d log_sigma_k += (same) * theta_k * d log theta_k / d log_sigma_k (d log theta / d mu and / d log
//                sigma: implicit differentiation of Phi((log theta - mu)/sigma) = Phi(alpha) + u Z at fixed u;
//                math/truncated_log_normal.hpp)
//   with alpha = (a - mu)/sigma, beta = (b - mu)/sigma, Z = Phi(beta) - Phi(alpha).
//
// Parameters (role noise, units x 1): mu (initialised to 0) and log_sigma (initialised to -5), so theta starts near
// 1: E[theta] = 0.99465, SNR = 246.7, KL = 7.2699 per unit. Both are clipped to
// [kSbpParamMin, kSbpParamMax] = [-20, 5] before use, as the reference code does; the gradient passes where the value
// is inside the range or on its bounds and is zero outside (torch.clamp's rule).
//
// All truncated-normal quantities are computed in log space, in double also for float layers (per unit per batch,
// so the cost is O(units), ~0.5 us a unit for the sample and ~0.1-0.2 us for the KL gradient):
// math/truncated_log_normal.hpp. The direct formulas give 0/0 once mu leaves [a, b]. Layers with at least
// kSbpParallelUnits units spread that work over Eigen::nbThreads() OpenMP threads (bitwise the same result).
// Evaluation-mode quantities (E[theta], SNR, the multiplier, n_active) are cached until mu or log sigma change.
//
// Design choices where the references differ (necludov/group-sparsity-sbp, Network-Structure-Dropout,
// juho-lee/bbdrop's PyTorch SBP, and PyTorch re-implementations):
//  - The sample is the exact inverse cdf. The reference code clips gamma = Phi(alpha) + u Z to [1e-5, 1 - 1e-5],
//    which freezes theta at e^b with zero gradient as soon as mu > b and sigma is small (both Phi(alpha) and Phi(beta)
//    round to 0, gamma is clipped to 1e-5, and mu + sigma Phi^-1(1e-5) > b is clipped to b). Here log theta is
//    clipped to [a, b] only against rounding, with the derivative passed through.
//  - The clipping of mu and log sigma to [-20, 5] is kept (all three reference implementations); a and b are options
//    (defaults -20 and 0), the clip range is not tied to them.
//  - KL: one term per unit, summed (the MLP scripts' scale_kl = None); the trainer divides by N.
//  - n_active: SNR > threshold, strict, threshold 1 (all references).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/parallel.hpp"
#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/math/truncated_log_normal.hpp"

namespace bayesdrop {

/// Lower end a of the support of log theta (`min_log = -20.0` in all three reference implementations).
inline constexpr double kSbpLogThetaMin = -20.0;
/// Upper end b of the support of log theta (`max_log = 0.0`, same sources): theta <= 1.
inline constexpr double kSbpLogThetaMax = 0.0;
/// mu and log sigma are clipped to [kSbpParamMin, kSbpParamMax] before use, as the reference implementations do.
inline constexpr double kSbpParamMin = -20.0;
/// Upper clip of mu and log sigma (same source).
inline constexpr double kSbpParamMax = 5.0;
/// A unit is kept when its SNR exceeds this (`thres = 1.0`, strict >; Neklyudov et al. 2017).
inline constexpr double kSbpSnrThreshold = 1.0;
/// Initial mu (the reference code: theta starts near 1).
inline constexpr double kSbpMuInit = 0.0;
/// Initial log sigma (the reference code).
inline constexpr double kSbpLogSigmaInit = -5.0;
/// Layers with at least this many units spread their per-unit sampling and KL gradients over Eigen::nbThreads()
/// OpenMP threads (when compiled with OpenMP); below it a thread team costs more than it saves.
inline constexpr Index kSbpParallelUnits = 256;

struct StructuredBayesianPruningOptions {
  double snr_threshold = kSbpSnrThreshold;   ///< keep a unit when SNR > this; finite, >= 0. Default: 1
  double mu_init = kSbpMuInit;               ///< initial mu of every unit; finite. Default: 0
  double log_sigma_init = kSbpLogSigmaInit;  ///< initial log sigma of every unit; finite. Default: -5
  double log_theta_min = kSbpLogThetaMin;    ///< a, the lower end of log theta; finite, < b. Default: -20
  double log_theta_max = kSbpLogThetaMax;    ///< b, the upper end of log theta; finite, > a. Default: 0

  StructuredBayesianPruningOptions& with_snr_threshold(double t) {
    snr_threshold = t;
    check_threshold();
    return *this;
  }
  StructuredBayesianPruningOptions& with_mu_init(double v) {
    mu_init = v;
    check_inits();
    return *this;
  }
  StructuredBayesianPruningOptions& with_log_sigma_init(double v) {
    log_sigma_init = v;
    check_inits();
    return *this;
  }
  /// The support [a, b] of log theta, a < b.
  StructuredBayesianPruningOptions& with_log_theta_range(double a, double b) {
    log_theta_min = a;
    log_theta_max = b;
    check_range();
    return *this;
  }

  /// Throws InvalidArgument naming the first invalid field (for structs filled in field by field).
  void validate() const {
    check_threshold();
    check_inits();
    check_range();
  }

 private:
  static void fail(const std::string& what) { throw InvalidArgument("StructuredBayesianPruningOptions: " + what); }
  void check_threshold() const {
    if (!(snr_threshold >= 0) || !std::isfinite(snr_threshold)) {
      fail("snr_threshold must be finite and >= 0, got " + std::to_string(snr_threshold) +
           " (the SNR is E[theta] / sd(theta) >= 0; the reference value is 1)");
    }
  }
  void check_inits() const {
    if (!std::isfinite(mu_init)) fail("mu_init must be finite, got " + std::to_string(mu_init) + " (default 0)");
    if (!std::isfinite(log_sigma_init)) {
      fail("log_sigma_init must be finite, got " + std::to_string(log_sigma_init) + " (default -5)");
    }
  }
  void check_range() const {
    if (!std::isfinite(log_theta_min) || !std::isfinite(log_theta_max) || !(log_theta_min < log_theta_max)) {
      fail("the support [a, b] of log theta needs finite a < b, got [" + std::to_string(log_theta_min) + ", " +
           std::to_string(log_theta_max) + "] (default [-20, 0])");
    }
  }
};

using SbpOptions = StructuredBayesianPruningOptions;

template <class Scalar>
class StructuredBayesianPruning final : public Gate<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using typename Gate<Scalar>::VectorType;
  using Options = StructuredBayesianPruningOptions;

  /// One factor per feature of a `units`-long input.
  explicit StructuredBayesianPruning(Index units, Options options = {})
      : Gate<Scalar>(units, "StructuredBayesianPruning"),
        options_(validated(options)),
        mu_("mu", ParamRole::noise, units, 1),
        log_sigma_("log_sigma", ParamRole::noise, units, 1) {
    init();
  }
  /// One factor per channel of a channels x height x width image.
  explicit StructuredBayesianPruning(ImageShape image, Options options = {})
      : Gate<Scalar>(image, "StructuredBayesianPruning"),
        options_(validated(options)),
        mu_("mu", ParamRole::noise, image.channels, 1),
        log_sigma_("log_sigma", ParamRole::noise, image.channels, 1) {
    init();
  }

  std::string_view name() const override { return "StructuredBayesianPruning"; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    if (!ctx.training()) {
      refresh_eval();
      this->scale_per_unit(x, multiplier_, y);
      return;
    }
    Rng& rng = this->training_rng(ctx);
    rng.uniform(u_);  // one uniform per unit per minibatch, on (0, 1]
    const double a = options_.log_theta_min, b = options_.log_theta_max;
    for_each_unit([&](Index k) {
      const double mu = double(mu_.value(k, 0)), ls = double(log_sigma_.value(k, 0));
      const auto s = truncated_log_normal_sample(clip(mu), clip(ls), a, b, double(u_[k]));
      const double theta = std::exp(s.log_theta);
      theta_[k] = Scalar(theta);
      // d theta / d parameter = theta * d log theta / d (clipped parameter) * 1[parameter inside the clip range]
      dtheta_dmu_[k] = inside(mu) ? Scalar(theta * s.d_mu) : Scalar(0);
      dtheta_dls_[k] = inside(ls) ? Scalar(theta * s.d_log_sigma) : Scalar(0);
    });
    this->scale_per_unit(x, theta_, y);
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    this->grad_per_unit(x, dy, dtheta_);  // d loss / d theta_k
    add_parameter_gradients();
    if (dx) this->scale_per_unit(dy, theta_, *dx);  // dx = dy * theta
  }

  /// Input-gate shortcut (core/layer.hpp): one factor theta per unit for the batch, on dense inputs. Not when a
  /// factor is so small that y = x theta loses precision (only with log_theta_min far below the default).
  bool row_scaled_output() const override {
    return this->spatial() == 1 && theta_.size() == this->units() &&
           (theta_.array() > std::sqrt(std::numeric_limits<Scalar>::min())).all();
  }
  /// d loss / d theta_k = g_k / theta_k, since g_k = sum_j y_kj dL/dy_kj and y = x theta.
  void backward_from_row_scale(const MatrixType& x, const VectorType& g) override {
    this->check_training_batch(x);
    dtheta_ = g.array() / theta_.array();
    add_parameter_gradients();
  }

  std::vector<Parameter<Scalar>*> parameters() override { return {&mu_, &log_sigma_}; }

  bool has_kl() const override { return true; }
  /// Sum over units of KL(truncated log-normal || log-uniform on [a, b]) at the clipped parameters.
  Scalar kl() const override {
    double sum = 0;
    for (Index k = 0; k < this->units(); ++k) sum += unit_kl(k).value;
    return Scalar(sum);
  }

  /// mu.grad += coeff * d kl() / d mu, log_sigma.grad likewise (zero outside the clip range).
  void kl_backward(Scalar coeff) override {
    const double c = double(coeff);
    for_each_unit([&](Index k) {
      const auto g = unit_kl(k);
      if (inside(double(mu_.value(k, 0)))) mu_.grad(k, 0) += Scalar(c * g.d_mu);
      if (inside(double(log_sigma_.value(k, 0)))) log_sigma_.grad(k, 0) += Scalar(c * g.d_log_sigma);
    });
  }

  /// Units with SNR > threshold: the ones the evaluation forward keeps.
  Index n_active() const override {
    refresh_eval();
    return n_active_;
  }

  const Options& options() const { return options_; }
  Parameter<Scalar>& mu() { return mu_; }
  Parameter<Scalar>& log_sigma() { return log_sigma_; }
  const Parameter<Scalar>& mu() const { return mu_; }
  const Parameter<Scalar>& log_sigma() const { return log_sigma_; }

  /// E[theta] per unit at the clipped parameters (before the SNR mask), for reports and pictures.
  const VectorType& expected_theta() const {
    refresh_eval();
    return mean_;
  }
  /// SNR = E[theta] / sd(theta) per unit (finite; up to ~1e18 for very concentrated factors).
  const VectorType& snr() const {
    refresh_eval();
    return snr_;
  }
  /// The evaluation-mode multiplier per unit: E[theta] where SNR > threshold, else 0.
  const VectorType& eval_multiplier() const {
    refresh_eval();
    return multiplier_;
  }
  VectorType eval_scale() const override { return eval_multiplier(); }
  /// The factors theta drawn by the most recent training forward (units x 1; zeros before the first).
  const VectorType& sampled_theta() const { return theta_; }

 private:
  /// mu.grad and log_sigma.grad += d loss / d theta (in dtheta_) times d theta / d parameter of the last sample.
  void add_parameter_gradients() {
    mu_.grad.col(0).array() += dtheta_.array() * dtheta_dmu_.array();
    log_sigma_.grad.col(0).array() += dtheta_.array() * dtheta_dls_.array();
  }
  static Options validated(const Options& o) {
    o.validate();
    return o;
  }
  static double clip(double v) { return std::fmin(std::fmax(v, kSbpParamMin), kSbpParamMax); }

  /// fn(k) for every unit k; on Eigen::nbThreads() OpenMP threads when there are at least kSbpParallelUnits units
  /// (the per-unit truncated-normal work costs ~0.5 us a unit, as much as a small matrix product). fn must only
  /// write to slots of unit k.
  template <class Fn>
  void for_each_unit(Fn&& fn) const {
    parallel_for(this->units(), kSbpParallelUnits, std::forward<Fn>(fn));
  }
  static bool inside(double v) { return v >= kSbpParamMin && v <= kSbpParamMax; }

  void init() {
    mu_.value.setConstant(Scalar(options_.mu_init));
    log_sigma_.value.setConstant(Scalar(options_.log_sigma_init));
    const Index n = this->units();
    u_.setZero(n);
    theta_.setZero(n);
    dtheta_dmu_.setZero(n);
    dtheta_dls_.setZero(n);
    dtheta_.setZero(n);
    mean_.setZero(n);
    snr_.setZero(n);
    multiplier_.setZero(n);
    cached_mu_.setZero(n);
    cached_log_sigma_.setZero(n);
  }

  TruncatedLogNormalKL<double> unit_kl(Index k) const {
    return truncated_log_normal_kl(clip(double(mu_.value(k, 0))), clip(double(log_sigma_.value(k, 0))),
                                   options_.log_theta_min, options_.log_theta_max);
  }

  /// Recomputes E[theta], the SNR and the evaluation multiplier when the parameters changed since the last time.
  void refresh_eval() const {
    if (eval_valid_ && (mu_.value.col(0).array() == cached_mu_.array()).all() &&
        (log_sigma_.value.col(0).array() == cached_log_sigma_.array()).all()) {
      return;
    }
    n_active_ = 0;
    for (Index k = 0; k < this->units(); ++k) {
      const auto m = truncated_log_normal_moments(clip(double(mu_.value(k, 0))), clip(double(log_sigma_.value(k, 0))),
                                                  options_.log_theta_min, options_.log_theta_max);
      mean_[k] = Scalar(m.mean);
      snr_[k] = Scalar(m.snr);
      const bool keep = m.snr > options_.snr_threshold;  // decided in double, so float and double layers agree
      multiplier_[k] = keep ? Scalar(m.mean) : Scalar(0);
      n_active_ += keep ? 1 : 0;
    }
    cached_mu_ = mu_.value.col(0);
    cached_log_sigma_ = log_sigma_.value.col(0);
    eval_valid_ = true;
  }

  Options options_;
  Parameter<Scalar> mu_, log_sigma_;
  // training: the uniforms, the factors and d theta / d (mu, log sigma) of the last draw; d loss / d theta
  VectorType u_, theta_, dtheta_dmu_, dtheta_dls_, dtheta_;
  // evaluation: E[theta], SNR and the multiplier, for the parameters they were computed at
  mutable VectorType mean_, snr_, multiplier_, cached_mu_, cached_log_sigma_;
  mutable Index n_active_ = 0;
  mutable bool eval_valid_ = false;
};

template <class Scalar>
using SBP = StructuredBayesianPruning<Scalar>;

BAYESDROP_EXTERN_CLASS_TEMPLATE(StructuredBayesianPruning)

}  // namespace bayesdrop
