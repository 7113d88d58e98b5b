// compact() and dependent beta-Bernoulli dropout (layers/dependent_beta_bernoulli_dropout.hpp): the gate's evaluation
// rule z = g clamp(h, 0, 1), thresholded, which the layer uses too, and the forms compact() builds from a trained
// gate. h is affine in the unit's input mean xbar (the batch normalisation's running statistics folded in), so a kept
// unit becomes a CompactDependentGate holding g, the slope and the offset; units the beta-Bernoulli part pruned go.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/core/types.hpp"
#include "bayesdrop/layers/eval_only.hpp"

namespace bayesdrop {

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

/// The evaluation gate of one unit of one example, written once for the layer and its compact form: z = g clamp(h, 0,
/// 1) where that is above the threshold, else 0. h is the gate's input (gamma xhat + beta in the layer, slope xbar +
/// offset in the compact form), g the beta-Bernoulli factor (E[pi] where kept, else 0).
template <class Scalar>
Scalar dependent_eval_gate(Scalar g, Scalar h, Scalar threshold) {
  const Scalar z = g * std::min(Scalar(1), std::max(Scalar(0), h));
  return z > threshold ? z : Scalar(0);
}

/// dependent_eval_gate for every unit (row) and example (column): h (units x B) becomes z in place.
template <class Scalar>
void dependent_eval_gate_in_place(Matrix<Scalar>& h, const Vector<Scalar>& g, double threshold) {
  const Scalar t(threshold);
  for (Index j = 0; j < h.cols(); ++j) {
    for (Index k = 0; k < h.rows(); ++k) h(k, j) = dependent_eval_gate(g[k], h(k, j), t);
  }
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
    z_.array() = (xb.array().colwise() * a_.array()).colwise() + b_.array();  // h = A xbar + B
    detail::dependent_eval_gate_in_place(z_, g_, threshold_);
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
    return detail::dependent_eval_gate(g_[k], slope_[k] * xbar + offset_[k], Scalar(threshold_));
  }

  VectorType g_, slope_, offset_;
  double threshold_;
  Index spatial_;
  VectorType scale_;  // the scale compact() feeds each unit at (fold)
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(CompactDependentGate)
BAYESDROP_EXTERN_CLASS_TEMPLATE(DependentGateForm)

}  // namespace bayesdrop
