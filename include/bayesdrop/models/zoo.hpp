// The models of the methods' MNIST experiments, built by name: a network and a dropout type chosen at run time.
//
//   ModelSpec spec{"mlp", "bbd"};                 // 784-500-300-10 with beta-Bernoulli gates on its three inputs
//   Sequential<float> net = build_model<float>(spec, rng);
//
// Networks: "mlp" (784-500-300-10, the course assignment's), "lenet300" (LeNet-300-100), "lenet5" (LeNet-5-Caffe).
// Dropout types: "none", "binary", "gaussian", "variational" (Kingma's type A, learned alpha), "bbd" (beta-Bernoulli),
// "sbp" (structured Bayesian pruning) put a gate on the inputs of every dense layer (and on the conv channels of
// lenet5); "sparsevd" replaces the dense and conv layers by their sparse variational dropout versions.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/gaussian_dropout.hpp"
#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/layers/structured_bayesian_pruning.hpp"
#include "bayesdrop/layers/variational_dropout.hpp"
#include "bayesdrop/models/lenet5.hpp"
#include "bayesdrop/models/mlp.hpp"

namespace bayesdrop {

/// Which network with which dropout. Drop rates apply to binary, Gaussian (alpha = p / (1 - p)) and, as the initial
/// value, variational dropout: p_input on the pixels (and on lenet5's conv channels), p_hidden on hidden units.
struct ModelSpec {
  std::string model = "mlp";
  std::string dropout = "none";
  double p_input = 0.2;   ///< the binary-dropout paper's rate on inputs
  double p_hidden = 0.5;  ///< and on hidden units
};

/// Networks build_model knows.
inline std::vector<std::string> model_names() { return {"mlp", "lenet300", "lenet5"}; }
/// Dropout types build_model knows.
inline std::vector<std::string> dropout_names() {
  return {"none", "binary", "gaussian", "variational", "sparsevd", "bbd", "sbp"};
}

namespace detail {

inline void require_name(const std::vector<std::string>& names, const std::string& value, const char* what,
                         const char* caller = "build_model") {
  if (std::find(names.begin(), names.end(), value) != names.end()) return;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw InvalidArgument(std::string(caller) + ": unknown " + what + " '" + value + "'; choose one of " + list);
}

}  // namespace detail

/// A gate of the named dropout type over `shape` (channels x height x width, or {units, 1, 1} for a dense input),
/// with drop rate p for binary, Gaussian and (initially) variational dropout; null for "none" and "sparsevd", which
/// have no gate. Throws InvalidArgument for an unknown name.
template <class Scalar>
LayerPtr<Scalar> make_gate(const std::string& dropout, ImageShape shape, double p, Rng& rng) {
  detail::require_name(dropout_names(), dropout, "dropout type", "make_gate");
  if (dropout == "binary") return std::make_unique<BinaryDropout<Scalar>>(shape, p);
  if (dropout == "gaussian") return std::make_unique<GaussianDropout<Scalar>>(shape, p);
  if (dropout == "variational") {
    return std::make_unique<VariationalDropout<Scalar>>(shape, VariationalDropoutOptions{}.with_p(p));
  }
  if (dropout == "bbd") {
    return std::make_unique<BetaBernoulliDropout<Scalar>>(shape, rng, BetaBernoulliOptions::assignment());
  }
  if (dropout == "sbp") return std::make_unique<StructuredBayesianPruning<Scalar>>(shape);
  return nullptr;  // "none" and "sparsevd" have no gates
}

/// Builds the network of `spec`; throws InvalidArgument for an unknown name or a drop rate outside [0, 1).
template <class Scalar>
Sequential<Scalar> build_model(const ModelSpec& spec, Rng& rng) {
  detail::require_name(model_names(), spec.model, "model");
  detail::require_name(dropout_names(), spec.dropout, "dropout type");
  for (double p : {spec.p_input, spec.p_hidden}) {
    if (!(p >= 0 && p < 1)) throw InvalidArgument("build_model: drop rates must lie in [0, 1), got " + std::to_string(p));
  }
  const std::string dropout = spec.dropout;
  const bool sparse_vd = dropout == "sparsevd";

  if (spec.model == "lenet5") {
    LeNet5Options<Scalar> options;
    options.with_gate([=](ImageShape shape, std::size_t index, Rng& r) {
      return make_gate<Scalar>(dropout, shape, index < 2 ? spec.p_input : spec.p_hidden, r);
    });
    if (sparse_vd) {
      options.with_conv([](ImageShape in, Index channels, Index kernel, std::size_t, Rng& r) -> LayerPtr<Scalar> {
        return std::make_unique<SparseVDConv2d<Scalar>>(in, channels, kernel, r);
      });
      options.with_dense([](Index in, Index out, std::size_t, Rng& r) -> LayerPtr<Scalar> {
        return std::make_unique<SparseVDLinear<Scalar>>(in, out, r);
      });
    }
    return lenet5<Scalar>(rng, options);
  }

  const std::vector<Index> sizes =
      spec.model == "mlp" ? std::vector<Index>{784, 500, 300, 10} : std::vector<Index>{784, 300, 100, 10};
  MlpOptions<Scalar> options;
  options.with_gate([=](Index units, std::size_t index, Rng& r) {
    return make_gate<Scalar>(dropout, ImageShape{units, 1, 1}, index == 0 ? spec.p_input : spec.p_hidden, r);
  });
  if (sparse_vd) {
    options.with_dense([](Index in, Index out, std::size_t, Rng& r) -> LayerPtr<Scalar> {
      return std::make_unique<SparseVDLinear<Scalar>>(in, out, r);
    });
  }
  return mlp<Scalar>(sizes, rng, options);
}

}  // namespace bayesdrop
