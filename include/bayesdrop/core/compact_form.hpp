// The compact-form hook of the layer contract: how a layer takes part in compact() (models/compact.hpp).
//
// Layer::compact_form() returns null for a layer compact() cannot take, or a CompactForm that compact() asks, layer
// by layer, in three passes over the model:
//   1. fold() (forward): from the evaluation-time picture of the layer's input rows (CompactRows: a live row is
//      scale * the compact model's value with scale > 0, a constant row has scale 0 and a value), the picture of its
//      output rows. A gate multiplies the scales (GateForm); a weight layer folds its input's scales and constants
//      into its weights and bias (fold_into_weights(), the one gate-folding step) and starts its output fresh.
//   2. needed_inputs() (backward): from which output rows a kept weight downstream reads, which input rows this
//      layer reads.
//   3. build(): appends the compact layer(s) for the kept input rows and returns the output rows they produce.
// A new prunable layer overrides compact_form() and returns one of the forms below (a WeightForm with a factory
// for its compact layer, a RowwiseForm for a layer that acts row by row) or a CompactForm of its own.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"

namespace bayesdrop {

/// Default CompactOptions::sparse_density: below it a SparseLinear is faster than a dense Linear of the same shape.
/// bench_compact BM_DensitySweep, float, batch 1000, 1 thread (2 cores, both busy with training runs), ms per batch
/// dense vs sparse:
///   300 x 784:  1 %: 3.86 vs 1.11   5 %: 3.82 vs 1.80   10 %: 3.86 vs 2.51   15 %: 3.98 vs 3.28   20 %: 3.87 vs 4.03
///   100 x 300:  1 %: 1.00 vs 0.49   5 %: 0.99 vs 0.59   10 %: 0.96 vs 0.76   15 %: 0.96 vs 0.86   20 %: 0.95 vs 0.98
/// (means of 3 repetitions). The two cross near 20 %; 0.15 keeps the sparse form only where it wins clearly.
/// The dense product uses more threads well and SparseLinear does not, so with several threads prefer a lower value.
inline constexpr double kCompactSparseDensity = 0.15;

struct CompactOptions {
  /// A compacted SparseVDLinear whose density (nonzeros / (rows x cols), after dropping unused rows and columns) is
  /// below this is stored as a SparseLinear, else as a dense Linear. 0 = always dense, 1 = sparse unless full.
  /// Default: kCompactSparseDensity
  double sparse_density = kCompactSparseDensity;

