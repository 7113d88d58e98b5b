// Fully connected layer with sparse variational dropout (Molchanov, Ashukha & Vetrov 2017): a factorised Gaussian
// posterior per weight, w_ij = theta_ij + sigma_ij eps_ij, under the log-uniform prior; weights whose posterior
// is mostly noise (log alpha >= 3) are pruned.
//
// @inproceedings{molchanov2017variational,
//   title     = {Variational Dropout Sparsifies Deep Neural Networks},
//   author    = {Molchanov, Dmitry and Ashukha, Arsenii and Vetrov, Dmitry},
//   booktitle = {Proceedings of the 34th International Conference on Machine Learning},
//   pages     = {2498--2507},
//   year      = {2017}
// }
//
//   training (local reparameterisation trick):
//     mu = theta_m x + b,   var = S (x o x),   y = mu + sqrt(var + 1e-8) o eps,   eps ~ N(0, 1) per output and example
//     theta_m = theta, or theta masked where log alpha >= 3 with train_mask (the scripts' train_clip=True);
//     S = exp(clip(log alpha)) o theta^2 (default, the authors' code) or exp(log sigma^2) (SparseVDVariance::sigma2)
//   evaluation (deterministic):  y = (theta o 1[log alpha < 3]) x + b
//   KL:  sum_ij KL(log alpha_ij),  -KL(la) ~= k1 sigmoid(k2 + k3 la) - 0.5 log1p(exp(-la)) - k1 (math/kl_sparse_vd.hpp)
//        log alpha = clip(log sigma^2 - log(theta^2 + 1e-8), -8, 8)
//
// Parameters (see layers/sparse_vd_options.hpp for the defaults and why):
//   theta       (out x in, role weight): the posterior mean, the paper's theta (the authors' code calls it W).
//               Named "theta" to keep it apart from the sampled weight w. Init N(0, 0.01^2) (Lasagne init.Normal()).
//   log_sigma2  (out x in, role noise): log of the additive noise variance. Init -10 (the authors' ard_init).
//   bias        (out x 1, role bias): zero.
//
// Speed: the training forward is two matrix products (mean and variance paths), one pass to square x and one fused
// pass that adds the noise; the weight-side quantities (log alpha, the variances S) are computed once per forward
// into member buffers. The backward pass is two products for the weight gradients and two for dx. The products run
// on the library's back end (core/gemm.hpp: Eigen, or oneDNN's matmul for floats).
//
// Sparsity: weights kept = log alpha < 3; active_in = input columns with a kept weight; active_outputs() = output
// rows with a kept weight.
#pragma once

#include <string>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/gemm.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/layers/eval_only.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/sparse_vd_options.hpp"
#include "bayesdrop/layers/sparse_vd_posterior.hpp"

namespace bayesdrop {

template <class Scalar>
class SparseVDLinear final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// in, out > 0: features per observation before and after. rng draws the initial theta.
  SparseVDLinear(Index in, Index out, Rng& rng, const SparseVDOptions& options = {})
      : post_(checked(out, "out"), checked(in, "in"), in, out, validated(options), Init::normal(kSparseVDDenseInitStd),
              rng) {}

