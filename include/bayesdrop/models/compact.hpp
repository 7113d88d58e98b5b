// compact(): a pruned model rebuilt for inference with the pruned units and weights gone, not multiplied by zero.
//
//   Sequential<float> small = compact(model);   // small.forward(x, Context::eval()) == model.forward(x, eval)
//
// What it does, from the evaluation-mode forward of the original:
//  * A gate multiplies unit k by s_k = eval_scale()[k] >= 0. A kept unit (s_k > 0) is folded into the next weight
//    layer's input columns, W'[:, k] = W[:, k] s_k (for a channel gate every kernel entry of that channel). That is
//    exact because s_k > 0 commutes with everything compact() allows between a gate and the next weight layer:
//    ReLU(s x) = s ReLU(x) and max(s x) = s max(x). A pruned unit (s_k = 0) is the constant 0.
//  * A weight layer's output that no kept weight reaches is the constant bias b_i (sparse VD rows with every weight
//    pruned; a channel whose filters only read pruned channels). Constants pass through ReLU and max-pooling as
//    constants and are folded into the next weight layer's bias, b' += W[:, k] c_k (for an unpadded convolution the
//    kernel sum of the channel times c_k), so they cost nothing at run time. A zero-padded convolution reads less of
//    the constant at the border than inside, which no bias can express: compact() refuses a nonzero constant there.
//    The last weight layer keeps all outputs. Rebuilt layers keep their padding and stride.
//  * Backwards from the output, a unit is kept only if a kept weight of the next weight layer reads it. Dropped
//    units leave the rows of the previous weight layer and the inputs of ReLU and MaxPool2d; dropped input pixels
//    become a SelectRows in front, and features dropped inside a channel (a dense gate behind the convolutions)
//    a SelectRows in the middle.
//  * Linear and Conv2d are rebuilt smaller; sparse VD layers use eval_weight(), a SparseVDConv2d becomes a dense
//    Conv2d, a SparseVDLinear a dense Linear or, below CompactOptions::sparse_density, a SparseLinear.
//
// Parameter counts: for gate-pruned models the compact model holds exactly summarize(model).params_kept(). For
// sparse VD, summarize() counts a layer's nonzeros even where the next layer never reads that output, and folds no
// constants; compact() drops those weights too, so it can hold fewer.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bayesdrop/layers/conv2d.hpp"
#include "bayesdrop/layers/eval_only.hpp"
#include "bayesdrop/layers/flatten.hpp"
#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/max_pool2d.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/models/sequential.hpp"

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

