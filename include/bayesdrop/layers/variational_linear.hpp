// Variational dropout, type B (Kingma et al. 2015): a fully connected layer with independent multiplicative Gaussian
// weight noise and a learned alpha, trained through the local reparameterisation trick.
//
// @inproceedings{kingma2015variational,
//   title     = {Variational Dropout and the Local Reparameterization Trick},
//   author    = {Kingma, Diederik P. and Salimans, Tim and Welling, Max},
//   booktitle = {Advances in Neural Information Processing Systems 28},
//   year      = {2015}
// }
//
// Posterior: w_ij = W_ij xi_ij, xi_ij ~ N(1, alpha_ij) independent, i.e. q(w_ij) = N(W_ij, alpha_ij W_ij^2), with
// alpha = exp(log_alpha) capped at 1 (log_alpha <= 0, the range of the KL fit; a projection, below). For one input
// column x the pre-activations are then independent Gaussians, which the training forward samples directly (one eps
// per example and output):
//
//   training:    mean = W x + b,   var = (alpha o W^2) (x o x),
//                y = mean + sqrt(var + kVariationalLrtVarianceFloor) o eps,   eps ~ N(0, 1), out x B
//   evaluation:  y = W x + b       (the posterior mean of the weights; deterministic, no noise drawn)
//   KL:          sum over weights of kingma_kl(min(log_alpha, 0))
//                = -sum_ij (0.5 log alpha_ij + c1 alpha_ij + c2 alpha_ij^2 + c3 alpha_ij^3)   (math/kl_variational.hpp)
//   backward:    with s = sqrt(var + floor) and g = dy o eps / (2 s) = d loss / d var, and V = g (x o x)^T:
//                dW += dy x^T + 2 V o alpha o W,   db += dy 1,
//                d log_alpha += V o alpha o W^2 (summed over a row when alpha is per output),
//                dx = W^T dy + 2 x o ((alpha o W^2)^T g)
//
// Parameters: weight W (out x in, role weight; LinearOptions-style initialiser, Glorot uniform by default), bias b
// (out x 1, role bias, zero; optional), log_alpha (role noise) of shape out x in (one alpha per weight, the default)
// or out x 1 (one alpha per output unit, shared by its incoming weights: VariationalLinearOptions::with_alpha_per).
// log_alpha is initialised to log(p / (1 - p)) from the drop rate 0 < p <= 0.5 (default 0.5: log_alpha = 0).
//
// Design choices where the references differ:
//  - alpha per weight by default (Kingma's independent weight noise with the most general alpha); per output unit
//    is the option. The KL counts every weight's factor, so with alpha per output unit it is in * sum_j kl(alpha_j).
//  - The cap alpha <= 1 (Kingma et al. fit the KL on alpha <= 1 and cap it there, Sec. 3.3 and 3.4) is a
//    PROJECTION, as in VariationalDropout (layers/variational_dropout.hpp explains why): every training forward first
//    sets log_alpha = min(log_alpha, 0) (project_onto_cap()), and the gradient passes unchanged at the cap, so a
//    weight that the optimiser pushed over the cap keeps learning and can come back below it. A clip with a zero
//    gradient above the cap (clamp(max=0) in a PyTorch model) would freeze it there.
//  - The KL has no additive constant (as common PyTorch re-implementations): it is negative near the cap, -0.24571
//    per weight at alpha = 1.
//  - kVariationalLrtVarianceFloor = 1e-8 inside the square root, as the sparse VD reference code
//    (Molchanov et al. 2017, nets/layers.py) and google-research's state_of_sparsity do, so that the gradient stays
//    finite when a whole input column is 0.
//
// Sparsity: alpha <= 1 prunes nothing, so every input and weight is active.
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/gemm.hpp"
#include "bayesdrop/core/init.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/math/kl_variational.hpp"

namespace bayesdrop {

/// Added to the variance of the local reparameterisation before the square root (Molchanov et al. 2017 code; eps
/// 1e-8 in google-research state_of_sparsity).
inline constexpr double kVariationalLrtVarianceFloor = 1e-8;

/// Granularity of the learned alpha of VariationalLinear.
enum class VariationalAlpha {
  per_weight,  ///< one alpha per weight, out x in
  per_output,  ///< one alpha per output unit, out x 1, shared by the unit's incoming weights
};

struct VariationalLinearOptions {
  Init init = Init::glorot_uniform();                     ///< weight initialiser. Default: Glorot uniform
  bool bias = true;                                       ///< learn an additive bias. Default: true
  double log_alpha = 0.0;                                 ///< initial log alpha, <= 0. Default: 0 (p = 0.5)
  VariationalAlpha alpha = VariationalAlpha::per_weight;  ///< alpha granularity. Default: per weight

