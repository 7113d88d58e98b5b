// Beta-Bernoulli dropout (Lee et al. 2018): a learned keep probability pi_k per unit, with a Beta prior that pushes
// most of them to zero, so that whole units (input features, or channels) can be removed.
//
// @article{lee2018adaptive,
//   title   = {Adaptive Network Sparsification with Dependent Variational Beta-Bernoulli Dropout},
//   author  = {Lee, Juho and Kim, Saehoon and Yoon, Jaehong and Lee, Hae Beom and Yang, Eunho and Hwang, Sung Ju},
//   journal = {arXiv preprint arXiv:1805.10896},
//   year    = {2018}
// }
//
//   training:    pi_k = (1 - u_k^(1/b_k))^(1/a_k), u_k ~ U(0, 1): ONE draw per unit per minibatch (Kumaraswamy,
//                reparameterised, so gradients reach a and b; math/kumaraswamy.hpp), pi clamped to [1e-6, 1 - 1e-6]
//                z_kn = sigmoid((logit(pi_k) + logit(v_kn)) / tau), v_kn ~ U(0, 1): relaxed Bernoulli(pi_k) per
//                example n and unit k (concrete relaxation, temperature tau = 0.1)
//                y = x * z       (for a channel gate z_kn multiplies all H*W values of channel k of example n)
//   evaluation:  y = x * g,  g_k = E[pi_k] if E[pi_k] > threshold else 0,  E[pi] = b B(1 + 1/a, b)
//                (deterministic: no noise drawn, no Monte Carlo averaging, as the reference code)
//   KL:          sum_k KL(Kumaraswamy(a_k, b_k) || Beta(alpha, 1))
//                = sum_k (1 - alpha/a_k)(-gamma_E - psi(b_k) - 1/b_k) + log(a_k b_k) - log(alpha) - (b_k - 1)/b_k
//                (exact for the Beta(alpha, 1) prior; psi exact or the reference's approximation, math/digamma.hpp)
//   backward:    dx = dy * z
//                d logit(pi_k) = sum_n dz_kn z_kn (1 - z_kn) / tau,   dz_kn = sum over the unit's values of dy * x
//                d raw_a_k += d logit(pi_k) * dlogit/dlog(pi) * dlog(pi)/da * sigmoid(raw_a_k)    (same for b)
//                dlogit/dlog(pi) = 1 / (1 - pi); zero where pi was clamped
//
// Parameters (role noise, units x 1): raw_a and raw_b, with a = softplus(raw_a) and b = softplus(raw_b) > 0.
// raw_a starts at -1 (a = 0.31326), raw_b at the constant 0.5413 (b = 0.99998) or, in the assignment preset,
// Glorot-uniform U(-sqrt(3/K), sqrt(3/K)) for K units (TensorFlow's default initialiser of a [K] variable).
// Prior: pi_k ~ Beta(alpha, 1), alpha = 1e-4 (the paper's alpha/K; all reference implementations use 1e-4 directly).
//
// Active units: n_active() counts the units with E[pi] > threshold (or >= with Boundary::greater_equal), the ones the
// evaluation forward keeps.
//
// Design choices where the references differ (juho-lee/bbdrop, OpenXAIProject/Network-Structure-Dropout); the defaults
// follow the authors' later class-style TensorFlow / PyTorch code, BetaBernoulliOptions::assignment() the course
// assignment's code base:
//   option        default                       assignment()               (function-style TF)
//   threshold     1e-3                          1e-2
//   digamma       exact                         approximate
//   raw_b init    constant 0.5413 (b = 1)       Glorot uniform
//   boundary      E[pi] > threshold (TF)        same (PyTorch uses >=)
//   alpha, tau, raw_a init: 1e-4, 0.1, -1 in both.
// The later code's clamps of the raw parameters (raw_a >= -10, raw_b in [-10, 50]) are not applied.
// The uniforms u and v and the sample pi are clamped to [1e-6, 1 - 1e-6] as the PyTorch reference does (the gradient
// of a clamped pi is zero); the TensorFlow code adds 1e-20 inside its logs instead.
// The per-unit quantities (a, b, pi, E[pi], the KL and its gradient) are computed in double also for float layers:
// they cost O(units) per batch, and E[pi] = b B(1 + 1/a, b) is a difference of large lgamma values when a is small.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "bayesdrop/core/init.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/parallel.hpp"
#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/math/digamma.hpp"
#include "bayesdrop/math/kumaraswamy.hpp"
#include "bayesdrop/math/relaxed_bernoulli.hpp"

