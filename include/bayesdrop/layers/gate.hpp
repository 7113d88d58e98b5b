// Base of the multiplicative per-unit noise layers ("gates"): binary, Gaussian and variational dropout on units,
// beta-Bernoulli dropout and structured Bayesian pruning all compute y = x * z with one factor z per unit.
//
// A unit is one input feature of a dense layer, or one channel of a convolution's output. For channels, the
// factor of channel c multiplies all H*W values of that channel (rows c*H*W .. (c+1)*H*W - 1 of a column, see
// core/types.hpp). Factors are either drawn per example (z is units x B) or shared by the batch (z is units x 1).
// The helpers below do the broadcasting and its gradients, so a family only implements its noise and its KL.
#pragma once

#include <string>
#include <utility>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/core/parallel.hpp"

namespace bayesdrop {

/// A gate on channels spreads the examples of a batch over Eigen::nbThreads() OpenMP threads when the batch holds at
/// least this many values (LeNet-5's first conv: 20 x 24 x 24 x 100 = 1.15 million). Each example is one thread's
/// work, so the result does not depend on the thread count.
inline constexpr Index kGateParallelValues = Index(1) << 16;

template <class Scalar>
class Gate : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using VectorType = Vector<Scalar>;

  /// Number of gated units (features, or channels).
  Index units() const { return units_; }
  /// Values per unit in one example: 1 for features, H*W for channels.
  Index spatial() const { return spatial_; }
  Index input_rows() const override { return units_ * spatial_; }
  Index output_rows() const override { return units_ * spatial_; }

  /// Units the evaluation-mode forward keeps (gate not switched off).
  virtual Index n_active() const = 0;
  /// The evaluation-mode factor of every unit (units x 1): y = x * eval_scale() per unit, 0 for a pruned unit.
  /// 1 for the dropout families whose evaluation is the identity (inverted binary, Gaussian, variational). Pictures
  /// of what was pruned and the compact export of a pruned model read it. Allocates.
  virtual VectorType eval_scale() const { return VectorType::Ones(units_); }
  /// Units kept per example by the evaluation forwards since the last reset_activity(), averaged over their examples.
  /// For every gate whose evaluation does not depend on the input this is n_active(); the dependent beta-Bernoulli
  /// gate (layers/dependent_beta_bernoulli_dropout.hpp) switches units off per example and counts them.
  virtual double n_active_per_example() const { return double(n_active()); }
  /// Starts a new tally for n_active_per_example() (nothing to do for gates that keep no tally).
  virtual void reset_activity() {}
  /// Units counted as inputs: features or channels; active ones are those kept in evaluation.
  SparsityStats sparsity() const override { return SparsityStats{units_, n_active(), 0, 0}; }
  /// compact(): folded into the next weight layer through eval_scale() (GateForm), so every gate compacts.
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override {
    return std::make_shared<GateForm<Scalar>>(eval_scale(), n_active(), spatial_);
  }

 protected:
  /// One gate per feature of a units-long input.
  Gate(Index units, const char* who) : units_(units), spatial_(1) { check(units > 0, who, units); }
  /// One gate per channel of a channels x height x width image.
  Gate(ImageShape image, const char* who) : units_(image.channels), spatial_(image.height * image.width) {
    check(image.channels > 0 && image.height > 0 && image.width > 0, who, image.size());
  }

  /// y = x scaled by z(unit, example); z is units x B.
  void scale_per_example(const MatrixType& x, const MatrixType& z, MatrixType& y) const {
    if (spatial_ == 1) {
      y = x.cwiseProduct(z);
      return;
    }
    y.resize(x.rows(), x.cols());
    for_each_example(x, [&](Index j) { channels(y, j) = channels(x, j) * z.col(j).asDiagonal(); });
  }

  /// y = x scaled by s(unit), the same for every example; s has `units` entries.
  void scale_per_unit(const MatrixType& x, const VectorType& s, MatrixType& y) const {
    if (spatial_ == 1) {
      y = s.asDiagonal() * x;
      return;
    }
    y.resize(x.rows(), x.cols());
    for_each_example(x, [&](Index j) { channels(y, j) = channels(x, j) * s.asDiagonal(); });
  }

  /// dz(unit, example) = sum over the unit's values of dy * x: the gradient of <dy, y> with respect to z.
  void grad_per_example(const MatrixType& x, const MatrixType& dy, MatrixType& dz) const {
    if (spatial_ == 1) {
      dz = dy.cwiseProduct(x);
      return;
    }
    dz.resize(units_, x.cols());
    for_each_example(
        x, [&](Index j) { dz.col(j) = channels(dy, j).cwiseProduct(channels(x, j)).colwise().sum().transpose(); });
  }

  /// ds(unit) = sum over examples and the unit's values of dy * x: the gradient with respect to a shared s.
  void grad_per_unit(const MatrixType& x, const MatrixType& dy, VectorType& ds) const {
    if (spatial_ == 1) {
      ds = dy.cwiseProduct(x).rowwise().sum();
      return;
    }
    grad_per_example(x, dy, per_example_);  // each example's sums over threads, then added in example order
    ds.setZero(units_);
    for (Index j = 0; j < x.cols(); ++j) ds += per_example_.col(j);
  }

 private:
  /// fn(j) for every example j of the batch x, over threads for batches of at least kGateParallelValues values.
  template <class Fn>
  static void for_each_example(const MatrixType& x, Fn&& fn) {
    parallel_for(x.cols(), x.size() >= kGateParallelValues ? 1 : x.cols() + 1, std::forward<Fn>(fn));
  }
  // Column j viewed as spatial x units: column c of the view is channel c.
  Eigen::Map<MatrixType> channels(MatrixType& m, Index j) const {
    return Eigen::Map<MatrixType>(m.col(j).data(), spatial_, units_);
  }
  Eigen::Map<const MatrixType> channels(const MatrixType& m, Index j) const {
    return Eigen::Map<const MatrixType>(m.col(j).data(), spatial_, units_);
  }
  static void check(bool ok, const char* who, Index n) {
    if (!ok)
      throw InvalidArgument(std::string(who) + ": the number of gated units must be positive, got " +
                            std::to_string(n));
  }

  Index units_;
  Index spatial_;
  mutable MatrixType per_example_;  ///< grad_per_unit's per-example sums (units x B), kept to avoid reallocating
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(Gate)

}  // namespace bayesdrop
