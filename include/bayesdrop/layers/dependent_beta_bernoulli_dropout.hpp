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
// Where the references differ (the authors' class-style TensorFlow code, OpenXAIProject/Variational_Dropouts
// src/model/dbbdropout.py, which produced the published LeNet-500-300 points, and their PyTorch code,
// juho-lee/bbdrop modules/dbbdropout.py); the defaults follow the former:
//   option        default (class-style TF)             PyTorch
//   shift_init    10                                   1
//   raw_sigma     Glorot uniform (sigma ~ 0.69)        0.5413 (sigma = 1)
//   BN            momentum 0.01 (TF's 0.99), eps 1e-3  0.1, 1e-5
//   threshold     1e-3 on z                            1e-3 on z
// Both train only the dependent part (and the weights) from a finished beta-Bernoulli model, whose gates stay as
// they are: the default here. The running variance takes the biased batch variance, as TensorFlow's code does.
// The per-unit quantities (sigma, the KL and its gradient) are computed in double also for float layers.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/init.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/eval_only.hpp"
#include "bayesdrop/layers/gate.hpp"

namespace bayesdrop {

/// Threshold on the evaluation gate z = g clamp(h, 0, 1) per example (class-style TF and PyTorch code).
inline constexpr double kDependentGateThreshold = 1e-3;
/// Initial shift beta of the input-dependent gate in the class-style TF code: h starts near 10, the gate fully open.
inline constexpr double kDependentShiftInit = 10.0;
/// Initial shift in the authors' PyTorch code.
inline constexpr double kDependentShiftInitPyTorch = 1.0;
/// Standard deviation rho of the shift's prior N(0, rho^2): sqrt(5) in every reference implementation.
inline constexpr double kDependentShiftPriorStd = 2.2360679774997896964;  // sqrt(5)
/// Batch normalisation of the gate's input: weight of the new batch in the running statistics (TF momentum 0.99).
inline constexpr double kDependentBnMomentum = 0.01;
/// Batch normalisation of the gate's input: eps added to the variance (tf.nn.batch_normalization call of the code).
inline constexpr double kDependentBnEps = 1e-3;

struct DependentBetaBernoulliOptions {
  /// How raw_sigma starts.
  enum class SigmaInit {
    glorot_uniform,  ///< U(-sqrt(3/K), sqrt(3/K)) for K units (a TF [K] variable without initialiser; default)
    constant,        ///< every unit at raw_sigma_init (PyTorch: 0.5413, sigma = 1)
  };

  BetaBernoulliOptions beta_bernoulli{};             ///< the beta-Bernoulli part. Default: its defaults
  double threshold = kDependentGateThreshold;        ///< on z per example, in [0, 1). Default: 1e-3
  double temperature = kBetaBernoulliTemperature;    ///< of the dependent relaxed Bernoulli, > 0. Default: 0.1
  double shift_init = kDependentShiftInit;           ///< initial beta, finite. Default: 10
  double prior_std = kDependentShiftPriorStd;        ///< rho of N(0, rho^2), > 0. Default: sqrt(5)
  SigmaInit sigma_kind = SigmaInit::glorot_uniform;  ///< initialiser of raw_sigma. Default: Glorot uniform
  double raw_sigma_init = kBetaBernoulliRawBInit;    ///< raw_sigma for SigmaInit::constant. Default: 0.5413
  double bn_momentum = kDependentBnMomentum;         ///< new batch's weight in the running statistics, (0, 1]
  double bn_eps = kDependentBnEps;                   ///< added to the variance, > 0. Default: 1e-3
  bool train_beta_bernoulli = false;                 ///< train raw_a and raw_b too. Default: no (the authors')