  CompactOptions& with_sparse_density(double d) {
    sparse_density = d;
    validate();
    return *this;
  }
  /// Throws InvalidArgument unless sparse_density is in [0, 1].
  void validate() const {
    if (!(sparse_density >= 0 && sparse_density <= 1)) {
      throw InvalidArgument("CompactOptions: sparse_density must be in [0, 1], got " + std::to_string(sparse_density));
    }
  }
};

/// The evaluation-time picture of one activation, per row: a live row is scale * (the compact model's value) with
/// scale > 0; a constant row has scale 0 and the value `value`.
template <class Scalar>
struct CompactRows {
  Vector<Scalar> scale, value;
};

/// One layer's part in compact(); see the header comment. `where` names the layer in errors ("compact(): layer 3
/// (Linear)").
template <class Scalar>
class CompactForm {
 public:
  virtual ~CompactForm() = default;
  /// Pass 1: the picture of the output rows from that of the input rows.
  virtual CompactRows<Scalar> fold(CompactRows<Scalar> in, const std::string& where) = 0;
  /// Pass 2: which input rows are read, given which output rows are needed (default: row by row, the same rows).
  virtual std::vector<char> needed_inputs(const std::vector<char>& out, const CompactRows<Scalar>& /*in*/) const {
    return out;
  }
  /// Pass 3: appends the compact layers reading the input rows `have` (ascending) to `layers` and returns the
  /// output rows they produce (default: none appended, the same rows).
  virtual std::vector<Index> build(const std::vector<Index>& have, const std::vector<char>& /*out_needed*/,
                                   std::vector<LayerPtr<Scalar>>& /*layers*/, const CompactOptions& /*options*/,
                                   const std::string& /*where*/) const {
    return have;
  }
  /// True for a layer with weights (Linear, Conv2d, sparse VD): compact() needs at least one.
  virtual bool carries_weights() const { return false; }
  /// True for a gate: it is folded into the next weight layer, so one must follow.
  virtual bool folds_into_next() const { return false; }
};

namespace detail {

inline std::string compact_where(Index i, std::string_view name) {
  return "compact(): layer " + std::to_string(i) + " (" + std::string(name) + ")";
}

inline InvalidArgument compact_degenerate(const std::string& where) {
  return InvalidArgument(where +
                         " has no kept input or output left: the model's output no longer "
                         "depends on its input, and compact() has no layer for a constant");
}

/// Throws unless every unit's rows share one scale and one value: image layers can only take per-channel factors.
template <class Scalar>
void require_uniform(const CompactRows<Scalar>& a, Index units, Index spatial, const std::string& where) {
  for (Index u = 0; u < units; ++u) {
    const auto s = a.scale.segment(u * spatial, spatial), v = a.value.segment(u * spatial, spatial);
    if ((s.array() != s[0]).any() || (v.array() != v[0]).any()) {
      throw InvalidArgument(where + " gets channel " + std::to_string(u) +
                            " scaled or pruned unevenly over its positions (a per-feature gate in front of an image "
                            "layer); only per-channel gates can be folded there");
    }
  }
}

/// Units with at least one flagged row.
inline std::vector<Index> flagged_units(const std::vector<char>& rows, Index spatial) {
  std::vector<Index> units;
  for (Index u = 0; u * spatial < Index(rows.size()); ++u) {
    if (std::any_of(rows.begin() + u * spatial, rows.begin() + (u + 1) * spatial, [](char f) { return f != 0; })) {
      units.push_back(u);
    }
  }
  return units;
}

/// The units of `rows`, a list of whole units' rows in ascending order.
inline std::vector<Index> units_of(const std::vector<Index>& rows, Index spatial) {
  std::vector<Index> units;
  for (std::size_t j = 0; j < rows.size(); j += std::size_t(spatial)) units.push_back(rows[j] / spatial);
  return units;
}

/// All rows of the given units.
inline std::vector<Index> unit_rows(const std::vector<Index>& units, Index spatial) {
  std::vector<Index> rows;
  for (Index u : units) {
    for (Index r = 0; r < spatial; ++r) rows.push_back(u * spatial + r);
  }
  return rows;
}

}  // namespace detail

/// A layer that acts row by row and disappears from the compact model (Flatten: the rows do not move).
template <class Scalar>
class RowwiseForm : public CompactForm<Scalar> {
 public:
  CompactRows<Scalar> fold(CompactRows<Scalar> in, const std::string&) override { return in; }
};

/// The form of a gate (layers/gate.hpp): its evaluation scale multiplies the picture of its units' rows; the next
/// weight layer folds it (fold_into_weights()), so no layer of its own is built.
template <class Scalar>
class GateForm : public CompactForm<Scalar> {
 public:
  GateForm(Vector<Scalar> eval_scale, Index n_active, Index spatial)
      : s_(std::move(eval_scale)), n_active_(n_active), spatial_(spatial) {}
  bool folds_into_next() const override { return true; }
  CompactRows<Scalar> fold(CompactRows<Scalar> a, const std::string& where) override {
    if (!s_.allFinite() || (s_.array() < Scalar(0)).any()) {
      throw InvalidArgument(where +
                            " has a negative or non-finite evaluation scale; only scales >= 0 commute with ReLU");
    }
    const Index positive = Index((s_.array() > Scalar(0)).count());
    if (positive != n_active_) {
      throw InvalidArgument(where + " keeps " + std::to_string(n_active_) + " units but has a positive scale on " +
                            std::to_string(positive) + "; a kept unit needs a scale > 0");
    }
    for (Index k = 0; k < s_.size(); ++k) {
      a.scale.segment(k * spatial_, spatial_) *= s_[k];
      a.value.segment(k * spatial_, spatial_) *= s_[k];
    }
    return a;
  }