namespace bayesdrop {

/// Prior Beta(alpha, 1): alpha = 1e-4 in all three reference implementations.
inline constexpr double kBetaBernoulliAlpha = 1e-4;
/// Temperature of the relaxed Bernoulli gate (all reference implementations).
inline constexpr double kBetaBernoulliTemperature = 0.1;
/// E[pi] threshold of the later class-style TensorFlow and PyTorch code (juho-lee/bbdrop).
inline constexpr double kBetaBernoulliPiThreshold = 1e-3;
/// E[pi] threshold of the function-style TensorFlow code the course assignment derives from
/// (Network-Structure-Dropout).
inline constexpr double kBetaBernoulliAssignmentPiThreshold = 1e-2;
/// Initial raw_a on MNIST in every reference implementation: a = softplus(-1) = 0.31326.
inline constexpr double kBetaBernoulliRawAInit = -1.0;
/// Initial raw_a of the authors' VGG conv gates (juho-lee/bbdrop): a = softplus(2) = 2.127, so that E[pi] starts near
/// 0.75 instead of 0.34 (with b = 0.69). BetaBernoulliOptions::from_scratch() uses it for networks without pretraining.
inline constexpr double kBetaBernoulliRawAInitOpen = 2.0;
/// Initial raw_b of the class-style TF and PyTorch code: softplus(0.5413) = 0.99998, i.e. about
/// softplus^-1(1) = log(e - 1) = 0.541325 (the code's literal, kept so that the tests' anchor values apply).
inline constexpr double kBetaBernoulliRawBInit = 0.5413;
/// u, v and pi are clamped to [eps, 1 - eps] (as PyTorch re-implementations do).
inline constexpr double kBetaBernoulliClamp = 1e-6;
/// Layers with at least this many units compute their KL gradient on Eigen::nbThreads() OpenMP threads.
inline constexpr Index kBetaBernoulliParallelUnits = 256;

struct BetaBernoulliOptions {
  /// How raw_b starts.
  enum class BInit {
    constant,        ///< every unit at raw_b_init (default 0.5413, b = 1)
    glorot_uniform,  ///< U(-sqrt(3/K), sqrt(3/K)) for K units (TF's glorot_uniform of a [K] variable)
  };
  /// Which units count as active (kept in evaluation).
  enum class Boundary {
    greater,        ///< E[pi] > threshold (TensorFlow code; default)
    greater_equal,  ///< E[pi] >= threshold (PyTorch code)
  };

  double alpha = kBetaBernoulliAlpha;              ///< prior Beta(alpha, 1), > 0. Default: 1e-4
  double temperature = kBetaBernoulliTemperature;  ///< relaxed Bernoulli temperature tau, > 0. Default: 0.1
  double threshold = kBetaBernoulliPiThreshold;    ///< E[pi] threshold in [0, 1). Default: 1e-3
  double raw_a_init = kBetaBernoulliRawAInit;      ///< initial raw_a, finite. Default: -1 (a = 0.31326)
  BInit raw_b_kind = BInit::constant;              ///< initialiser of raw_b. Default: constant
  double raw_b_init = kBetaBernoulliRawBInit;      ///< raw_b for BInit::constant, finite. Default: 0.5413 (b = 1)
  DigammaKind digamma_kind = DigammaKind::exact;   ///< digamma in the KL. Default: exact
  Boundary boundary = Boundary::greater;           ///< active rule. Default: E[pi] > threshold

