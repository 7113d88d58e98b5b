// An image-classification data set held in memory, and the per-batch copy the training loop makes from it.
//
// Images are stored once, as one column per example (core/types.hpp), so a mini-batch is a set of column copies.
// gather_batch writes into matrices the caller keeps between batches: the loop then runs without allocating.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

/// Labelled images: column i of `images` is example i, with class `labels(i)`.
template <class Scalar>
struct Dataset {
  Matrix<Scalar> images;  ///< shape.size() x N, pixel values in [0, 1] (centred after subtract_image)
  Labels labels;          ///< N class labels
  ImageShape shape{1, 28, 28};

  /// Number of examples.
  Index size() const { return labels.size(); }
};

/// Copies examples order[first], ..., order[first + count - 1] into columns 0 .. count-1 of x and entries of y.
///
/// x and y are resized only when their shape differs from (pixels x count) / (count), so calling this once per
/// batch with a fixed batch size allocates on the first call only (a shorter last batch resizes them).
/// Throws InvalidArgument if first/count lie outside `order` or an entry of `order` is not an example index;
/// ShapeError if `data.images` and `data.labels` disagree on the number of examples.
template <class Scalar>
void gather_batch(const Dataset<Scalar>& data, const std::vector<Index>& order, Index first, Index count,
                  Matrix<Scalar>& x, Labels& y) {
  if (data.images.cols() != data.labels.size()) {
    throw ShapeError("gather_batch: the data set has " + std::to_string(data.images.cols()) + " image columns but " +
                     std::to_string(data.labels.size()) + " labels; build it with load_mnist or keep both equal");
  }
  const Index available = static_cast<Index>(order.size());
  if (first < 0 || count < 0 || first > available || count > available - first) {
    throw InvalidArgument("gather_batch: batch [" + std::to_string(first) + ", " + std::to_string(first) + " + " +
                          std::to_string(count) + ") lies outside the order vector of " + std::to_string(available) +
                          " entries; pass 0 <= first and first + count <= order.size()");
  }
  const Index n = data.size();
  for (Index j = 0; j < count; ++j) {
    const Index src = order[static_cast<std::size_t>(first + j)];
    if (src < 0 || src >= n) {
      throw InvalidArgument("gather_batch: order[" + std::to_string(first + j) + "] = " + std::to_string(src) +
                            " is not an example index of this data set (0 .. " + std::to_string(n - 1) + ")");
    }
  }

  const Index rows = data.images.rows();
  if (x.rows() != rows || x.cols() != count) x.resize(rows, count);
  if (y.size() != count) y.resize(count);
  for (Index j = 0; j < count; ++j) {
    const Index src = order[static_cast<std::size_t>(first + j)];
    x.col(j) = data.images.col(src);
    y(j) = data.labels(src);
  }
}

/// The mean image of a data set (one value per pixel, over all its examples): what the sparse VD authors' MNIST
/// reader subtracts from every training and test image ("Variational Dropout Sparsifies Deep Neural Networks",
/// bayesgroup/variational-dropout-sparsifies-dnn, data/reader.py). Throws InvalidArgument for an empty set.
template <class Scalar>
Vector<Scalar> mean_image(const Dataset<Scalar>& data) {
  if (data.images.cols() == 0) {
    throw InvalidArgument("mean_image: the data set has no images; load it first (load_mnist)");
  }
  // Summed in double: 60,000 floats of up to 1 would lose the low digits of the mean in float.
  return (data.images.template cast<double>().rowwise().sum() / double(data.images.cols())).template cast<Scalar>();
}

/// Subtracts `mean` (e.g. the training set's mean_image) from every image of `data`; pixels are then centred, no
/// longer in [0, 1]. Throws ShapeError when `mean` has not one value per pixel.
template <class Scalar>
void subtract_image(Dataset<Scalar>& data, const Vector<Scalar>& mean) {
  if (mean.size() != data.images.rows()) {
    throw ShapeError("subtract_image: the mean image has " + std::to_string(mean.size()) +
                     " pixels but the data set's images have " + std::to_string(data.images.rows()) +
                     "; compute it with mean_image on a data set of the same image size");
  }
  data.images.colwise() -= mean;
}

}  // namespace bayesdrop
