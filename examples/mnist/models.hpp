// The trainer's models: the MLPs with a dropout type chosen by name, and the recipe (optimiser settings) of each.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "bayesdrop/bayesdrop.hpp"

namespace trainer {

namespace bd = bayesdrop;
using Scalar = float;

/// Layer sizes of the models --model names.
inline const std::map<std::string, std::vector<bd::Index>>& model_sizes() {
  static const std::map<std::string, std::vector<bd::Index>> sizes = {
      {"mlp", {784, 500, 300, 10}},      // the course assignment's MLP
      {"lenet300", {784, 300, 100, 10}},  // LeNet-300-100
  };
  return sizes;
}

/// The --dropout names the trainer accepts.
inline std::vector<std::string> dropout_names() {
  return {"none", "binary", "gaussian", "variational", "sparsevd", "bbd", "sbp"};
}

/// Optimiser settings of a method's recipe (targets.md section 1 and methods.md section 8).
struct Recipe {
  double lr_weights = 1e-3;    ///< Adam learning rate of weights and biases
  double lr_noise = 1e-2;      ///< Adam learning rate of noise parameters (gates train 10x faster)
  double weight_decay = 1e-4;  ///< coupled L2 on weights and biases
  /// KL warm-up as fractions of training: weight 0 until warmup_start, then linear to 1 at warmup_end (sparse VD's
  /// rw_linear: epochs 5 and 20 of 200 in the authors' script, 1/12 and 1/3 in the PyTorch reference). 0, 0: none.
  double warmup_start = 0, warmup_end = 0;

  /// KL weight for a 1-based epoch of `epochs`.
  double kl_weight(int epoch, int epochs) const {
    if (warmup_end <= 0) return 1.0;
    const double t = double(epoch - 1) / double(epochs);
    if (t < warmup_start) return 0.0;
    return std::min(1.0, (t - warmup_start) / (warmup_end - warmup_start));
  }
};

/// Sparse VD trains all parameters with one Adam rate, no L2, and warms the KL up; the gates use the defaults.
inline Recipe recipe_for(const std::string& dropout) {
  Recipe r;
  if (dropout == "sparsevd") {
    r.lr_noise = r.lr_weights;
    r.weight_decay = 0;
    r.warmup_start = 1.0 / 12.0;
    r.warmup_end = 1.0 / 3.0;
  }
  return r;
}

/// Builds the model: noise on the inputs of every dense layer, drop rate p_input on the pixels and p_hidden on the
/// hidden units (the binary-dropout paper's 0.2 and 0.5 by default).
inline bd::Sequential<Scalar> build_model(const std::string& model, const std::string& dropout, double p_input,
                                          double p_hidden, bd::Rng& rng) {
  bd::MlpOptions<Scalar> options;
  auto p_at = [=](std::size_t index) { return index == 0 ? p_input : p_hidden; };
  if (dropout == "binary") {
    options.with_gate([=](bd::Index units, std::size_t index, bd::Rng&) -> bd::LayerPtr<Scalar> {
      return std::make_unique<bd::BinaryDropout<Scalar>>(units, p_at(index));
    });
  } else if (dropout == "gaussian") {
    options.with_gate([=](bd::Index units, std::size_t index, bd::Rng&) -> bd::LayerPtr<Scalar> {
      return std::make_unique<bd::GaussianDropout<Scalar>>(units, p_at(index));
    });
  } else if (dropout == "variational") {
    options.with_gate([=](bd::Index units, std::size_t index, bd::Rng&) -> bd::LayerPtr<Scalar> {
      return std::make_unique<bd::VariationalDropout<Scalar>>(units,
                                                              bd::VariationalDropoutOptions{}.with_p(p_at(index)));
    });
  } else if (dropout == "bbd") {
    options.with_gate([](bd::Index units, std::size_t, bd::Rng& r) -> bd::LayerPtr<Scalar> {
      return std::make_unique<bd::BetaBernoulliDropout<Scalar>>(units, r, bd::BetaBernoulliOptions::assignment());
    });
  } else if (dropout == "sbp") {
    options.with_gate([](bd::Index units, std::size_t, bd::Rng&) -> bd::LayerPtr<Scalar> {
      return std::make_unique<bd::StructuredBayesianPruning<Scalar>>(units);
    });
  } else if (dropout == "sparsevd") {
    options.with_dense([](bd::Index in, bd::Index out, std::size_t, bd::Rng& r) -> bd::LayerPtr<Scalar> {
      return std::make_unique<bd::SparseVDLinear<Scalar>>(in, out, r);
    });
  } else if (dropout != "none") {
    throw bd::InvalidArgument("--dropout: unknown type '" + dropout + "'");
  }
  return bd::mlp<Scalar>(model_sizes().at(model), rng, options);
}

/// Units kept by each gate, in model order (empty when the model has no gates).
inline std::vector<bd::Index> gate_n_active(const bd::Sequential<Scalar>& model) {
  std::vector<bd::Index> active;
  for (bd::Index i = 0; i < model.size(); ++i) {
    if (const auto* gate = dynamic_cast<const bd::Gate<Scalar>*>(&model.layer(i))) active.push_back(gate->n_active());
  }
  return active;
}

}  // namespace trainer