  /// The course assignment's code base (OpenXAIProject/Network-Structure-Dropout): threshold 1e-2, approximate
  /// digamma, alpha 1e-4, tau 0.1, raw_a = -1, raw_b Glorot uniform, active when E[pi] > threshold.
  static BetaBernoulliOptions assignment() {
    return BetaBernoulliOptions{}
        .with_threshold(kBetaBernoulliAssignmentPiThreshold)
        .with_digamma(DigammaKind::approximate)
        .with_raw_b_glorot();
  }

  /// The assignment preset for a network trained FROM SCRATCH: raw_a starts at 2 (kBetaBernoulliRawAInitOpen, the
  /// authors' initialisation of their VGG conv gates) instead of -1. Every reference recipe starts the gates on a
  /// pretrained network; on a fresh one, a = 0.31 makes pi ~ Kumaraswamy(0.31, 0.69) near 0 for many units in every
  /// batch (E[pi] = 0.34), so each batch trains a small random sub-network and the first epoch reaches about 93 %
  /// on MNIST. With a = 2.1 the gates start mostly open and prune as training goes (tests/layers/test_bbd_mnist.cpp).
  static BetaBernoulliOptions from_scratch() { return assignment().with_raw_a_init(kBetaBernoulliRawAInitOpen); }

  BetaBernoulliOptions& with_alpha(double v) {
    alpha = v;
    check_alpha();
    return *this;
  }
  BetaBernoulliOptions& with_temperature(double v) {
    temperature = v;
    check_temperature();
    return *this;
  }
  BetaBernoulliOptions& with_threshold(double v) {
    threshold = v;
    check_threshold();
    return *this;
  }
  BetaBernoulliOptions& with_raw_a_init(double v) {
    raw_a_init = v;
    check_inits();
    return *this;
  }
  /// raw_b starts at the constant v for every unit.
  BetaBernoulliOptions& with_raw_b_init(double v) {
    raw_b_kind = BInit::constant;
    raw_b_init = v;
    check_inits();
    return *this;
  }
  /// raw_b starts Glorot-uniform (the layer's constructor draws it from its Rng).
  BetaBernoulliOptions& with_raw_b_glorot() {
    raw_b_kind = BInit::glorot_uniform;
    return *this;
  }
  BetaBernoulliOptions& with_digamma(DigammaKind k) {
    digamma_kind = k;
    return *this;
  }
  BetaBernoulliOptions& with_boundary(Boundary b) {
    boundary = b;
    return *this;
  }

  /// Throws InvalidArgument naming the first invalid field (for structs filled in field by field).
  void validate() const {
    check_alpha();
    check_temperature();
    check_threshold();
    check_inits();
  }

 private:
  static void fail(const std::string& what) { throw InvalidArgument("BetaBernoulliOptions: " + what); }
  void check_alpha() const {
    if (!(alpha > 0) || !std::isfinite(alpha)) {
      fail("alpha (the prior Beta(alpha, 1)) must be finite and > 0, got " + std::to_string(alpha) +
           "; the reference value is 1e-4");
    }
  }
  void check_temperature() const {
    if (!(temperature > 0) || !std::isfinite(temperature)) {
      fail("temperature of the relaxed Bernoulli gate must be finite and > 0, got " + std::to_string(temperature) +
           "; the reference value is 0.1");
    }
  }
  void check_threshold() const {
    if (!(threshold >= 0 && threshold < 1)) {
      fail("threshold on E[pi] must be in [0, 1), got " + std::to_string(threshold) +
           "; the reference values are 1e-2 (assignment) and 1e-3");
    }
  }
  void check_inits() const {
    if (!std::isfinite(raw_a_init)) fail("raw_a_init must be finite, got " + std::to_string(raw_a_init));
    if (!std::isfinite(raw_b_init)) fail("raw_b_init must be finite, got " + std::to_string(raw_b_init));
  }
};

namespace detail {
/// softplus(x) = log(1 + e^x), without overflow for large x.
inline double bb_softplus(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
/// sigmoid(x) = d softplus / dx.
inline double bb_sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}
/// value = softplus(raw) and slope = sigmoid(raw) element by element, in double, from e = exp(-|raw|) computed once:
/// softplus = max(raw, 0) + log1p(e); sigmoid = 1 / (1 + e) for raw >= 0, e / (1 + e) below.
template <class Derived>
void bb_softplus(const Eigen::MatrixBase<Derived>& raw, Eigen::ArrayXd& value, Eigen::ArrayXd& slope) {
  const auto r = raw.template cast<double>().array();
  slope = (-r.abs()).exp();  // e
  value = r.max(0.0) + slope.log1p();
  slope = (r >= 0.0).select(1.0 / (1.0 + slope), slope / (1.0 + slope));
}

}  // namespace detail

template <class Scalar>
class BetaBernoulliDropout final : public Gate<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using typename Gate<Scalar>::VectorType;
  using Options = BetaBernoulliOptions;

