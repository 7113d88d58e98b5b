// Finding where a NaN or Inf came from, so that the error names a layer rather than just "the loss is NaN".
//
// Called only after a non-finite loss or KL is seen, so it costs nothing in the normal path. A bad gradient shows
// up one step later as a non-finite parameter (the optimiser wrote it), so parameters are checked first, then the
// outputs of the last forward pass, layer by layer: the first layer whose input is finite and whose output is not
// is the one that produced the NaN.
#pragma once

#include <string>

#include "bayesdrop/models/sequential.hpp"

namespace bayesdrop {

namespace detail {

template <class Derived>
const char* non_finite_kind(const Eigen::DenseBase<Derived>& m) {
  if (m.derived().array().isNaN().any()) return "NaN";
  if (!m.derived().allFinite()) return "Inf";
  return nullptr;
}

template <class Scalar>
std::string layer_label(Index i, const Layer<Scalar>& layer) {
  return "layer " + std::to_string(i) + " (" + std::string(layer.name()) + ")";
}

}  // namespace detail

/// Describes the first non-finite value in the model: a parameter, a KL term or a layer output of the last forward.
/// Returns an empty string when everything is finite. For a model that is not a Sequential, only its parameters and
/// KL are inspected. `input`, when given, is the batch of that forward pass.
template <class Scalar>
std::string describe_non_finite(Layer<Scalar>& model, const Matrix<Scalar>* input = nullptr) {
  if (input) {
    if (const char* kind = detail::non_finite_kind(*input)) {
      return std::string("the input batch holds ") + kind + "; check the data set";
    }
  }
  auto* seq = dynamic_cast<Sequential<Scalar>*>(&model);
  if (!seq) {
    for (auto* p : model.parameters()) {
      if (const char* kind = detail::non_finite_kind(p->value)) {
        return "parameter '" + p->name + "' holds " + kind + " (a non-finite gradient reached the optimiser)";
      }
    }
    if (!std::isfinite(double(model.kl()))) return "the model's KL is not finite";
    return {};
  }
  for (Index i = 0; i < seq->size(); ++i) {
    Layer<Scalar>& layer = seq->layer(i);
    for (auto* p : layer.parameters()) {
      if (const char* kind = detail::non_finite_kind(p->value)) {
        return detail::layer_label(i, layer) + " parameter '" + p->name + "' holds " + kind +
               ": the last update had a non-finite gradient";
      }
    }
    if (!std::isfinite(double(layer.kl()))) return detail::layer_label(i, layer) + " has a non-finite KL term";
  }
  for (Index i = 0; i < seq->size(); ++i) {
    if (const char* kind = detail::non_finite_kind(seq->output(i))) {
      return detail::layer_label(i, seq->layer(i)) + " produced " + kind + " in its output from a finite input";
    }
  }
  return {};
}

}  // namespace bayesdrop