  VariationalLinearOptions& with_init(Init i) {
    init = i;
    return *this;
  }
  VariationalLinearOptions& with_bias(bool b) {
    bias = b;
    return *this;
  }
  VariationalLinearOptions& with_alpha_per(VariationalAlpha a) {
    alpha = a;
    return *this;
  }
  /// Initial log alpha = log(p / (1 - p)) from a drop rate 0 < p <= 0.5 (alpha <= 1, the cap of the KL fit).
  VariationalLinearOptions& with_p(double p) {
    if (!(p > 0.0 && p <= 0.5)) {
      throw InvalidArgument("VariationalLinearOptions: the initial drop rate p must be in (0, 0.5], got " +
                            std::to_string(p) +
                            " (alpha = p / (1 - p) is capped at 1 by Kingma et al.'s KL approximation)");
    }
    log_alpha = std::log(p / (1.0 - p));
    return *this;
  }
  /// Initial log alpha directly; finite and <= 0.
  VariationalLinearOptions& with_log_alpha(double la) {
    if (!std::isfinite(la) || la > kKingmaLogAlphaMax) {
      throw InvalidArgument("VariationalLinearOptions: the initial log alpha must be finite and <= 0, got " +
                            std::to_string(la) + " (alpha is capped at 1, the range of Kingma et al.'s KL fit)");
    }
    log_alpha = la;
    return *this;
  }
};

template <class Scalar>
class VariationalLinear final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// in, out > 0: features per observation before and after. rng draws the initial weights.
  VariationalLinear(Index in, Index out, Rng& rng, VariationalLinearOptions options = {})
      : weight_("weight", ParamRole::weight, checked(out, "out"), checked(in, "in")),
        bias_("bias", ParamRole::bias, out, 1),
        log_alpha_("log_alpha", ParamRole::noise, out, options.alpha == VariationalAlpha::per_weight ? in : 1),
        has_bias_(options.bias),
        per_weight_(options.alpha == VariationalAlpha::per_weight) {
    VariationalLinearOptions{}.with_log_alpha(options.log_alpha);  // validates an options struct filled in by hand
    initialize(weight_.value, in, out, options.init, rng);
    log_alpha_.value.setConstant(Scalar(options.log_alpha));
  }

