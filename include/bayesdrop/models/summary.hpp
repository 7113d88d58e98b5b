// What a trained model keeps: per weight layer, the active inputs and outputs, the parameters and the multiply-adds
// of the pruned model against the dense one. The numbers of the methods' tables (n_active, memory, FLOPs,
// compression) all come from here.
//
// A gate (Gate<Scalar>) in front of a weight layer decides that layer's active inputs (its n_active; a channel gate
// in front of a dense layer counts its kept channels times their positions) and, when its units are the previous
// layer's outputs, that layer's active outputs. Without gates a layer's own statistics decide (sparse VD: inputs
// and outputs that still have a weight). With two gates on the same inputs the smaller count is taken, an upper
// bound when they remove different inputs.
//
// Kept weights of a layer = min(its own active weights, active inputs x active outputs x weights per pair), so a
// gated dense layer keeps a dense block and a sparse VD layer its individual weights. FLOPs here are multiply-adds
// per example (weights x positions), the papers' convention; biases count towards memory only.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/models/sequential.hpp"

namespace bayesdrop {

struct LayerSummary {
  Index index = 0;                               ///< position in the Sequential
  std::string type;                              ///< the layer's name(), e.g. "Linear"
  std::int64_t units_in = 0, active_in = 0;      ///< inputs (features or channels), and those still used
  std::int64_t units_out = 0, active_out = 0;    ///< outputs, and those still computed
  std::int64_t weights = 0, active_weights = 0;  ///< weights of the dense layer, and those kept
  std::int64_t params = 0, params_kept = 0;      ///< weights + biases, dense and kept
  double flops = 0, flops_kept = 0;              ///< multiply-adds per example, dense and kept

  double input_kept() const { return units_in ? double(active_in) / double(units_in) : 1.0; }
  double memory_kept() const { return params ? double(params_kept) / double(params) : 1.0; }
  double flops_kept_fraction() const { return flops > 0 ? flops_kept / flops : 1.0; }
  /// weights / kept weights (sparse VD's compression; infinite pruning is reported as the weight count).
  double compression() const { return active_weights ? double(weights) / double(active_weights) : double(weights); }
};

struct ModelSummary {
  std::vector<LayerSummary> layers;  ///< weight layers in model order
  std::vector<Index> n_active;       ///< n_active of every gate, in model order (empty without gates)

  std::int64_t params() const { return sum(&LayerSummary::params); }
  std::int64_t params_kept() const { return sum(&LayerSummary::params_kept); }
  std::int64_t weights() const { return sum(&LayerSummary::weights); }
  std::int64_t active_weights() const { return sum(&LayerSummary::active_weights); }
  double memory_kept() const { return params() ? double(params_kept()) / double(params()) : 1.0; }
  double flops_kept() const {
    double all = 0, kept = 0;
    for (const auto& l : layers) all += l.flops, kept += l.flops_kept;
    return all > 0 ? kept / all : 1.0;
  }
  /// All weights / kept weights over the model.
  double compression() const {
    return active_weights() ? double(weights()) / double(active_weights()) : double(weights());
  }

 private:
  std::int64_t sum(std::int64_t LayerSummary::*field) const {
    std::int64_t s = 0;
    for (const auto& l : layers) s += l.*field;
    return s;
  }
};

/// Summarises the weight layers and gates of `model` at its current parameters (evaluation-mode decisions).
template <class Scalar>
ModelSummary summarize(const Sequential<Scalar>& model) {
  ModelSummary out;
  struct Pending {
    std::int64_t units, active;
  };  // gates seen since the last weight layer
  std::vector<Pending> gates;
  for (Index i = 0; i < model.size(); ++i) {
    const Layer<Scalar>& layer = model.layer(i);
    if (const auto* gate = dynamic_cast<const Gate<Scalar>*>(&layer)) {
      gates.push_back({gate->units(), gate->n_active()});
      out.n_active.push_back(gate->n_active());
      // A gate on the previous weight layer's outputs prunes them.
      if (!out.layers.empty() && out.layers.back().units_out == gate->units()) {
        auto& prev = out.layers.back();
        prev.active_out = std::min<std::int64_t>(prev.active_out, gate->n_active());
      }
      continue;
    }
    const SparsityStats s = layer.sparsity();
    if (s.weights == 0) continue;
    LayerSummary l;
    l.index = i;
    l.type = std::string(layer.name());
    l.units_in = s.units_in;
    l.active_in = s.active_in;
    for (const auto& g : gates) {  // convert each gate to this layer's inputs (channels x positions per channel)
      const std::int64_t per_unit = g.units && s.units_in % g.units == 0 ? s.units_in / g.units : 1;
      l.active_in = std::min(l.active_in, g.active * per_unit);
    }
    gates.clear();
    l.units_out = s.units_out;
    l.active_out = s.active_out;
    l.weights = s.weights;
    l.active_weights = s.active_weights;
    if (!out.layers.empty() && out.layers.back().units_out == l.units_in) {  // dense -> dense: unused outputs
      auto& prev = out.layers.back();
      prev.active_out = std::min(prev.active_out, l.active_in);
    }
    out.layers.push_back(l);
  }
  // Kept weights, parameters and FLOPs need the final active outputs, so they are computed last.
  for (auto& l : out.layers) {
    const SparsityStats s = model.layer(l.index).sparsity();
    const std::int64_t per_pair = (s.units_in && s.units_out) ? s.weights / (s.units_in * s.units_out) : 1;
    l.active_weights = std::min(s.active_weights, l.active_in * l.active_out * per_pair);
    const std::int64_t kept_biases = s.units_out ? s.biases * l.active_out / s.units_out : 0;
    l.params = s.weights + s.biases;
    l.params_kept = l.active_weights + kept_biases;
    l.flops = double(s.weights) * double(s.positions);
    l.flops_kept = double(l.active_weights) * double(s.positions);
  }
  return out;
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template ModelSummary summarize(const Sequential<float>&);
extern template ModelSummary summarize(const Sequential<double>&);
#endif

}  // namespace bayesdrop
