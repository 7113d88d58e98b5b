// Weight initialisers used by the methods' reference code and the course notes.
//
//   glorot_uniform  U(-l, l), l = sqrt(6 / (fan_in + fan_out))     Glorot & Bengio 2010 (TensorFlow's dense default)
//   glorot_normal   N(0, 2 / (fan_in + fan_out))
//   he_uniform      U(-l, l), l = sqrt(6 / fan_in)                  He et al. 2015, for ReLU networks
//   he_normal       N(0, 2 / fan_in)
//   normal          N(0, std^2) with a given std
//   uniform_fan_in  U(-l, l), l = 1 / sqrt(fan_in)                  PyTorch's nn.Linear default
//   zeros
// The normal initialisers are not truncated.
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

enum class InitKind { glorot_uniform, glorot_normal, he_uniform, he_normal, normal, uniform_fan_in, zeros };

/// An initialiser and, for InitKind::normal, its standard deviation.
struct Init {
  InitKind kind = InitKind::glorot_uniform;
  double std = 0.01;

  static Init glorot_uniform() { return {InitKind::glorot_uniform}; }
  static Init glorot_normal() { return {InitKind::glorot_normal}; }
  static Init he_uniform() { return {InitKind::he_uniform}; }
  static Init he_normal() { return {InitKind::he_normal}; }
  static Init uniform_fan_in() { return {InitKind::uniform_fan_in}; }
  static Init zeros() { return {InitKind::zeros}; }
  static Init normal(double stddev) {
    if (!(stddev >= 0) || !std::isfinite(stddev)) {
      throw InvalidArgument("Init::normal: std must be finite and >= 0, got " + std::to_string(stddev));
    }
    return {InitKind::normal, stddev};
  }
};

/// Fills w with the initialiser, given the fans of the layer (for a convolution, fan = channels * kernel area).
template <class Scalar>
void initialize(Matrix<Scalar>& w, Index fan_in, Index fan_out, const Init& init, Rng& rng) {
  if (fan_in <= 0 || fan_out <= 0) {
    throw InvalidArgument("initialize: fan_in and fan_out must be positive, got " + std::to_string(fan_in) + " and " +
                          std::to_string(fan_out));
  }
  const double fi = double(fan_in), fo = double(fan_out);
  auto fill_uniform = [&](double limit) {
    rng.uniform(w);  // (0, 1]
    w.array() = Scalar(limit) * (Scalar(2) * w.array() - Scalar(1));
  };
  auto fill_normal = [&](double stddev) {
    rng.normal(w);
    w *= Scalar(stddev);
  };
  switch (init.kind) {
    case InitKind::glorot_uniform:
      fill_uniform(std::sqrt(6.0 / (fi + fo)));
      break;
    case InitKind::glorot_normal:
      fill_normal(std::sqrt(2.0 / (fi + fo)));
      break;
    case InitKind::he_uniform:
      fill_uniform(std::sqrt(6.0 / fi));
      break;
    case InitKind::he_normal:
      fill_normal(std::sqrt(2.0 / fi));
      break;
    case InitKind::normal:
      fill_normal(init.std);
      break;
    case InitKind::uniform_fan_in:
      fill_uniform(1.0 / std::sqrt(fi));
      break;
    case InitKind::zeros:
      w.setZero();
      break;
  }
}

}  // namespace bayesdrop
