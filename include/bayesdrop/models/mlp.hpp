// Multi-layer perceptrons: Linear layers with ReLU between them and none after the last (the logits).
//
//   mlp({784, 500, 300, 10})   the course assignment's MLP: 784 -> 500 -> 300 -> 10
//   mlp({784, 300, 100, 10})   LeNet-300-100
#pragma once

#include <string>
#include <vector>

#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/models/sequential.hpp"

namespace bayesdrop {

/// Builds Linear(sizes[0], sizes[1]), ReLU, ..., Linear(sizes[n-2], sizes[n-1]); sizes needs at least 2 entries.
template <class Scalar>
Sequential<Scalar> mlp(const std::vector<Index>& sizes, Rng& rng, LinearOptions options = {}) {
  if (sizes.size() < 2) {
    throw InvalidArgument("mlp: need at least an input and an output size, got " + std::to_string(sizes.size()) +
                          " sizes");
  }
  Sequential<Scalar> net;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    net.template emplace<Linear>(sizes[i], sizes[i + 1], rng, options);
    if (i + 2 < sizes.size()) net.template emplace<ReLU>(sizes[i + 1]);
  }
  return net;
}

}  // namespace bayesdrop
