// Batch normalisation of features (one row per feature, one column per observation).
//
// @inproceedings{ioffe2015batch,
//   title     = {Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift},
//   author    = {Ioffe, Sergey and Szegedy, Christian},
//   booktitle = {International Conference on Machine Learning},
//   pages     = {448--456},
//   year      = {2015}
// }
//
//   training:    mu = mean_b x,  var = mean_b (x - mu)^2   (per row, over the B columns; biased)
//                x_hat = (x - mu) / sqrt(var + eps),  y = gamma * x_hat + beta
//                running_mean = (1 - m) running_mean + m mu
//                running_var  = (1 - m) running_var  + m var * B / (B - 1)   (unbiased, as PyTorch)
//   evaluation:  y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta   (deterministic)
//                also in Monte Carlo passes (Context::monte_carlo: noise on elsewhere, statistics of evaluation)
//   backward:    dgamma += sum_b dy x_hat,  dbeta += sum_b dy,
//                dx = gamma / sqrt(var + eps) * (dy - mean_b dy - x_hat * mean_b(dy x_hat))
//
// m is PyTorch's momentum (weight of the NEW batch); Keras' momentum is 1 - m. The running statistics start at
// mean 0 and variance 1 and are state(), not parameters: saved with the model, never trained.
#pragma once

#include <string>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"

namespace bayesdrop {

namespace detail {
/// Batch normalisation's batch statistics, shared by BatchNorm1d and the dependent beta-Bernoulli gate's input
/// (layers/dependent_beta_bernoulli_dropout.hpp): per row of x (a unit; the columns are the batch's observations) the
/// mean and the biased variance, and x_hat = (x - mean) / sqrt(var + eps). Resized only when x's shape changes.
template <class Scalar>
struct BatchStatistics {
  Vector<Scalar> mean, var, inv_std;
  Matrix<Scalar> x_hat;

  void compute(const Matrix<Scalar>& x, double eps) {
    mean.resize(x.rows());
    var.resize(x.rows());
    inv_std.resize(x.rows());
    mean = x.rowwise().mean();
    x_hat = x.colwise() - mean;                             // resized only when B changes
    var.array() = x_hat.array().square().rowwise().mean();  // biased: normalise by the batch itself
    inv_std.array() = (var.array() + Scalar(eps)).rsqrt();
    x_hat.array().colwise() *= inv_std.array();
  }

  /// running_mean = (1 - m) running_mean + m mean, running_var = (1 - m) running_var + var_weight var (units x 1
  /// each): var_weight is m B / (B - 1) for the unbiased running variance (PyTorch), m for the biased one (TF).
  void update_running(Matrix<Scalar>& running_mean, Matrix<Scalar>& running_var, Scalar m, Scalar var_weight) const {
    running_mean.col(0) = (Scalar(1) - m) * running_mean.col(0) + m * mean;
    running_var.col(0) = (Scalar(1) - m) * running_var.col(0) + var_weight * var;
  }
};
}  // namespace detail

struct BatchNormOptions {
  double momentum = 0.1;  ///< weight of the new batch in the running statistics, in (0, 1]. Default: 0.1 (PyTorch)
  double eps = 1e-5;      ///< added to the variance before the square root, > 0. Default: 1e-5

  BatchNormOptions& with_momentum(double m) {
    momentum = m;
    return *this;
  }
  BatchNormOptions& with_eps(double e) {
    eps = e;
    return *this;
  }
};

template <class Scalar>
class BatchNorm1d final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// units > 0: features per observation (input and output). Throws InvalidArgument for a bad size or option.
  explicit BatchNorm1d(Index units, BatchNormOptions options = {})
      // gamma has role weight and beta role bias, so the recipes' L2 decays both, as the TF reference code decays
      // "all kernels and biases" (its BN scale is among the trainable variables it collects).
      : gamma_("gamma", ParamRole::weight, checked_units(units), 1),
        beta_("beta", ParamRole::bias, units, 1),
        running_mean_(MatrixType::Zero(units, 1)),
        running_var_(MatrixType::Ones(units, 1)),
        momentum_(options.momentum),
        eps_(options.eps) {
    if (!(options.momentum > 0.0 && options.momentum <= 1.0)) {
      throw InvalidArgument("BatchNorm1d: momentum must be in (0, 1], got " + std::to_string(options.momentum) +
                            " (PyTorch convention: the weight of the new batch, e.g. 0.1; Keras' 0.99 is 0.01 here)");
    }
    if (!(options.eps > 0.0)) {
      throw InvalidArgument("BatchNorm1d: eps must be positive, got " + std::to_string(options.eps));
    }
    gamma_.value.setOnes();
  }