  /// One gate per feature of a `units`-long input. rng draws raw_b when the options ask for Glorot init.
  BetaBernoulliDropout(Index units, Rng& rng, Options options = {})
      : Gate<Scalar>(units, "BetaBernoulliDropout"),
        options_(validated(options)),
        raw_a_("raw_a", ParamRole::noise, units, 1),
        raw_b_("raw_b", ParamRole::noise, units, 1) {
    init(rng);
  }
  /// One gate per channel of a channels x height x width image.
  BetaBernoulliDropout(ImageShape image, Rng& rng, Options options = {})
      : Gate<Scalar>(image, "BetaBernoulliDropout"),
        options_(validated(options)),
        raw_a_("raw_a", ParamRole::noise, image.channels, 1),
        raw_b_("raw_b", ParamRole::noise, image.channels, 1) {
    init(rng);
  }

  std::string_view name() const override { return "BetaBernoulliDropout"; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    const Index units = this->units();
    if (!ctx.training()) {
      gate_.resize(units);
      for (Index k = 0; k < units; ++k) gate_[k] = Scalar(eval_gate_of(k));
      this->scale_per_unit(x, gate_, y);
      return;
    }
    Rng& rng = this->training_rng(ctx);
    // One pi per unit for the whole minibatch, with d logit(pi) / d raw_a and d raw_b for backward; whole-vector
    // expressions in double (units entries).
    u_.resize(units);
    rng.uniform(u_);
    u_ = u_.max(kBetaBernoulliClamp).min(1.0 - kBetaBernoulliClamp);
    detail::bb_softplus(raw_a_.value.col(0), a_, sig_a_);  // a = softplus(raw_a), da/draw_a = sigmoid(raw_a)
    detail::bb_softplus(raw_b_.value.col(0), b_, sig_b_);
    kumaraswamy_log_sample_grad(a_, b_, u_, log_pi_, dlogit_draw_a_, dlogit_draw_b_);  // log pi, dlog pi/da, /db
    const double log_pi_min = std::log(kBetaBernoulliClamp), log_pi_max = std::log1p(-kBetaBernoulliClamp);
    // pi is clamped to [eps, 1 - eps], with zero gradient where the clamp acts; elsewhere the chain rule through
    // logit(pi) = log pi - log(1 - pi) gives d logit / d log pi = 1 / (1 - pi) = -1 / (pi - 1)
    pi_minus_one_ = log_pi_.max(log_pi_min).min(log_pi_max).expm1();
    dlogit_draw_a_ =
        (log_pi_ >= log_pi_min && log_pi_ <= log_pi_max).select(-dlogit_draw_a_ * sig_a_ / pi_minus_one_, 0.0);
    dlogit_draw_b_ =
        (log_pi_ >= log_pi_min && log_pi_ <= log_pi_max).select(-dlogit_draw_b_ * sig_b_ / pi_minus_one_, 0.0);
    log_pi_ = log_pi_.max(log_pi_min).min(log_pi_max);
    q_ = (-pi_minus_one_ / (1.0 + pi_minus_one_)).template cast<Scalar>();  // (1 - pi) / pi = exp(-logit(pi))
    // Relaxed Bernoulli per example and unit, from uniforms v drawn into z itself:
    // z = sigmoid((logit(pi) + logit(v)) / tau) = 1 / (1 + (q (1 - v) / v)^(1/tau)), q = (1 - pi) / pi, v clamped to
    // [eps, 1 - eps] (math/relaxed_bernoulli.hpp's relaxed_bernoulli_gates, a column's segment at a time).
    z_.resize(units, x.cols());
    if (this->spatial() == 1) {  // one pass: each chunk of v becomes z and y = x * z while in cache
      y.resize(x.rows(), x.cols());
      Scalar* z = z_.data();
      const Scalar* xs = x.data();
      Scalar* ys = y.data();
      rng.uniform(z, z_.size(), [&](Index begin, Index length) {
        gates_from_uniforms(z, begin, length);
        BAYESDROP_VECTORIZE
        for (Index i = begin; i < begin + length; ++i) ys[i] = xs[i] * z[i];
      });
    } else {
      rng.uniform(z_);
      gates_from_uniforms(z_.data(), 0, z_.size());
      this->scale_per_example(x, z_, y);
    }
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    const Scalar inv_tau = Scalar(1.0 / options_.temperature);
    // d logit(pi_k) = sum_n dz_kn z_kn (1 - z_kn) / tau, dz_kn = sum over the unit's values of dy * x
    if (this->spatial() == 1) {
      glogit_ = (dy.array() * x.array() * z_.array() * (Scalar(1) - z_.array())).rowwise().sum().matrix() * inv_tau;
    } else {
      this->grad_per_example(x, dy, dz_);
      glogit_ = (dz_.array() * z_.array() * (Scalar(1) - z_.array())).rowwise().sum().matrix() * inv_tau;
    }
    raw_a_.grad.col(0).array() += (glogit_.template cast<double>().array() * dlogit_draw_a_).template cast<Scalar>();
    raw_b_.grad.col(0).array() += (glogit_.template cast<double>().array() * dlogit_draw_b_).template cast<Scalar>();
    if (dx) this->scale_per_example(dy, z_, *dx);  // dx = dy * z
  }

