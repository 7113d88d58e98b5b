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

  double fraction_in_kept() const { return units_in ? double(active_in) / double(units_in) : 1.0; }
  double fraction_weights_kept() const { return weights ? double(active_weights) / double(weights) : 1.0; }
  /// weights / active weights, the compression ratio of the sparse VD paper (= weights when all are pruned, to stay finite).
  double compression() const { return active_weights ? double(weights) / double(active_weights) : double(weights); }
};

}  // namespace bayesdrop