  DependentBetaBernoulliOptions& with_beta_bernoulli(const BetaBernoulliOptions& o) {
    o.validate();
    beta_bernoulli = o;
    return *this;
  }
  DependentBetaBernoulliOptions& with_threshold(double v) {
    threshold = v;
    check_threshold();
    return *this;
  }
  DependentBetaBernoulliOptions& with_temperature(double v) {
    temperature = v;
    check_temperature();
    return *this;
  }
  DependentBetaBernoulliOptions& with_shift_init(double v) {
    shift_init = v;
    check_inits();
    return *this;
  }
  DependentBetaBernoulliOptions& with_prior_std(double v) {
    prior_std = v;
    check_prior();
    return *this;
  }
  /// raw_sigma starts at the constant v for every unit.
  DependentBetaBernoulliOptions& with_raw_sigma_init(double v) {
    sigma_kind = SigmaInit::constant;
    raw_sigma_init = v;
    check_inits();
    return *this;
  }
  DependentBetaBernoulliOptions& with_batch_norm(double momentum, double eps) {
    bn_momentum = momentum;
    bn_eps = eps;
    check_batch_norm();
    return *this;
  }
  DependentBetaBernoulliOptions& with_train_beta_bernoulli(bool on) {
    train_beta_bernoulli = on;
    return *this;
  }

  /// The authors' PyTorch variant (juho-lee/bbdrop): shift 1, sigma 1, PyTorch's batch-norm momentum and eps.
  static DependentBetaBernoulliOptions pytorch() {
    return DependentBetaBernoulliOptions{}
        .with_shift_init(kDependentShiftInitPyTorch)
        .with_raw_sigma_init(kBetaBernoulliRawBInit)
        .with_batch_norm(0.1, 1e-5);
  }

  /// Throws InvalidArgument naming the first invalid field (for structs filled in field by field).
  void validate() const {
    beta_bernoulli.validate();
    check_threshold();
    check_temperature();
    check_inits();
    check_prior();
    check_batch_norm();
  }

 private:
  static void fail(const std::string& what) { throw InvalidArgument("DependentBetaBernoulliOptions: " + what); }
  void check_threshold() const {
    if (!(threshold >= 0 && threshold < 1)) {
      fail("threshold on the per-example gate must be in [0, 1), got " + std::to_string(threshold) +
           "; the reference value is 1e-3");
    }
  }
  void check_temperature() const {
    if (!(temperature > 0) || !std::isfinite(temperature)) {
      fail("temperature of the dependent relaxed Bernoulli must be finite and > 0, got " + std::to_string(temperature) +
           "; the reference value is 0.1");
    }
  }
  void check_inits() const {
    if (!std::isfinite(shift_init)) fail("shift_init must be finite, got " + std::to_string(shift_init));
    if (!std::isfinite(raw_sigma_init)) fail("raw_sigma_init must be finite, got " + std::to_string(raw_sigma_init));
  }
  void check_prior() const {
    if (!(prior_std > 0) || !std::isfinite(prior_std)) {
      fail("prior_std (rho of the shift's prior N(0, rho^2)) must be finite and > 0, got " + std::to_string(prior_std) +
           "; the reference value is sqrt(5)");
    }
  }
  void check_batch_norm() const {
    if (!(bn_momentum > 0 && bn_momentum <= 1)) {
      fail("bn_momentum (the new batch's weight in the running statistics) must be in (0, 1], got " +
           std::to_string(bn_momentum) + "; TensorFlow's momentum 0.99 is 0.01 here");
    }
    if (!(bn_eps > 0) || !std::isfinite(bn_eps)) fail("bn_eps must be finite and > 0, got " + std::to_string(bn_eps));
  }
};

namespace detail {
/// Every unit's value of xbar per example: x itself for features, the mean over its H*W positions for a channel.
template <class Scalar>
const Matrix<Scalar>& dbb_pooled(const Matrix<Scalar>& x, Index units, Index spatial, Matrix<Scalar>& buffer) {
  if (spatial == 1) return x;
  buffer.resize(units, x.cols());
  const Scalar inv = Scalar(1) / Scalar(spatial);
  for (Index j = 0; j < x.cols(); ++j) {
    buffer.col(j).noalias() =
        Eigen::Map<const Matrix<Scalar>>(x.col(j).data(), spatial, units).colwise().sum().transpose() * inv;
  }
  return buffer;
}
}  // namespace detail

/// The evaluation of a compacted dependent beta-Bernoulli gate (models/compact.hpp): for its kept units,
/// y = x * z with z_kn = g_k clamp(A_k xbar_kn + B_k, 0, 1) where z_kn > threshold, else 0. A and B hold the batch
/// normalisation's running statistics and the scale at which compact() feeds the unit. Evaluation only.
template <class Scalar>
class CompactDependentGate final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using VectorType = Vector<Scalar>;

