// Fully connected layer y = W x + b.
//
//   training and evaluation:  y = W x + b                      (both modes are the same; Linear has no noise)
//   backward:                 dW += dy x^T,  db += dy 1,  dx = W^T dy
//
// Parameters: weight W (out x in), bias b (out x 1), initialised by LinearOptions::init (Glorot uniform by default,
// TensorFlow's dense default, which the methods' reference code uses) and zero.
#pragma once

#include <string>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/gemm.hpp"
#include "bayesdrop/core/init.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/core/parallel.hpp"

namespace bayesdrop {

struct LinearOptions {
  Init init = Init::glorot_uniform();  ///< weight initialiser. Default: Glorot uniform
  bool bias = true;                    ///< learn an additive bias. Default: true

  LinearOptions& with_init(Init i) {
    init = i;
    return *this;
  }
  LinearOptions& with_bias(bool b) {
    bias = b;
    return *this;
  }
};

template <class Scalar>
class Linear final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// in, out > 0: features per observation before and after. rng draws the initial weights.
  Linear(Index in, Index out, Rng& rng, LinearOptions options = {})
      : weight_("weight", ParamRole::weight, checked(out, "out"), checked(in, "in")),
        bias_("bias", ParamRole::bias, out, 1),
        has_bias_(options.bias) {
    initialize(weight_.value, in, out, options.init, rng);
  }

  std::string_view name() const override { return "Linear"; }

  /// A Linear holding the given weights (out x in) and, if `bias`, the bias b (compact() builds its layers so).
  static std::unique_ptr<Linear> with_weights(const MatrixType& w, const Vector<Scalar>& b, bool bias) {
    Rng rng(0);  // the constructor draws initial weights; they are overwritten
    auto lin =
        std::make_unique<Linear>(w.cols(), w.rows(), rng, LinearOptions{}.with_init(Init::zeros()).with_bias(bias));
    lin->weight_.value = w;
    if (bias) lin->bias_.value.col(0) = b;
    return lin;
  }
  /// compact(): the kept block of the weights as a smaller Linear.
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override {
    return std::make_shared<WeightForm<Scalar>>(
        dense_compact_weights<Scalar>(weight_.value, has_bias_, bias_.value),
        [](const MatrixType& w, const Vector<Scalar>& b, bool bias, const CompactOptions&) -> LayerPtr<Scalar> {
          return with_weights(w, b, bias);
        });
  }
  Index input_rows() const override { return weight_.value.cols(); }
  Index output_rows() const override { return weight_.value.rows(); }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    forward_product_(weight_.value, x, y);  // y = W x
    if (has_bias_) y.colwise() += bias_.value.col(0);
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    weight_grad_product_(dy, x, weight_.grad);               // dL/dW += dy x^T
    if (has_bias_) bias_.grad.col(0) += dy.rowwise().sum();  // dL/db = sum over the batch
    if (dx) input_grad_product_(weight_.value, dy, *dx);     // dL/dx = W^T dy
  }

  /// Input-gate shortcut (core/layer.hpp): with H = dy x^T, the weight gradient is H and
  ///   g(i) = sum_j x_ij (W^T dy)_ij = sum_k W_ki H_ki,
  /// one pass over the weights instead of the product W^T dy (in x batch FLOPs, as large as the weight gradient's).
  bool backward_row_scale(const MatrixType& x, const MatrixType& dy, Vector<Scalar>& g) override {
    this->check_backward(x, dy);
    outer_product_(dy, x, row_scale_h_);  // H = dy x^T
    if (has_bias_) bias_.grad.col(0) += dy.rowwise().sum();
    g.resize(input_rows());
    parallel_for(input_rows(), 64, [&](Index i) {  // columns are contiguous: one input's weights
      weight_.grad.col(i) += row_scale_h_.col(i);
      g[i] = weight_.value.col(i).dot(row_scale_h_.col(i));
    });
    return true;
  }

  std::vector<Parameter<Scalar>*> parameters() override {
    if (has_bias_) return {&weight_, &bias_};
    return {&weight_};
  }
  SparsityStats sparsity() const override {
    const auto w = weight_.value.size();
    const Index out = output_rows();
    return SparsityStats{input_rows(), input_rows(), w, w, out, out, 1, has_bias_ ? out : 0};
  }

  Parameter<Scalar>& weight() { return weight_; }
  Parameter<Scalar>& bias() { return bias_; }
  const Parameter<Scalar>& weight() const { return weight_; }
  const Parameter<Scalar>& bias() const { return bias_; }
  bool has_bias() const { return has_bias_; }

 private:
  static Index checked(Index n, const char* what) {
    if (n <= 0) {
      throw InvalidArgument(std::string("Linear: ") + what + " features must be positive, got " + std::to_string(n));
    }
    return n;
  }

  Parameter<Scalar> weight_;
  Parameter<Scalar> bias_;
  bool has_bias_;
  MatrixType row_scale_h_;  // backward_row_scale's dy x^T
  // The products on the library's back end (core/gemm.hpp): Eigen's, or oneDNN's primitives kept per shape.
  ForwardProduct<Scalar> forward_product_;
  WeightGradProduct<Scalar> weight_grad_product_;
  InputGradProduct<Scalar> input_grad_product_;
  OuterProduct<Scalar> outer_product_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(Linear)

}  // namespace bayesdrop