  std::string_view name() const override { return "SparseVDLinear"; }
  Index input_rows() const override { return post_.theta.value.cols(); }
  Index output_rows() const override { return post_.theta.value.rows(); }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    const Index batch = x.cols();
    if (!ctx.training()) {
      const MatrixType& w = post_.prepare_eval();
      set_bias(y, batch);
      forward_add_(w, x, y);  // y = (theta o mask) x + b
      return;
    }
    Rng& rng = this->training_rng(ctx);
    post_.prepare_train();
    set_bias(y, batch);
    forward_add_(post_.mean_weight(), x, y);  // mu = theta_m x + b
    xsq_ = x.array().square();
    forward_(post_.variance_weight(), xsq_, var_);  // var = S (x o x)
    eps_.resize(output_rows(), batch);
    rng.normal(eps_);
    y.array() += (var_.array() + Scalar(kSparseVDVarianceEpsilon)).sqrt() * eps_.array();  // y = mu + sd o eps
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    // d loss / d var = dy o eps / (2 sd)
    dvar_ = dy.array() * eps_.array() * (Scalar(0.5) / (var_.array() + Scalar(kSparseVDVarianceEpsilon)).sqrt());
    if (post_.has_bias()) post_.bias.grad.col(0) += dy.rowwise().sum();  // db = sum over the batch
    if (post_.masks_mean_gradient()) {
      outer_(dy, x, g_mean_);  // d loss / d theta_m = dy x^T
    } else {
      weight_grad_(dy, x, post_.theta.grad);
    }
    outer_(dvar_, xsq_, g_var_);  // d loss / d S = dvar (x o x)^T
    post_.accumulate_gradients(post_.masks_mean_gradient() ? &g_mean_ : nullptr, g_var_);
    if (dx) {
      // dx = theta_m^T dy + 2 x o (S^T dvar)
      input_grad_(post_.variance_weight(), dvar_, *dx);
      dx->array() *= Scalar(2) * x.array();
      input_grad_add_(post_.mean_weight(), dy, *dx);
    }
  }

  std::vector<Parameter<Scalar>*> parameters() override {
    if (post_.has_bias()) return {&post_.theta, &post_.log_sigma2, &post_.bias};
    return {&post_.theta, &post_.log_sigma2};
  }
  bool has_kl() const override { return true; }
  Scalar kl() const override { return post_.kl(); }
  void kl_backward(Scalar coeff) override { post_.kl_backward(coeff); }

  /// units_in = inputs, active_in = inputs with a kept weight; weights and kept weights (log alpha < threshold).
  SparsityStats sparsity() const override {
    return SparsityStats{input_rows(),
                         post_.active_column_groups(1),
                         post_.theta.value.size(),
                         post_.kept_weights(),
                         output_rows(),
                         post_.active_rows(),
                         1,
                         post_.has_bias() ? output_rows() : 0};
  }
  /// Output rows that still have a kept weight (the others output only their bias in evaluation).
  std::int64_t active_outputs() const { return post_.active_rows(); }

  /// log alpha = clip(log sigma^2 - log(theta^2 + 1e-8), -8, 8) at the current parameters (out x in).
  MatrixType log_alpha() const { return post_.log_alpha(); }
  /// The weights the evaluation forward uses: theta with pruned entries set to zero.
  /// compact(): the evaluation weights' kept block as a dense Linear or, below CompactOptions::sparse_density, a
  /// SparseLinear.
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override {
    return std::make_shared<WeightForm<Scalar>>(
        dense_compact_weights<Scalar>(eval_weight(), has_bias(), post_.bias.value),
        [](const MatrixType& w, const Vector<Scalar>& b, bool bias, const CompactOptions& options) -> LayerPtr<Scalar> {
          if (double((w.array() != Scalar(0)).count()) < options.sparse_density * double(w.size())) {
            return std::make_unique<SparseLinear<Scalar>>(w.sparseView(), bias ? b : Vector<Scalar>());
          }
          return Linear<Scalar>::with_weights(w, b, bias);
        });
  }

  MatrixType eval_weight() const { return post_.kept().select(post_.theta.value.array(), Scalar(0)).matrix(); }

  Parameter<Scalar>& theta() { return post_.theta; }
  Parameter<Scalar>& log_sigma2() { return post_.log_sigma2; }
  Parameter<Scalar>& bias() { return post_.bias; }
  const Parameter<Scalar>& theta() const { return post_.theta; }
  const Parameter<Scalar>& log_sigma2() const { return post_.log_sigma2; }
  const Parameter<Scalar>& bias() const { return post_.bias; }
  bool has_bias() const { return post_.has_bias(); }
  const SparseVDOptions& options() const { return post_.options(); }
  /// Masks the weights of log alpha >= threshold in training too (the authors' train_clip), from the next forward.
  bool set_train_mask(bool m) override {
    post_.set_train_mask(m);
    return true;
  }

 private:
  static Index checked(Index n, const char* what) {
    if (n <= 0) {
      throw InvalidArgument(std::string("SparseVDLinear: ") + what + " features must be positive, got " +
                            std::to_string(n));
    }
    return n;
  }
  static const SparseVDOptions& validated(const SparseVDOptions& o) {
    o.validate("SparseVDLinear");
    return o;
  }
  void set_bias(MatrixType& y, Index batch) const {
    if (post_.has_bias()) {
      y = post_.bias.value.col(0).replicate(1, batch);
    } else {
      y.setZero(output_rows(), batch);
    }
  }

  detail::SparseVDPosterior<Scalar> post_;
  MatrixType xsq_, var_, eps_, dvar_, g_mean_, g_var_;
  // The products on the library's back end (core/gemm.hpp): Eigen's, or oneDNN's primitives kept per shape.
  Product<Scalar, Op::none, Op::none, true> forward_add_;          // y += W x (the mean path, after the bias)
  ForwardProduct<Scalar> forward_;                                 // var = S (x o x)
  OuterProduct<Scalar> outer_;                                     // G = dy x^T, overwritten
  WeightGradProduct<Scalar> weight_grad_;                          // theta.grad += dy x^T
  InputGradProduct<Scalar> input_grad_;                            // dx = S^T dvar
  Product<Scalar, Op::transpose, Op::none, true> input_grad_add_;  // dx += theta_m^T dy
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(SparseVDLinear)

}  // namespace bayesdrop
