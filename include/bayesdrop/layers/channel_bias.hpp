// A per-channel additive bias on images (channels x height x width, one example per column), on its own:
//
//   y[c, p] = x[c, p] + b[c]        dx = dy        db[c] += sum over the batch and the positions p of dy[c, p]
//
// Why a layer of its own: SBP's LeNet-5 script (Neklyudov et al. 2017, "Structured Bayesian Pruning via Log-Normal
// Multiplicative Noise"; necludov/group-sparsity-sbp, scripts/lenet/lenet5-sbp.py) convolves without a bias, gates
// the channels and only then adds the bias, so that the gate's noise does not scale it. A Conv2d built with
// with_bias(false) followed by a gate and this layer is that placement (models/lenet5.hpp, gate_before_bias).
//
// The bias starts at 0 (role bias: the recipes decay and rate it as the convolution's own bias). Same in both modes.
// compact() does not take it yet (compact_form() is null).
#pragma once

#include <string>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/core/parameter.hpp"

namespace bayesdrop {

template <class Scalar>
class ChannelBias final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// A bias per channel of `image`-shaped inputs; throws InvalidArgument for an empty shape.
  explicit ChannelBias(ImageShape image) : image_(image), bias_("bias", ParamRole::bias, image.channels, 1) {
    if (image.channels <= 0 || image.height <= 0 || image.width <= 0) {
      throw InvalidArgument("ChannelBias: the image's channels, height and width must be positive, got " +
                            std::to_string(image.channels) + "x" + std::to_string(image.height) + "x" +
                            std::to_string(image.width));
    }
  }

  std::string_view name() const override { return "ChannelBias"; }
  Index input_rows() const override { return image_.size(); }
  Index output_rows() const override { return image_.size(); }
  ImageShape image() const { return image_; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    const Index spatial = image_.height * image_.width;
    y.resize(x.rows(), x.cols());
    for (Index c = 0; c < image_.channels; ++c) {
      y.middleRows(c * spatial, spatial).array() = x.middleRows(c * spatial, spatial).array() + bias_.value(c, 0);
    }
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    const Index spatial = image_.height * image_.width;
    for (Index c = 0; c < image_.channels; ++c) bias_.grad(c, 0) += dy.middleRows(c * spatial, spatial).sum();
    if (dx) *dx = dy;
  }

  std::vector<Parameter<Scalar>*> parameters() override { return {&bias_}; }
  /// The bias, one per channel (channels x 1).
  Parameter<Scalar>& bias() { return bias_; }

 private:
  ImageShape image_;
  Parameter<Scalar> bias_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(ChannelBias)

}  // namespace bayesdrop
