// A dense layer with a group-lasso penalty on each input unit's weights: structured sparsity learning (SSL), the
// deterministic baseline of the pruning comparisons.
//
// @inproceedings{wen2016learning,
//   title     = {Learning Structured Sparsity in Deep Neural Networks},
//   author    = {Wen, Wei and Wu, Chunpeng and Wang, Yandan and Chen, Yiran and Li, Hai},
//   booktitle = {Advances in Neural Information Processing Systems 29},
//   year      = {2016}
// }
//
//   forward:     y = W x + b, as Linear, in training; in evaluation the input units whose group is pruned are read
//                as 0 (y = W diag(m) x + b, m_j = 1 while ||W[:, j]|| >= threshold)
//   penalty:     sum over input units j of ||W[:, j]||_2, the L2 norm of the weights unit j feeds (eq. 2 of Wen et
//                al., one group per input unit); the layer's kl(), so the ELBO adds it times its KL scale over N.
//                The comparison's rate r (loss = CE + r * penalty) is a KL scale of r * N; the family's recipe sets
//                it (r = 1e-3 by default).
//   gradient:    d penalty / d W[:, j] = W[:, j] / ||W[:, j]|| (0 for a group already at 0)
//
// No noise: the layer is deterministic in training and evaluation. A unit whose group norm falls below the
// threshold (1e-3 by default: a choice, the BB authors' SSL code is not in their published repository) is pruned:
// it counts as inactive and compact() drops it.
#pragma once

#include <cmath>
#include <memory>
#include <string>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/layers/linear.hpp"

namespace bayesdrop {

struct GroupLassoOptions {
  double threshold = 1e-3;  ///< an input unit is pruned while its weights' L2 norm is below this
  LinearOptions linear;     ///< the dense layer's own options (initialisation, bias)

  GroupLassoOptions& with_threshold(double t) {
    if (!(t >= 0) || !std::isfinite(t)) {
      throw InvalidArgument("GroupLassoOptions: the threshold must be finite and >= 0, got " + std::to_string(t));
    }
    threshold = t;
    return *this;
  }
};

template <class Scalar>
class GroupLassoLinear final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// in, out > 0, as Linear; rng draws the initial weights.
  GroupLassoLinear(Index in, Index out, Rng& rng, const GroupLassoOptions& options = {})
      : linear_(in, out, rng, options.linear), threshold_(options.threshold) {
    GroupLassoOptions{}.with_threshold(options.threshold);  // validates an options struct filled in by hand
  }

  std::string_view name() const override { return "GroupLassoLinear"; }
  Index input_rows() const override { return linear_.input_rows(); }
  Index output_rows() const override { return linear_.output_rows(); }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    if (ctx.training()) {
      linear_.forward(x, y, ctx);
      return;
    }
    xm_ = x;  // the pruned units read as 0
    const auto& w = linear_.weight().value;
    for (Index j = 0; j < w.cols(); ++j) {
      if (!(w.col(j).norm() >= Scalar(threshold_))) xm_.row(j).setZero();
    }
    linear_.forward(xm_, y, ctx);
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    linear_.backward(x, dy, dx);
  }

  std::vector<Parameter<Scalar>*> parameters() override { return linear_.parameters(); }

  bool has_kl() const override { return true; }
  Scalar kl() const override {
    const auto& w = linear_.weight().value;
    double sum = 0;
    for (Index j = 0; j < w.cols(); ++j) sum += double(w.col(j).norm());
    return Scalar(sum);
  }
  void kl_backward(Scalar coeff) override {
    auto& wp = linear_.weight();
    for (Index j = 0; j < wp.value.cols(); ++j) {
      const Scalar n = wp.value.col(j).norm();
      if (n > Scalar(0)) wp.grad.col(j) += (coeff / n) * wp.value.col(j);
    }
  }

  /// Input units whose group norm is at least the threshold.
  Index n_active() const {
    const auto& w = linear_.weight().value;
    Index n = 0;
    for (Index j = 0; j < w.cols(); ++j) n += w.col(j).norm() >= Scalar(threshold_);
    return n;
  }
  SparsityStats sparsity() const override {
    const Index in = input_rows(), out = output_rows(), kept = n_active();
    return SparsityStats{in, kept, in * out, kept * out, out, out, 1, linear_.has_bias() ? out : 0};
  }
  /// compact(): a plain Linear without the pruned input units.
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override {
    return std::make_shared<WeightForm<Scalar>>(
        dense_compact_weights<Scalar>(eval_weight(), linear_.has_bias(), linear_.bias().value),
        [](const MatrixType& w, const Vector<Scalar>& b, bool bias, const CompactOptions&) -> LayerPtr<Scalar> {
          return Linear<Scalar>::with_weights(w, b, bias);
        });
  }
  /// The weights evaluation uses: the pruned units' columns set to 0. Allocates.
  MatrixType eval_weight() const {
    MatrixType w = linear_.weight().value;
    for (Index j = 0; j < w.cols(); ++j) {
      if (!(w.col(j).norm() >= Scalar(threshold_))) w.col(j).setZero();
    }
    return w;
  }

  Parameter<Scalar>& weight() { return linear_.weight(); }
  const Parameter<Scalar>& weight() const { return linear_.weight(); }
  double threshold() const { return threshold_; }

 private:
  Linear<Scalar> linear_;
  double threshold_;
  MatrixType xm_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(GroupLassoLinear)

}  // namespace bayesdrop