  std::string_view name() const override { return "VariationalLinear"; }
  Index input_rows() const override { return weight_.value.cols(); }
  Index output_rows() const override { return weight_.value.rows(); }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    forward_(weight_.value, x, y);  // mean = W x (+ b below)
    if (!ctx.training()) {
      if (has_bias_) y.colwise() += bias_.value.col(0);
      return;
    }
    Rng& rng = this->training_rng(ctx);
    project_onto_cap();
    // alpha = exp(log_alpha); aw2 = alpha o W^2
    alpha_.array() = log_alpha_.value.array().exp();
    if (per_weight_) {
      aw2_.array() = alpha_.array() * weight_.value.array().square();
    } else {
      aw2_.array() = weight_.value.array().square().colwise() * alpha_.col(0).array();
    }
    x2_.array() = x.array().square();
    variance_(aw2_, x2_, std_);                                                   // var = (alpha o W^2)(x o x)
    std_.array() = (std_.array() + Scalar(kVariationalLrtVarianceFloor)).sqrt();  // s = sqrt(var + floor)
    eps_.resize(y.rows(), y.cols());
    rng.normal(eps_);
    if (has_bias_) {
      y.array() = (y.array() + std_.array() * eps_.array()).colwise() + bias_.value.col(0).array();
    } else {
      y.array() += std_.array() * eps_.array();  // y = mean + s eps
    }
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    gvar_.array() = dy.array() * eps_.array() / (Scalar(2) * std_.array());  // g = d loss / d var
    outer_(gvar_, x2_, v_);                                                  // V = g (x o x)^T
    weight_grad_(dy, x, weight_.grad);                                       // mean path: dy x^T
    if (per_weight_) {
      // variance path: d var / d W = 2 alpha W (x o x)
      weight_.grad.array() += Scalar(2) * v_.array() * alpha_.array() * weight_.value.array();
      // d var / d log alpha = alpha W^2 (x o x) (log_alpha was projected onto the cap, where the gradient passes)
      log_alpha_.grad.array() += v_.array() * aw2_.array();
    } else {
      weight_.grad.array() += (Scalar(2) * v_.array() * weight_.value.array()).colwise() * alpha_.col(0).array();
      log_alpha_.grad.col(0).array() += (v_.array() * aw2_.array()).rowwise().sum();
    }
    if (has_bias_) bias_.grad.col(0) += dy.rowwise().sum();  // db = dy 1
    if (dx) {
      input_grad_(weight_.value, dy, *dx);                     // mean path: W^T dy
      variance_input_grad_(aw2_, gvar_, dvar_x_);              // variance path
      dx->array() += Scalar(2) * x.array() * dvar_x_.array();  //   2 x o ((alpha o W^2)^T g)
    }
  }

  std::vector<Parameter<Scalar>*> parameters() override {
    if (has_bias_) return {&weight_, &bias_, &log_alpha_};
    return {&weight_, &log_alpha_};
  }

  bool has_kl() const override { return true; }
  /// sum over weights of kingma_kl(min(log_alpha, 0)); an alpha per output unit counts once per incoming weight.
  Scalar kl() const override { return Scalar(multiplicity() * kingma_kl_capped_sum(log_alpha_.value)); }

  /// log_alpha.grad += coeff * d kl() / d log_alpha (zero above the cap, which a training forward projects away).
  void kl_backward(Scalar coeff) override {
    kingma_kl_capped_backward(log_alpha_.value, coeff * Scalar(multiplicity()), log_alpha_.grad);
  }

  /// log_alpha = min(log_alpha, 0): the projection onto the cap alpha <= 1 that every training forward applies first.
  void project_onto_cap() { log_alpha_.value = log_alpha_.value.cwiseMin(Scalar(kKingmaLogAlphaMax)); }

  SparsityStats sparsity() const override {
    const auto w = weight_.value.size();
    const Index out = output_rows();
    return SparsityStats{input_rows(), input_rows(), w, w, out, out, 1, has_bias_ ? out : 0};
  }

  Parameter<Scalar>& weight() { return weight_; }
  Parameter<Scalar>& bias() { return bias_; }
  Parameter<Scalar>& log_alpha() { return log_alpha_; }
  const Parameter<Scalar>& weight() const { return weight_; }
  const Parameter<Scalar>& bias() const { return bias_; }
  const Parameter<Scalar>& log_alpha() const { return log_alpha_; }
  bool has_bias() const { return has_bias_; }
  VariationalAlpha alpha_granularity() const {
    return per_weight_ ? VariationalAlpha::per_weight : VariationalAlpha::per_output;
  }

 private:
  static Index checked(Index n, const char* what) {
    if (n <= 0) {
      throw InvalidArgument(std::string("VariationalLinear: ") + what + " features must be positive, got " +
                            std::to_string(n));
    }
    return n;
  }
  /// How many weights each log_alpha entry stands for in the KL.
  double multiplicity() const { return per_weight_ ? 1.0 : double(weight_.value.cols()); }

  Parameter<Scalar> weight_;
  Parameter<Scalar> bias_;
  Parameter<Scalar> log_alpha_;
  bool has_bias_;
  bool per_weight_;
  // The products on the library's back end (core/gemm.hpp), one object per product.
  ForwardProduct<Scalar> forward_, variance_;
  OuterProduct<Scalar> outer_;
  WeightGradProduct<Scalar> weight_grad_;
  InputGradProduct<Scalar> input_grad_, variance_input_grad_;
  // Training caches, resized only when the batch size changes.
  MatrixType alpha_;   // capped alpha, shape of log_alpha
  MatrixType aw2_;     // alpha o W^2, out x in
  MatrixType x2_;      // x o x, in x B
  MatrixType std_;     // sqrt(var + floor), out x B
  MatrixType eps_;     // out x B
  MatrixType gvar_;    // d loss / d var, out x B
  MatrixType v_;       // g (x o x)^T, out x in
  MatrixType dvar_x_;  // (alpha o W^2)^T g, in x B
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(VariationalLinear)

}  // namespace bayesdrop