  std::string_view name() const override { return "BatchNorm1d"; }
  Index input_rows() const override { return gamma_.value.rows(); }
  Index output_rows() const override { return gamma_.value.rows(); }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    const auto gamma = gamma_.value.col(0).array();
    const auto beta = beta_.value.col(0).array();
    if (!ctx.batch_statistics()) {
      // Fold the running statistics into one scale and shift per feature (units-sized members: no allocation).
      scale_.array() = gamma * (running_var_.col(0).array() + Scalar(eps_)).rsqrt();
      shift_.array() = beta - running_mean_.col(0).array() * scale_.array();
      y.resize(x.rows(), x.cols());
      y.array() = (x.array().colwise() * scale_.array()).colwise() + shift_.array();
      return;
    }
    const Index b = x.cols();
    if (b < 2) {
      throw InvalidArgument("BatchNorm1d: a training batch needs at least 2 columns (observations), got " +
                            std::to_string(b) +
                            ": the batch variance of one observation is undefined; "
                            "train with a batch of at least 2, or evaluate with Mode::eval");
    }
    batch_.compute(x, eps_);
    y.resize(x.rows(), b);
    y.array() = (batch_.x_hat.array().colwise() * gamma).colwise() + beta;

    const Scalar m = Scalar(momentum_);
    batch_.update_running(running_mean_, running_var_, m, m * Scalar(b) / Scalar(b - 1));  // unbiased, as PyTorch
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    sum_dy_ = dy.rowwise().sum();
    sum_dy_xhat_.array() = (dy.array() * batch_.x_hat.array()).rowwise().sum();
    gamma_.grad.col(0) += sum_dy_xhat_;
    beta_.grad.col(0) += sum_dy_;
    if (!dx) return;
    // Closed form of d/dx through the batch mean and variance. The two sums become the batch means of dy and
    // dy * x_hat in place: a broadcast of an expression would be evaluated into a temporary on every call.
    const Scalar inv_b = Scalar(1) / Scalar(x.cols());
    sum_dy_ *= inv_b;
    sum_dy_xhat_ *= inv_b;
    scale_.array() = gamma_.value.col(0).array() * batch_.inv_std.array();
    dx->resize(x.rows(), x.cols());
    dx->array() =
        ((dy.array().colwise() - sum_dy_.array()) - batch_.x_hat.array().colwise() * sum_dy_xhat_.array()).colwise() *
        scale_.array();
  }

  std::vector<Parameter<Scalar>*> parameters() override { return {&gamma_, &beta_}; }
  std::vector<StateTensor<Scalar>> state() override {
    return {{"running_mean", &running_mean_}, {"running_var", &running_var_}};
  }

  /// Scale gamma (units x 1, initialised to 1).
  Parameter<Scalar>& gamma() { return gamma_; }
  /// Shift beta (units x 1, initialised to 0).
  Parameter<Scalar>& beta() { return beta_; }
  const Parameter<Scalar>& gamma() const { return gamma_; }
  const Parameter<Scalar>& beta() const { return beta_; }
  /// Running mean used in evaluation (units x 1, starts at 0).
  const MatrixType& running_mean() const { return running_mean_; }
  /// Running unbiased variance used in evaluation (units x 1, starts at 1).
  const MatrixType& running_var() const { return running_var_; }
  double momentum() const { return momentum_; }
  double eps() const { return eps_; }

 private:
  using VectorType = Vector<Scalar>;

  static Index checked_units(Index n) {
    if (n <= 0) throw InvalidArgument("BatchNorm1d: units must be positive, got " + std::to_string(n));
    return n;
  }

  Parameter<Scalar> gamma_;
  Parameter<Scalar> beta_;
  MatrixType running_mean_;
  MatrixType running_var_;
  double momentum_;
  double eps_;
  // Statistics of the last training batch (its x_hat is units x B; sized on first use) and per-feature scratch.
  detail::BatchStatistics<Scalar> batch_;
  VectorType scale_{VectorType::Zero(gamma_.value.rows())}, shift_{scale_}, sum_dy_{scale_}, sum_dy_xhat_{scale_};
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(BatchNorm1d)

}  // namespace bayesdrop
