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
// compact() knows no layer type: it asks each layer for its compact_form() (core/compact_form.hpp) and runs that
// form's three passes (fold forward, needed rows backward, build); the gate folding is fold_into_weights() there.
//
// Parameter counts: for gate-pruned models the compact model holds exactly summarize(model).params_kept(). For
// sparse VD, summarize() counts a layer's nonzeros even where the next layer never reads that output, and folds no
// constants; compact() drops those weights too, so it can hold fewer.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/instantiation.hpp"
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

/// An evaluation-only copy of `model` without its pruned units and weights (see the header comment for the rules):
/// same logits as model.forward(x, Context::eval()) up to rounding, smaller dense matrices, SparseLinear for very
/// sparse sparse-VD layers. Takes every layer with a compact_form(): in the library Linear, Conv2d, SparseVDLinear,
/// SparseVDConv2d, ReLU, MaxPool2d, Flatten and gates (Gate subclasses) before the last weight layer. Throws
/// InvalidArgument for any other layer, a gate with a negative or non-finite scale or whose positive scales disagree
/// with its n_active(), and a model whose output no longer depends on its input. The result's layers must not be
/// trained (SelectRows and SparseLinear refuse).
template <class Scalar>
Sequential<Scalar> compact(const Sequential<Scalar>& model, const CompactOptions& options = {}) {
  using detail::compact_where;
  options.validate();
  const Index n = model.size();
  if (n == 0) throw InvalidArgument("compact(): the model has no layers");

  // Every layer's form; a layer without one is refused before any work.
  std::vector<std::shared_ptr<CompactForm<Scalar>>> forms;
  std::vector<std::string> where;
  Index last_weight = -1;
  for (Index i = 0; i < n; ++i) {
    const Layer<Scalar>& l = model.layer(i);
    where.push_back(compact_where(i, l.name()));
    forms.push_back(l.compact_form());
    if (!forms.back()) {
      throw InvalidArgument(where.back() +
                            " is not supported: compact() supports Linear/Conv2d/SparseVD layers, ReLU, MaxPool2d, "
                            "Flatten, gates and layers with a compact_form()");
    }
    if (forms.back()->carries_weights()) last_weight = i;
  }
  if (last_weight < 0) throw InvalidArgument("compact(): the model has no Linear, Conv2d or sparse VD layer");

  // Forward: what every row of every activation is at evaluation time; weights get the scales and constants.
  std::vector<CompactRows<Scalar>> acts(std::size_t(n) + 1);
  acts[0] = {Vector<Scalar>::Ones(model.input_rows()), Vector<Scalar>::Zero(model.input_rows())};
  for (Index i = 0; i < n; ++i) {
    const auto k = std::size_t(i);
    if (forms[k]->folds_into_next() && i > last_weight) {
      throw InvalidArgument(where[k] +
                            " follows the last weight layer; compact() folds gates into the next weight layer");
    }
    acts[k + 1] = forms[k]->fold(acts[k], where[k]);
  }

  // Backward: which rows of every activation a kept weight reads. The model's outputs are all needed.
  std::vector<std::vector<char>> need(std::size_t(n) + 1);
  need[std::size_t(n)].assign(std::size_t(model.output_rows()), 1);
  for (Index i = n - 1; i >= 0; --i) {
    const auto k = std::size_t(i);
    need[k] = forms[k]->needed_inputs(need[k + 1], acts[k]);
  }

  // Build: rebuild every kept layer on the rows it needs, selecting rows where a producer makes more than needed.
  Sequential<Scalar> result;
  std::vector<Index> have(std::size_t(model.input_rows()));
  for (Index r = 0; r < model.input_rows(); ++r) have[std::size_t(r)] = r;
  for (Index i = 0; i <= n; ++i) {
    std::vector<Index> target;
    const auto& flags = need[std::size_t(i)];
    for (Index r = 0; r < Index(flags.size()); ++r) {
      if (flags[std::size_t(r)]) target.push_back(r);
    }
    if (target != have) {  // target is a subset of have, both ascending
      if (target.empty()) throw detail::compact_degenerate(where[std::size_t(std::min(i, n - 1))]);
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
    std::vector<LayerPtr<Scalar>> built;
    have = forms[std::size_t(i)]->build(have, need[std::size_t(i) + 1], built, options, where[std::size_t(i)]);
    for (auto& layer : built) result.add(std::move(layer));
  }
  return result;
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template Sequential<float> compact(const Sequential<float>&, const CompactOptions&);
extern template Sequential<double> compact(const Sequential<double>&, const CompactOptions&);
#endif

}  // namespace bayesdrop