 private:
  Vector<Scalar> s_;
  Index n_active_, spatial_;
};

/// A weight layer seen as a convolution: dense layers are 1x1 images with a 1x1 kernel. Input unit u (feature or
/// channel) owns rows [u*in_spatial, (u+1)*in_spatial) of the input and columns [u*block, (u+1)*block) of w;
/// output unit o owns rows [o*out_spatial, ...) of the output.
template <class Scalar>
struct CompactWeights {
  Matrix<Scalar> w;  ///< effective weights: gate scales folded in, columns of constant inputs zeroed
  Vector<Scalar> b;  ///< effective bias: constants folded in (zero when the layer has none)
  bool had_bias = false;
  bool image = false;   ///< a convolution: its input must be scaled per channel
  bool padded = false;  ///< a zero-padded convolution: a constant input channel cannot move into the bias
  Index in_spatial = 1, out_spatial = 1, block = 1;
  Index units_in() const { return w.cols() / block; }
};

/// The CompactWeights of a dense layer y = W x + b.
template <class Scalar>
CompactWeights<Scalar> dense_compact_weights(Matrix<Scalar> w, bool has_bias, const Matrix<Scalar>& bias) {
  CompactWeights<Scalar> c;
  c.w = std::move(w);
  c.had_bias = has_bias;
  c.b = has_bias ? Vector<Scalar>(bias.col(0)) : Vector<Scalar>::Zero(c.w.rows());
  return c;
}

/// The gate-folding step, in one place. A gate multiplies unit k by s_k >= 0 (the input picture's scale). A kept
/// unit (s_k > 0) is folded into this weight layer's input columns, W'[:, k] = W[:, k] s_k (for a channel every
/// kernel entry of that channel). That is exact because s_k > 0 commutes with everything compact() allows between
/// a gate and the next weight layer: ReLU(s x) = s ReLU(x) and max(s x) = s max(x). A unit that is the constant
/// c_k (scale 0: pruned, c_k = 0, or a row no kept weight reached) leaves its columns and adds to the bias,
/// b' += W[:, k] c_k (for a valid convolution the kernel sum of the channel times c_k: it reads the whole kernel
/// everywhere). A zero-padded convolution reads less of a nonzero constant at the border than inside, which no bias
/// can express: compact() refuses that case.
template <class Scalar>
void fold_into_weights(CompactWeights<Scalar>& c, const CompactRows<Scalar>& a, const std::string& where) {
  if (c.image) detail::require_uniform(a, c.units_in(), c.in_spatial, where);
  for (Index u = 0; u < c.units_in(); ++u) {
    auto cols = c.w.middleCols(u * c.block, c.block);
    const Scalar s = a.scale[u * c.in_spatial], v = a.value[u * c.in_spatial];
    if (s > 0) {
      cols *= s;
    } else {
      if (v != Scalar(0) && c.padded && (cols.array() != Scalar(0)).any()) {
        throw InvalidArgument(where + " reads input channel " + std::to_string(u) + ", a constant " +
                              std::to_string(double(v)) +
                              " after pruning, through zero padding: its contribution differs at the border, so "
                              "compact() cannot fold it into the bias");
      }
      if (v != Scalar(0)) c.b += cols.rowwise().sum() * v;
      cols.setZero();
    }
  }
}

/// The form of a weight layer: its effective weights, and a factory that builds the compact layer from the kept
/// block of them (w: kept outputs x kept input columns, b: their bias, bias: whether the layer needs one).
template <class Scalar>
class WeightForm : public CompactForm<Scalar> {
 public:
  using Factory = std::function<LayerPtr<Scalar>(const Matrix<Scalar>& w, const Vector<Scalar>& b, bool bias,
                                                 const CompactOptions& options)>;

  WeightForm(CompactWeights<Scalar> weights, Factory make) : c_(std::move(weights)), make_(std::move(make)) {}

  bool carries_weights() const override { return true; }

  /// Folds the input's scales and constants into the weights; an output that no kept weight reaches is the
  /// constant bias b_i (sparse VD rows with every weight pruned; a channel whose filters only read pruned channels).
  CompactRows<Scalar> fold(CompactRows<Scalar> a, const std::string& where) override {
    fold_into_weights(c_, a, where);
    const Index out_units = c_.w.rows(), os = c_.out_spatial;
    a.scale.resize(out_units * os);
    a.value.resize(out_units * os);
    for (Index o = 0; o < out_units; ++o) {
      const bool live = (c_.w.row(o).array() != Scalar(0)).any();
      a.scale.segment(o * os, os).setConstant(live ? Scalar(1) : Scalar(0));
      a.value.segment(o * os, os).setConstant(live ? Scalar(0) : c_.b[o]);
    }
    return a;
  }

  /// An input unit is read if it is live and a kept weight of a needed output reads it.
  std::vector<char> needed_inputs(const std::vector<char>& out, const CompactRows<Scalar>& in) const override {
    std::vector<char> need(std::size_t(in.scale.size()), 0);
    const std::vector<Index> kept_out = detail::flagged_units(out, c_.out_spatial);
    const auto read = (c_.w(kept_out, Eigen::all).array() != Scalar(0)).colwise().any().eval();
    for (Index u = 0; u < c_.units_in(); ++u) {
      const bool used = in.scale[u * c_.in_spatial] > 0 && read.segment(u * c_.block, c_.block).any();
      std::fill_n(need.begin() + u * c_.in_spatial, c_.in_spatial, char(used));
    }
    return need;
  }

  std::vector<Index> build(const std::vector<Index>& have, const std::vector<char>& out_needed,
                           std::vector<LayerPtr<Scalar>>& layers, const CompactOptions& options,
                           const std::string& where) const override {
    const std::vector<Index> in_units = detail::units_of(have, c_.in_spatial);
    const std::vector<Index> out_units = detail::flagged_units(out_needed, c_.out_spatial);
    if (in_units.empty() || out_units.empty()) throw detail::compact_degenerate(where);
    std::vector<Index> cols;
    for (Index u : in_units) {
      for (Index k = 0; k < c_.block; ++k) cols.push_back(u * c_.block + k);
    }
    const Matrix<Scalar> w = c_.w(out_units, cols);
    const Vector<Scalar> b = c_.b(out_units);
    layers.push_back(make_(w, b, c_.had_bias || (b.array() != Scalar(0)).any(), options));
    return detail::unit_rows(out_units, c_.out_spatial);
  }

 private:
  CompactWeights<Scalar> c_;
  Factory make_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(CompactForm)
BAYESDROP_EXTERN_CLASS_TEMPLATE(RowwiseForm)
BAYESDROP_EXTERN_CLASS_TEMPLATE(GateForm)
BAYESDROP_EXTERN_CLASS_TEMPLATE(WeightForm)

}  // namespace bayesdrop