  std::vector<Parameter<Scalar>*> parameters() override { return {&raw_a_, &raw_b_}; }

  bool has_kl() const override { return true; }
  /// sum over units of KL(Kumaraswamy(a_k, b_k) || Beta(alpha, 1)), accumulated in double.
  Scalar kl() const override {
    double total = 0;
    for (Index k = 0; k < this->units(); ++k) total += unit_kl(k).value;
    return Scalar(total);
  }

  /// raw_a.grad += coeff * d kl() / d raw_a, and the same for raw_b.
  void kl_backward(Scalar coeff) override {
    // ~40 ns a unit (digammas and a series): over threads for layers of at least kBetaBernoulliParallelUnits units
    parallel_for(this->units(), kBetaBernoulliParallelUnits, [&](Index k) {
      const auto g = unit_kl(k);
      raw_a_.grad(k, 0) += Scalar(double(coeff) * g.d_a * detail::bb_sigmoid(double(raw_a_.value(k, 0))));
      raw_b_.grad(k, 0) += Scalar(double(coeff) * g.d_b * detail::bb_sigmoid(double(raw_b_.value(k, 0))));
    });
  }

  /// Units whose E[pi] passes the threshold (the ones the evaluation forward keeps).
  Index n_active() const override {
    Index n = 0;
    for (Index k = 0; k < this->units(); ++k) n += is_active(expected_pi_of(k)) ? 1 : 0;
    return n;
  }

  const Options& options() const { return options_; }
  Parameter<Scalar>& raw_a() { return raw_a_; }
  Parameter<Scalar>& raw_b() { return raw_b_; }
  const Parameter<Scalar>& raw_a() const { return raw_a_; }
  const Parameter<Scalar>& raw_b() const { return raw_b_; }