namespace detail {

/// A weight layer seen as a convolution: dense layers are 1x1 images with a 1x1 kernel. Input unit u (feature or
/// channel) owns rows [u*in_spatial, (u+1)*in_spatial) of the input and columns [u*block, (u+1)*block) of w;
/// output unit o owns rows [o*out_spatial, ...) of the output.
template <class Scalar>
struct CompactWeights {
  Matrix<Scalar> w;  ///< effective weights: gate scales folded in, columns of constant inputs zeroed
  Vector<Scalar> b;  ///< effective bias: constants folded in (zero when the layer has none)
  bool had_bias = false, sparse_vd = false, conv = false;
  Conv2dGeometry geometry;  ///< conv only
  Index in_spatial = 1, out_spatial = 1, block = 1;
  Index units_in() const { return w.cols() / block; }
};

/// The evaluation-time picture of one activation, per row: a live row is scale * (the compact model's value) with
/// scale > 0; a constant row has scale 0 and the value `value`.
template <class Scalar>
struct CompactRows {
  Vector<Scalar> scale, value;
};

template <class Scalar>
std::optional<CompactWeights<Scalar>> compact_weights(const Layer<Scalar>& layer) {
  CompactWeights<Scalar> c;
  auto conv = [&c](const Conv2dGeometry& g) {
    c.conv = true;
    c.geometry = g;
    c.in_spatial = g.input.height * g.input.width;
    c.out_spatial = g.positions();
    c.block = g.kernel_h * g.kernel_w;
  };
  auto bias = [&c](bool has, const Matrix<Scalar>& b) {
    c.had_bias = has;
    c.b = has ? Vector<Scalar>(b.col(0)) : Vector<Scalar>::Zero(c.w.rows());
  };
  if (const auto* l = dynamic_cast<const Linear<Scalar>*>(&layer)) {
    c.w = l->weight().value;
    bias(l->has_bias(), l->bias().value);
  } else if (const auto* l = dynamic_cast<const SparseVDLinear<Scalar>*>(&layer)) {
    c.w = l->eval_weight();
    c.sparse_vd = true;
    bias(l->has_bias(), l->bias().value);
  } else if (const auto* l = dynamic_cast<const Conv2d<Scalar>*>(&layer)) {
    c.w = l->weight().value;
    bias(l->has_bias(), l->bias().value);
    conv(l->geometry());
  } else if (const auto* l = dynamic_cast<const SparseVDConv2d<Scalar>*>(&layer)) {
    c.w = l->eval_weight();
    bias(l->has_bias(), l->bias().value);
    conv(l->geometry());
  } else {
    return std::nullopt;
  }
  return c;
}

inline std::string compact_where(Index i, std::string_view name) {
  return "compact(): layer " + std::to_string(i) + " (" + std::string(name) + ")";
}

/// Throws unless every unit's rows share one scale and one value: image layers can only take per-channel factors.
template <class Scalar>
void require_uniform(const CompactRows<Scalar>& a, Index units, Index spatial, Index i, std::string_view name) {
  for (Index u = 0; u < units; ++u) {
    const auto s = a.scale.segment(u * spatial, spatial), v = a.value.segment(u * spatial, spatial);
    if ((s.array() != s[0]).any() || (v.array() != v[0]).any()) {
      throw InvalidArgument(compact_where(i, name) + " gets channel " + std::to_string(u) +
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

/// An evaluation-only copy of `model` without its pruned units and weights (see the header comment for the rules):
/// same logits as model.forward(x, Context::eval()) up to rounding, smaller dense matrices, SparseLinear for very
/// sparse sparse-VD layers. Supports Linear, Conv2d, SparseVDLinear, SparseVDConv2d, ReLU, MaxPool2d, Flatten and
/// gates (Gate subclasses) before the last weight layer. Throws InvalidArgument for any other layer, a gate with a
/// negative or non-finite scale or whose positive scales disagree with its n_active(), and a model whose output no
/// longer depends on its input. The result's layers must not be trained (SelectRows and SparseLinear refuse).
template <class Scalar>
Sequential<Scalar> compact(const Sequential<Scalar>& model, const CompactOptions& options = {}) {
  using detail::compact_where;
  options.validate();
  const Index n = model.size();
  if (n == 0) throw InvalidArgument("compact(): the model has no layers");

  // Which layers carry weights; anything unknown is refused before any work.
  std::vector<std::optional<detail::CompactWeights<Scalar>>> weights(std::size_t(n), std::nullopt);
  Index last_weight = -1;
  for (Index i = 0; i < n; ++i) {
    const Layer<Scalar>& l = model.layer(i);
    weights[std::size_t(i)] = detail::compact_weights(l);
    if (weights[std::size_t(i)]) {
      last_weight = i;
    } else if (!dynamic_cast<const Gate<Scalar>*>(&l) && !dynamic_cast<const ReLU<Scalar>*>(&l) &&
               !dynamic_cast<const MaxPool2d<Scalar>*>(&l) && !dynamic_cast<const Flatten<Scalar>*>(&l)) {
      throw InvalidArgument(compact_where(i, l.name()) +
                            " is not supported: compact() supports Linear/Conv2d/SparseVD layers, ReLU, MaxPool2d, "
                            "Flatten and gates");
    }
  }
  if (last_weight < 0) throw InvalidArgument("compact(): the model has no Linear, Conv2d or sparse VD layer");

  // Forward: what every row of every activation is at evaluation time; weights get the scales and constants.
  std::vector<detail::CompactRows<Scalar>> acts(std::size_t(n) + 1);
  acts[0] = {Vector<Scalar>::Ones(model.input_rows()), Vector<Scalar>::Zero(model.input_rows())};
  for (Index i = 0; i < n; ++i) {
    const Layer<Scalar>& l = model.layer(i);
    detail::CompactRows<Scalar> a = acts[std::size_t(i)];
    if (auto& wl = weights[std::size_t(i)]) {
      auto& c = *wl;
      if (c.conv) detail::require_uniform(a, c.units_in(), c.in_spatial, i, l.name());
      for (Index u = 0; u < c.units_in(); ++u) {
        auto cols = c.w.middleCols(u * c.block, c.block);
        const Scalar s = a.scale[u * c.in_spatial], v = a.value[u * c.in_spatial];
        if (s > 0) {
          cols *= s;  // exact: s > 0 commutes with the ReLU and max-pooling between the gate and this layer
        } else {
          if (v != Scalar(0) && c.conv && c.geometry.padded() && (cols.array() != Scalar(0)).any()) {
            throw InvalidArgument(compact_where(i, l.name()) + " reads input channel " + std::to_string(u) +
                                  ", a constant " + std::to_string(double(v)) +
                                  " after pruning, through zero padding: its contribution differs at the border, "
                                  "so compact() cannot fold it into the bias");
          }
          if (v != Scalar(0)) c.b += cols.rowwise().sum() * v;  // an unpadded conv reads the whole kernel everywhere
          cols.setZero();
        }
      }
      const Index out_units = c.w.rows();
      a.scale.resize(out_units * c.out_spatial);
      a.value.resize(out_units * c.out_spatial);
      for (Index o = 0; o < out_units; ++o) {
        const bool live = (c.w.row(o).array() != Scalar(0)).any();
        a.scale.segment(o * c.out_spatial, c.out_spatial).setConstant(live ? Scalar(1) : Scalar(0));
        a.value.segment(o * c.out_spatial, c.out_spatial).setConstant(live ? Scalar(0) : c.b[o]);
      }
    } else if (const auto* g = dynamic_cast<const Gate<Scalar>*>(&l)) {
      if (i > last_weight) {
        throw InvalidArgument(compact_where(i, l.name()) +
                              " follows the last weight layer; compact() folds gates into the next weight layer");
      }
      const Vector<Scalar> s = g->eval_scale();
      if (!s.allFinite() || (s.array() < Scalar(0)).any()) {
        throw InvalidArgument(compact_where(i, l.name()) +
                              " has a negative or non-finite evaluation scale; only scales >= 0 commute with ReLU");
      }
      const Index positive = Index((s.array() > Scalar(0)).count());
      if (positive != g->n_active()) {
        throw InvalidArgument(compact_where(i, l.name()) + " keeps " + std::to_string(g->n_active()) +
                              " units but has a positive scale on " + std::to_string(positive) +
                              "; a kept unit needs a scale > 0");
      }
      for (Index k = 0; k < g->units(); ++k) {
        a.scale.segment(k * g->spatial(), g->spatial()) *= s[k];
        a.value.segment(k * g->spatial(), g->spatial()) *= s[k];
      }
    } else if (dynamic_cast<const ReLU<Scalar>*>(&l)) {
      a.value = a.value.cwiseMax(Scalar(0));
    } else if (const auto* p = dynamic_cast<const MaxPool2d<Scalar>*>(&l)) {
      const ImageShape in = p->input_shape(), out = p->output_shape();
      const Index hw = in.height * in.width, pq = out.height * out.width;
      detail::require_uniform(a, in.channels, hw, i, l.name());
      detail::CompactRows<Scalar> pooled{Vector<Scalar>(out.size()), Vector<Scalar>(out.size())};
      for (Index ch = 0; ch < in.channels; ++ch) {
        pooled.scale.segment(ch * pq, pq).setConstant(a.scale[ch * hw]);
        pooled.value.segment(ch * pq, pq).setConstant(a.value[ch * hw]);
      }
      a = std::move(pooled);
    }  // Flatten: the rows do not move
    acts[std::size_t(i) + 1] = std::move(a);
  }

  // Backward: which rows of every activation a kept weight reads. The model's outputs are all needed.
  std::vector<std::vector<char>> need(std::size_t(n) + 1);
  need[std::size_t(n)].assign(std::size_t(model.output_rows()), 1);
  for (Index i = n - 1; i >= 0; --i) {
    const Layer<Scalar>& l = model.layer(i);
    const std::vector<char>& out = need[std::size_t(i) + 1];
    std::vector<char>& in = need[std::size_t(i)];
    in.assign(std::size_t(l.input_rows()), 0);
    if (const auto& wl = weights[std::size_t(i)]) {
      const auto& c = *wl;
      const std::vector<Index> kept_out = detail::flagged_units(out, c.out_spatial);
      const auto read = (c.w(kept_out, Eigen::all).array() != Scalar(0)).colwise().any().eval();
      const auto& scale = acts[std::size_t(i)].scale;
      for (Index u = 0; u < c.units_in(); ++u) {
        const bool used = scale[u * c.in_spatial] > 0 && read.segment(u * c.block, c.block).any();
        std::fill_n(in.begin() + u * c.in_spatial, c.in_spatial, char(used));
      }
    } else if (const auto* p = dynamic_cast<const MaxPool2d<Scalar>*>(&l)) {
      const ImageShape is = p->input_shape(), os = p->output_shape();
      const Index hw = is.height * is.width;
      for (Index ch : detail::flagged_units(out, os.height * os.width)) std::fill_n(in.begin() + ch * hw, hw, 1);
    } else {
      in = out;  // gates, ReLU and Flatten act row by row
    }
  }

  // Build: rebuild every kept layer on the rows it needs, selecting rows where a producer makes more than needed.
  Sequential<Scalar> result;
  Rng rng(0);  // the constructors draw initial weights; every one is overwritten
  std::vector<Index> have(std::size_t(model.input_rows()));
  for (Index r = 0; r < model.input_rows(); ++r) have[std::size_t(r)] = r;
  auto degenerate = [](Index i, std::string_view name) {
    return InvalidArgument(compact_where(i, name) +
                           " has no kept input or output left: the model's output no longer "
                           "depends on its input, and compact() has no layer for a constant");
  };
  for (Index i = 0; i <= n; ++i) {
    std::vector<Index> target;
    const auto& flags = need[std::size_t(i)];
    for (Index r = 0; r < Index(flags.size()); ++r) {
      if (flags[std::size_t(r)]) target.push_back(r);
    }
    if (target != have) {  // target is a subset of have, both ascending
      if (target.empty()) throw degenerate(std::min(i, n - 1), model.layer(std::min(i, n - 1)).name());
      std::vector<Index> positions;
      std::size_t j = 0;
      for (Index r : target) {
        while (j < have.size() && have[j] < r) ++j;
        if (j == have.size() || have[j] != r) throw Error("compact(): internal error, a needed row was dropped");
        positions.push_back(Index(j));
      }
      result.add(std::make_unique<SelectRows<Scalar>>(Index(have.size()), std::move(positions)));
      have = std::move(target);
    }
    if (i == n) break;
    const Layer<Scalar>& l = model.layer(i);
    if (const auto& wl = weights[std::size_t(i)]) {
      const auto& c = *wl;
      const std::vector<Index> in_units = detail::units_of(have, c.in_spatial);
      std::vector<Index> cols;
      const std::vector<Index> out_units = detail::flagged_units(need[std::size_t(i) + 1], c.out_spatial);
      if (in_units.empty() || out_units.empty()) throw degenerate(i, l.name());
      for (Index u : in_units) {
        for (Index k = 0; k < c.block; ++k) cols.push_back(u * c.block + k);
      }
      const Matrix<Scalar> w = c.w(out_units, cols);
      const Vector<Scalar> b = c.b(out_units);
      const bool bias = c.had_bias || (b.array() != Scalar(0)).any();
      const Index in_n = Index(in_units.size()), out_n = Index(out_units.size());
      if (c.conv) {
        const Conv2dGeometry& g = c.geometry;
        auto& conv = result.template emplace<Conv2d>(
            ImageShape{in_n, g.input.height, g.input.width}, out_n, g.kernel_h, g.kernel_w, rng,
            Conv2dOptions{}.with_init(Init::zeros()).with_bias(bias).with_window(g.window()));
        conv.weight().value = w;
        if (bias) conv.bias().value.col(0) = b;
      } else if (c.sparse_vd && double((w.array() != Scalar(0)).count()) < options.sparse_density * double(w.size())) {
        result.add(std::make_unique<SparseLinear<Scalar>>(w.sparseView(), bias ? b : Vector<Scalar>()));
      } else {
        auto& lin =
            result.template emplace<Linear>(in_n, out_n, rng, LinearOptions{}.with_init(Init::zeros()).with_bias(bias));
        lin.weight().value = w;
        if (bias) lin.bias().value.col(0) = b;
      }
      have = detail::unit_rows(out_units, c.out_spatial);
    } else if (dynamic_cast<const ReLU<Scalar>*>(&l)) {
      result.template emplace<ReLU>(Index(have.size()));
    } else if (const auto* p = dynamic_cast<const MaxPool2d<Scalar>*>(&l)) {
      const ImageShape is = p->input_shape(), os = p->output_shape();
      const std::vector<Index> channels = detail::units_of(have, is.height * is.width);
      result.template emplace<MaxPool2d>(ImageShape{Index(channels.size()), is.height, is.width}, p->options());
      have = detail::unit_rows(channels, os.height * os.width);
    }  // gates are folded; Flatten only copies, and the kept rows need not be whole channels any more
  }
  return result;
}

}  // namespace bayesdrop
