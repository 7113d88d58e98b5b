// The trainer's end-of-run report: the per-layer table on stdout and the same numbers as JSON.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bayesdrop/bayesdrop.hpp"

namespace trainer {

namespace bd = bayesdrop;

inline std::string join(const std::vector<bd::Index>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out;
}

/// Per-example counts (means over examples), one decimal each.
inline std::string join(const std::vector<double>& v) {
  std::string out;
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.1f", v[i]);
    out += (i ? ", " : "") + std::string(buf);
  }
  return out;
}

/// Prints one row per weight layer: inputs kept, outputs kept, memory and FLOPs kept, weight compression.
inline void print_summary(const bd::ModelSummary& s) {
  std::printf("%-6s %-16s %13s %13s %9s %9s %11s\n", "layer", "type", "inputs kept", "outputs kept", "memory", "FLOPs",
              "compression");
  for (std::size_t i = 0; i < s.layers.size(); ++i) {
    const auto& l = s.layers[i];
    const std::string in = std::to_string(l.active_in) + "/" + std::to_string(l.units_in);
    const std::string out = std::to_string(l.active_out) + "/" + std::to_string(l.units_out);
    std::printf("%-6zu %-16s %13s %13s %8.2f%% %8.2f%% %10.1fx\n", i + 1, l.type.c_str(), in.c_str(), out.c_str(),
                100 * l.memory_kept(), 100 * l.flops_kept_fraction(), l.compression());
  }
  std::printf("%-6s %-16s %13s %13s %8.2f%% %8.2f%% %10.1fx\n", "all", "", "", "", 100 * s.memory_kept(),
              100 * s.flops_kept(), s.compression());
  if (!s.n_active.empty()) std::printf("n_active: [%s]\n", join(s.n_active).c_str());
}

/// The summary as JSON: per layer (active_in is the gate's n_active where there is one) and totals.
inline nlohmann::json summary_json(const bd::ModelSummary& s) {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < s.layers.size(); ++i) {
    const auto& l = s.layers[i];
    layers.push_back({{"name", "layer" + std::to_string(i + 1)},
                      {"type", l.type},
                      {"units_in", l.units_in},
                      {"active_in", l.active_in},
                      {"input_kept", l.input_kept()},
                      {"units_out", l.units_out},
                      {"active_out", l.active_out},
                      {"weights", l.weights},
                      {"active_weights", l.active_weights},
                      {"params", l.params},
                      {"params_kept", l.params_kept},
                      {"memory_kept", l.memory_kept()},
                      {"flops", l.flops},
                      {"flops_kept", l.flops_kept_fraction()},
                      {"compression", l.compression()}});
  }
  return {{"layers", layers},
          {"n_active", s.n_active},
          {"params", s.params()},
          {"params_kept", s.params_kept()},
          {"memory_kept", s.memory_kept()},
          {"flops_kept", s.flops_kept()},
          {"compression", s.compression()}};
}

/// One epoch of the history as JSON.
inline nlohmann::json epoch_json(const bd::EpochLog& log) {
  return {{"epoch", log.epoch},
          {"seconds", log.train.seconds},
          {"train_cross_entropy", log.train.cross_entropy},
          {"train_accuracy", log.train.accuracy},
          {"test_cross_entropy", log.test.cross_entropy},
          {"test_accuracy", log.test.accuracy},
          {"kl", log.train.elbo.kl},
          {"kl_weight", log.kl_weight},
          {"l2", log.train.elbo.l2},
          {"loss", log.train.elbo.total()},
          {"lr", log.lr},
          {"n_active", log.n_active}};
}

}  // namespace trainer
