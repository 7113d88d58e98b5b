// Flatten: turns a batch of images (channels x height x width per column) into plain feature vectors.
//
// bayesdrop already stores each image as one column (core/types.hpp), so the values do not move: the layer copies
// x to y and marks, for shape checks and readers, where a convolutional stack ends and dense layers begin.
#pragma once

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"

namespace bayesdrop {

template <class Scalar>
class Flatten final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  explicit Flatten(ImageShape shape) : shape_(shape) {
    if (shape.channels <= 0 || shape.height <= 0 || shape.width <= 0) {
      throw InvalidArgument("Flatten: channels, height and width must be positive, got " +
                            std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" +
                            std::to_string(shape.width));
    }
  }

  std::string_view name() const override { return "Flatten"; }
  /// compact(): nothing to build; the kept rows need not be whole channels any more.
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override { return std::make_shared<RowwiseForm<Scalar>>(); }
  Index input_rows() const override { return shape_.size(); }
  Index output_rows() const override { return shape_.size(); }
  const ImageShape& image_shape() const { return shape_; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    y = x;
  }
  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    if (dx) *dx = dy;
  }

 private:
  ImageShape shape_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(Flatten)

}  // namespace bayesdrop
