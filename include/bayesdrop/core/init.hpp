// Weight initialisers used by the methods' reference code and the course notes.
//
//   glorot_uniform  U(-l, l), l = sqrt(6 / (fan_in + fan_out))     Glorot & Bengio 2010 (TensorFlow's dense default)
//   glorot_normal   N(0, 2 / (fan_in + fan_out))
//   he_uniform      U(-l, l), l = sqrt(6 / fan_in)                  He et al. 2015, for ReLU networks
//   he_normal       N(0, 2 / fan_in)
//   normal          N(0, std^2) with a given std
//   truncated_normal  N(0, std^2) with every value beyond 2 std drawn again   TensorFlow's truncated_normal_initializer
//   uniform_fan_in  U(-l, l), l = 1 / sqrt(fan_in)                  PyTorch's nn.Linear default
//   zeros
// The normal initialisers other than truncated_normal are not truncated.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

enum class InitKind {
  glorot_uniform,
  glorot_normal,
  he_uniform,
  he_normal,
  normal,
  truncated_normal,
  uniform_fan_in,
  zeros
};

/// An initialiser and, for InitKind::normal and truncated_normal, its standard deviation.
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
  /// N(0, stddev^2) truncated at two standard deviations (SBP's LeNet-5 scripts start their dense layers so, with
  /// stddev 0.01).
  static Init truncated_normal(double stddev) {
    Init i = normal(stddev);
    i.kind = InitKind::truncated_normal;
    return i;
  }
  /// Its name in reports: "glorot_uniform", "truncated_normal(0.01)".
  std::string describe() const {
    static const char* const names[] = {"glorot_uniform", "glorot_normal",    "he_uniform",     "he_normal",
                                        "normal",         "truncated_normal", "uniform_fan_in", "zeros"};
    std::string name = names[static_cast<int>(kind)];
    if (kind == InitKind::normal || kind == InitKind::truncated_normal) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "(%g)", std);
      name += buf;
    }
    return name;
  }
  /// Equal kinds, and equal stds where the kind has one.
  bool operator==(const Init& o) const {
    const bool has_std = kind == InitKind::normal || kind == InitKind::truncated_normal;
    return kind == o.kind && (!has_std || std == o.std);
  }
  bool operator!=(const Init& o) const { return !(*this == o); }
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
    case InitKind::truncated_normal: {
      // Draw all, then draw again every value with |z| > 2 (about 4.6 %) until none is left, in storage order.
      rng.normal(w);
      Matrix<Scalar> again;
      for (Index outside = (w.array().abs() > Scalar(2)).count(); outside > 0;
           outside = (w.array().abs() > Scalar(2)).count()) {
        again.resize(outside, 1);
        rng.normal(again);
        Index k = 0;
        for (Index i = 0; i < w.size(); ++i) {
          if (std::abs(w.data()[i]) > Scalar(2)) w.data()[i] = again(k++);
        }
      }
      w *= Scalar(init.std);
      break;
    }
    case InitKind::uniform_fan_in:
      fill_uniform(1.0 / std::sqrt(fi));
      break;
    case InitKind::zeros:
      w.setZero();
      break;
  }
}

}  // namespace bayesdrop