  CompactDependentGate(VectorType g, VectorType slope, VectorType offset, double threshold, Index spatial)
      : g_(std::move(g)), a_(std::move(slope)), b_(std::move(offset)), threshold_(threshold), spatial_(spatial) {
    if (g_.size() == 0 || a_.size() != g_.size() || b_.size() != g_.size() || spatial_ <= 0) {
      throw InvalidArgument(
          "CompactDependentGate: need one gate, slope and offset per kept unit and a positive "
          "spatial size, got " +
          std::to_string(g_.size()) + ", " + std::to_string(a_.size()) + ", " + std::to_string(b_.size()) + " and " +
          std::to_string(spatial_));
    }
  }

  std::string_view name() const override { return "CompactDependentGate"; }
  Index input_rows() const override { return g_.size() * spatial_; }
  Index output_rows() const override { return g_.size() * spatial_; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    if (ctx.training()) detail::throw_eval_only(name(), "Mode::train");
    this->check_input(x);
    const Index units = g_.size();
    const MatrixType& xb = detail::dbb_pooled(x, units, spatial_, pooled_);
    z_.resize(units, x.cols());
    z_.array() = ((xb.array().colwise() * a_.array()).colwise() + b_.array()).max(Scalar(0)).min(Scalar(1));
    z_.array().colwise() *= g_.array();
    z_ = (z_.array() > Scalar(threshold_)).select(z_, Scalar(0));
    y.resize(x.rows(), x.cols());
    for (Index j = 0; j < x.cols(); ++j) {
      Eigen::Map<MatrixType>(y.col(j).data(), spatial_, units) =
          Eigen::Map<const MatrixType>(x.col(j).data(), spatial_, units) * z_.col(j).asDiagonal();
    }
  }
  void backward(const MatrixType&, const MatrixType&, MatrixType*) override {
    detail::throw_eval_only(name(), "backward()");
  }

 private:
  VectorType g_, a_, b_;
  double threshold_;
  Index spatial_;
  MatrixType pooled_, z_;
};

/// How compact() takes a dependent gate: units the beta-Bernoulli part pruned become the constant 0; a unit fed a
/// constant c gives the constant c z(c); the kept live units get a CompactDependentGate of their own, whose slope
/// absorbs the scale s at which compact() feeds them (h is affine in xbar = s xbar_compact, and y = s * (x z)).
template <class Scalar>
class DependentGateForm final : public CompactForm<Scalar> {
 public:
  using VectorType = Vector<Scalar>;

  DependentGateForm(VectorType g, VectorType slope, VectorType offset, double threshold, Index spatial)
      : g_(std::move(g)),
        slope_(std::move(slope)),
        offset_(std::move(offset)),
        threshold_(threshold),
        spatial_(spatial),
        scale_(VectorType::Zero(g_.size())) {}

  CompactRows<Scalar> fold(CompactRows<Scalar> a, const std::string& where) override {
    const Index units = g_.size();
    for (Index k = 0; k < units; ++k) {
      auto s = a.scale.segment(k * spatial_, spatial_);
      auto v = a.value.segment(k * spatial_, spatial_);
      if ((s.array() != s[0]).any()) {
        throw InvalidArgument(where + " gets unit " + std::to_string(k) +
                              " scaled unevenly over its positions; a dependent gate needs one scale per unit");
      }
      scale_[k] = s[0];
      if (g_[k] == Scalar(0)) {  // pruned by the beta-Bernoulli part: the constant 0
        s.setZero();
        v.setZero();
      } else if (s[0] == Scalar(0)) {  // a constant input: a constant output
        const Scalar z = gate(k, v.mean());
        v *= z;
      }  // else: live, the same scale; CompactDependentGate computes x z
    }
    return a;
  }

  /// A unit's gate reads all its positions (the channel mean): any needed row needs the whole unit.
  std::vector<char> needed_inputs(const std::vector<char>& out, const CompactRows<Scalar>&) const override {
    std::vector<char> need(out.size(), 0);
    for (Index k : detail::flagged_units(out, spatial_)) {
      std::fill_n(need.begin() + k * spatial_, spatial_, char(1));
    }
    return need;
  }

