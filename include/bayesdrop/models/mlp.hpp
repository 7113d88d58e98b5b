// Multi-layer perceptrons: dense layers with ReLU between them and none after the last (the logits), optionally
// with a noise layer ("gate") in front of every dense layer and with the dense layers of a family of choice.
//
//   mlp<float>({784, 500, 300, 10}, rng)            the course assignment's MLP: 784 -> 500 -> 300 -> 10
//   mlp<float>({784, 300, 100, 10}, rng)            LeNet-300-100
//   mlp<float>(sizes, rng, MlpOptions<float>{}.with_gate(make_gate))   gates on the inputs of the dense layers,
//                                                  as in the methods' reference code (none after the logits)
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/models/sequential.hpp"

namespace bayesdrop {

template <class Scalar>
struct MlpOptions {
  /// Builds the layer put in front of dense layer `index` (0-based), which reads `units` features; may return null
  /// for no gate there. Default: no gates.
  using GateFactory = std::function<LayerPtr<Scalar>(Index units, std::size_t index, Rng& rng)>;
  /// Builds dense layer `index` from `in` to `out` features. Default: Linear with `linear` options.
  using DenseFactory = std::function<LayerPtr<Scalar>(Index in, Index out, std::size_t index, Rng& rng)>;

  GateFactory gate;
  DenseFactory dense;
  LinearOptions linear;  ///< options of the default dense layers

  MlpOptions& with_gate(GateFactory g) {
    gate = std::move(g);
    return *this;
  }
  MlpOptions& with_dense(DenseFactory d) {
    dense = std::move(d);
    return *this;
  }
  MlpOptions& with_linear(LinearOptions o) {
    linear = o;
    return *this;
  }
};

/// Builds [gate] -> dense -> ReLU -> ... -> [gate] -> dense for the given sizes (at least 2 entries).
template <class Scalar>
Sequential<Scalar> mlp(const std::vector<Index>& sizes, Rng& rng, const MlpOptions<Scalar>& options = {}) {
  if (sizes.size() < 2) {
    throw InvalidArgument("mlp: need at least an input and an output size, got " + std::to_string(sizes.size()) +
                          " sizes");
  }
  Sequential<Scalar> net;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    if (options.gate) {
      if (auto gate = options.gate(sizes[i], i, rng)) net.add(std::move(gate));
    }
    if (options.dense) {
      net.add(options.dense(sizes[i], sizes[i + 1], i, rng));
    } else {
      net.template emplace<Linear>(sizes[i], sizes[i + 1], rng, options.linear);
    }
    if (i + 2 < sizes.size()) net.template emplace<ReLU>(sizes[i + 1]);
  }
  return net;
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template Sequential<float> mlp(const std::vector<Index>&, Rng&, const MlpOptions<float>&);
extern template Sequential<double> mlp(const std::vector<Index>&, Rng&, const MlpOptions<double>&);
#endif

}  // namespace bayesdrop