  /// a = softplus(raw_a) per unit. Allocates.
  VectorType a() const { return softplus_of(raw_a_); }
  /// b = softplus(raw_b) per unit. Allocates.
  VectorType b() const { return softplus_of(raw_b_); }
  /// E[pi] = b B(1 + 1/a, b) per unit (for reports and pictures). Allocates.
  VectorType expected_pi() const {
    VectorType m(this->units());
    for (Index k = 0; k < this->units(); ++k) m[k] = Scalar(expected_pi_of(k));
    return m;
  }
  /// The evaluation-mode multiplier per unit: E[pi] where active, else 0. Allocates.
  VectorType eval_gate() const {
    VectorType g(this->units());
    for (Index k = 0; k < this->units(); ++k) g[k] = Scalar(eval_gate_of(k));
    return g;
  }
  VectorType eval_scale() const override { return eval_gate(); }
  /// The pi drawn (and clamped) by the most recent training forward, per unit; empty before the first. Allocates.
  VectorType sampled_pi() const { return log_pi_.exp().template cast<Scalar>().matrix(); }

 private:
  static Options validated(const Options& o) {
    o.validate();
    return o;
  }

  /// z[begin, begin + length) of the units x B gates: the uniforms drawn there become the relaxed Bernoulli gates.
  void gates_from_uniforms(Scalar* z, Index begin, Index length) const {
    detail::relaxed_bernoulli_gates(z, begin, length, q_, kBetaBernoulliClamp, integer_power_,
                                    Scalar(1.0 / options_.temperature));
  }

  void init(Rng& rng) {
    integer_power_ = detail::relaxed_integer_power(options_.temperature);
    raw_a_.value.setConstant(Scalar(options_.raw_a_init));
    if (options_.raw_b_kind == Options::BInit::glorot_uniform) {
      // TF glorot_uniform of a rank-1 [K] variable: fan_in = fan_out = K, limit sqrt(6 / 2K) = sqrt(3 / K)
      initialize(raw_b_.value, this->units(), this->units(), Init::glorot_uniform(), rng);
    } else {
      raw_b_.value.setConstant(Scalar(options_.raw_b_init));
    }
  }

  double a_of(Index k) const { return detail::bb_softplus(double(raw_a_.value(k, 0))); }
  double b_of(Index k) const { return detail::bb_softplus(double(raw_b_.value(k, 0))); }
  double expected_pi_of(Index k) const { return kumaraswamy_mean(a_of(k), b_of(k)); }
  bool is_active(double m) const {
    return options_.boundary == Options::Boundary::greater ? m > options_.threshold : m >= options_.threshold;
  }
  double eval_gate_of(Index k) const {
    const double m = expected_pi_of(k);
    return is_active(m) ? m : 0.0;
  }
  KumaraswamyBetaKl<double> unit_kl(Index k) const {
    return kumaraswamy_beta_kl_with_grad(a_of(k), b_of(k), options_.alpha, 1.0, options_.digamma_kind);
  }
  VectorType softplus_of(const Parameter<Scalar>& p) const {
    VectorType v(this->units());
    for (Index k = 0; k < this->units(); ++k) v[k] = Scalar(detail::bb_softplus(double(p.value(k, 0))));
    return v;
  }

  Options options_;
  Parameter<Scalar> raw_a_, raw_b_;
  // per unit, double: a, b and their slopes d/draw; the uniforms for pi; log pi of the last draw and pi - 1;
  // d logit(pi) / d raw_a and d raw_b
  Eigen::ArrayXd a_, b_, sig_a_, sig_b_, u_, log_pi_, pi_minus_one_, dlogit_draw_a_, dlogit_draw_b_;
  VectorType q_;              ///< (1 - pi) / pi of the last draw
  int integer_power_ = 0;     ///< 1/tau when it is an integer in [1, 64], else 0
  VectorType gate_, glogit_;  ///< evaluation multiplier; d loss / d logit(pi)
  MatrixType z_, dz_;         ///< relaxed Bernoulli gates of the last training forward (units x B); channel grads
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(BetaBernoulliDropout)

}  // namespace bayesdrop
