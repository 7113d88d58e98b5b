// Basic types shared by every bayesdrop header.
//
// Data layout: column-major Eigen matrices with ONE COLUMN PER OBSERVATION. A batch of B examples with F features
// is an F x B matrix; an image batch (C channels of H x W) is a (C*H*W) x B matrix whose column holds pixel (c, h, w)
// of its image at row (c*H + h)*W + w, the order of an IDX file and of a flattened NCHW tensor.
#pragma once

#include <Eigen/Core>
#include <cstdint>

namespace bayesdrop {

using Index = Eigen::Index;

/// Dense, dynamic-size, column-major matrix: rows are features, columns are observations.
template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

/// Dense, dynamic-size column vector (biases, per-unit noise parameters).
template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// Class labels, one per observation, in 0 .. classes-1.
using Label = std::int32_t;
using Labels = Eigen::Matrix<Label, Eigen::Dynamic, 1>;

/// The shape of one image: channels, height, width (pixel (c, h, w) at row (c*H + h)*W + w of its column).
struct ImageShape {
  Index channels = 1, height = 1, width = 1;
  Index size() const { return channels * height * width; }
};

/// Whether a forward pass trains (noise on, statistics cached for backward) or evaluates (deterministic).
enum class Mode { train, eval };

}  // namespace bayesdrop