  std::vector<Index> build(const std::vector<Index>& have, const std::vector<char>&,
                           std::vector<LayerPtr<Scalar>>& layers, const CompactOptions&,
                           const std::string& where) const override {
    const std::vector<Index> units = detail::units_of(have, spatial_);
    if (units.empty()) throw detail::compact_degenerate(where);
    VectorType g(Index(units.size())), a(Index(units.size())), b(Index(units.size()));
    for (std::size_t i = 0; i < units.size(); ++i) {
      const Index k = units[i];
      g[Index(i)] = g_[k];
      a[Index(i)] = slope_[k] * scale_[k];
      b[Index(i)] = offset_[k];
    }
    layers.push_back(std::make_unique<CompactDependentGate<Scalar>>(g, a, b, threshold_, spatial_));
    return have;
  }

 private:
  Scalar gate(Index k, Scalar xbar) const {
    const Scalar z = g_[k] * std::min(Scalar(1), std::max(Scalar(0), slope_[k] * xbar + offset_[k]));
    return z > Scalar(threshold_) ? z : Scalar(0);
  }

  VectorType g_, slope_, offset_;
  double threshold_;
  Index spatial_;
  VectorType scale_;  // the scale compact() feeds each unit at (fold)
};

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
      d_.array() =
          ((xhat_.array().colwise() * gamma).colwise() + beta_.value.col(0).array()).max(Scalar(0)).min(Scalar(1));
      d_.array().colwise() *= g_.array();
      d_ = (d_.array() > Scalar(options_.threshold)).select(d_, Scalar(0));
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
    h_.array() = (xhat_.array().colwise() * gamma).colwise() + shift_.array();
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
    gamma_.grad.col(0).array() += (dh_.array() * xhat_.array()).rowwise().sum();
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

  // xhat_ from xbar: with the batch's mean and biased variance (updating the running ones), or with the running ones
  void normalise(const MatrixType& xb, bool batch_statistics) {
    const Index units = this->units();
    mean_.resize(units);
    inv_std_.resize(units);
    if (batch_statistics) {
      mean_ = xb.rowwise().mean();
      xhat_ = xb.colwise() - mean_;  // resized only when B changes
      var_.resize(units);
      var_.array() = xhat_.array().square().rowwise().mean();
      inv_std_.array() = (var_.array() + Scalar(options_.bn_eps)).rsqrt();
      xhat_.array().colwise() *= inv_std_.array();
      const Scalar m(options_.bn_momentum);
      running_mean_.col(0) = (Scalar(1) - m) * running_mean_.col(0) + m * mean_;
      running_var_.col(0) = (Scalar(1) - m) * running_var_.col(0) + m * var_;
    } else {
      mean_ = running_mean_.col(0);
      inv_std_.array() = (running_var_.col(0).array() + Scalar(options_.bn_eps)).rsqrt();
      xhat_ = xb.colwise() - mean_;
      xhat_.array().colwise() *= inv_std_.array();
    }
  }

  Options options_;
  BetaBernoulliDropout<Scalar> bb_;
  Parameter<Scalar> gamma_, beta_, raw_sigma_;
  MatrixType running_mean_, running_var_;
  int integer_power_ = 0;  ///< 1/tau when it is an integer in [1, 64], else 0
  // caches of the last forward: pooled input, normalised input, h, the dependent factor d (training) or the whole
  // evaluation factor z, x * zbb, and gradient scratch
  MatrixType pooled_, xhat_, h_, d_, y_bb_, dh_, dy_bb_;
  VectorType mean_, var_, inv_std_, shift_, base_, power_, sum_dh_, g_;
  Eigen::ArrayXd sigma_, dsigma_, eps_;   ///< per unit, double: sigma, d sigma / d raw_sigma, the shift noise
  double active_sum_ = 0, examples_ = 0;  ///< tally of n_active_per_example()
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(CompactDependentGate)
BAYESDROP_EXTERN_CLASS_TEMPLATE(DependentGateForm)
BAYESDROP_EXTERN_CLASS_TEMPLATE(DependentBetaBernoulliDropout)

}  // namespace bayesdrop
