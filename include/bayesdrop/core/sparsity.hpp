// Sparsity statistics of one layer: typed numbers, formatted only by the caller.
#pragma once

#include <cstdint>

namespace bayesdrop {

/// Counts for one layer. A layer without pruning reports everything active.
struct SparsityStats {
  std::int64_t units_in = 0;        ///< input units (features or channels) the layer reads
  std::int64_t active_in = 0;       ///< input units still in use (a gate open, or a weight left on that input)
  std::int64_t weights = 0;         ///< weights of the dense layer (biases not counted)
  std::int64_t active_weights = 0;  ///< weights not pruned
  // Weight layers also say what they produce and how often each weight is used, so that a model summary can count
  // parameters and multiply-adds without knowing the layer types (gates and activations leave these at 0 and 1).
  std::int64_t units_out = 0;   ///< output units (features or channels)
  std::int64_t active_out = 0;  ///< output units with a weight left
  std::int64_t positions = 1;   ///< times each weight is applied per example (1 dense, output height x width conv)
  std::int64_t biases = 0;      ///< bias values of the layer

  double fraction_in_kept() const { return units_in ? double(active_in) / double(units_in) : 1.0; }
  double fraction_weights_kept() const { return weights ? double(active_weights) / double(weights) : 1.0; }
  /// weights / active weights, the compression ratio of the sparse VD paper (= weights when all are pruned, to stay
  /// finite).
  double compression() const { return active_weights ? double(weights) / double(active_weights) : double(weights); }
};

}  // namespace bayesdrop
