// LeNet-5-Caffe for 28x28 single-channel images, as in the sparse VD and SBP papers' MNIST tables:
//
//   conv 5x5, 20 channels -> [gate] -> max-pool 2 -> ReLU -> conv 5x5, 50 channels -> [gate] -> max-pool 2 -> ReLU
//   -> [gate on 800 inputs] -> dense 800-500 -> ReLU -> [gate on 500 inputs] -> dense 500-10
//
// Valid convolutions (800 = 50 x 4 x 4 inputs to the first dense layer, as the papers count). The gates sit on the
// conv outputs (per channel, before the nonlinearity, as in the SBP and beta-Bernoulli reference code) and on the
// inputs of the dense layers. Pooling comes before the ReLU because the two commute and pooling first touches a
// quarter of the values.
//
// Two choices of SBP's LeNet-5 scripts (necludov/group-sparsity-sbp, scripts/lenet/lenet5-sbp.py), as options:
// conv_window "same" padding (28x28 and 14x14 maps, 2450 = 50 x 7 x 7 dense inputs), and gate_before_bias, the
// convolutions without a bias, each gate followed by a ChannelBias (so the gate's noise does not scale the bias). Both
// apply to the plain Conv2d only (a family's own convolutions take neither: InvalidArgument).
#pragma once

#include <functional>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/layers/channel_bias.hpp"
#include "bayesdrop/layers/conv2d.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/max_pool2d.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/models/sequential.hpp"

namespace bayesdrop {

template <class Scalar>
struct LeNet5Options {
  /// Builds the gate in front of position `index` (0, 1: after conv1, conv2, with the conv's output shape; 2, 3: the
  /// inputs of dense1, dense2, as shape {units, 1, 1}); may return null for no gate. Default: no gates.
  using GateFactory = std::function<LayerPtr<Scalar>(ImageShape shape, std::size_t index, Rng& rng)>;
  /// Builds conv layer `index` (0, 1). Default: Conv2d.
  using ConvFactory =
      std::function<LayerPtr<Scalar>(ImageShape input, Index channels, Index kernel, std::size_t index, Rng& rng)>;
  /// Builds dense layer `index` (0, 1). Default: Linear.
  using DenseFactory = std::function<LayerPtr<Scalar>(Index in, Index out, std::size_t index, Rng& rng)>;

  GateFactory gate;
  ConvFactory conv;
  DenseFactory dense;
  Index conv1_channels = 20, conv2_channels = 50, hidden = 500, classes = 10;
  WindowOptions conv_window;      ///< the convolutions' padding and stride. Default: valid, stride 1
  bool gate_before_bias = false;  ///< convolutions without a bias, then the gate, then a ChannelBias. Default: false
  LinearOptions linear;           ///< options of the default dense layers (their initialiser)

  LeNet5Options& with_gate(GateFactory g) {
    gate = std::move(g);
    return *this;
  }
  LeNet5Options& with_conv(ConvFactory c) {
    conv = std::move(c);
    return *this;
  }
  LeNet5Options& with_dense(DenseFactory d) {
    dense = std::move(d);
    return *this;
  }
  LeNet5Options& with_conv_window(WindowOptions w) {
    conv_window = w;
    return *this;
  }
  LeNet5Options& with_gate_before_bias(bool on) {
    gate_before_bias = on;
    return *this;
  }
  LeNet5Options& with_linear(LinearOptions o) {
    linear = o;
    return *this;
  }
};

/// Builds LeNet-5-Caffe for images of `input` shape (MNIST: {1, 28, 28}).
template <class Scalar>
Sequential<Scalar> lenet5(Rng& rng, const LeNet5Options<Scalar>& options = {}, ImageShape input = {1, 28, 28}) {
  Sequential<Scalar> net;
  auto add_gate = [&](ImageShape shape, std::size_t index) {
    if (options.gate) {
      if (auto g = options.gate(shape, index, rng)) net.add(std::move(g));
    }
  };
  const Conv2dGeometry first = options.conv_window.geometry(input, 5, 5, "lenet5");
  const bool valid_window = !first.padded() && first.stride_h == 1 && first.stride_w == 1;
  if (options.conv && (options.gate_before_bias || !valid_window)) {
    throw InvalidArgument(
        "lenet5: gate_before_bias and a padded conv_window apply to the plain Conv2d only, and this network's "
        "family builds its own convolutions (sparse VD's carry their weights' noise); use the default options");
  }
  ImageShape shape = input;
  const Index channels[2] = {options.conv1_channels, options.conv2_channels};
  for (std::size_t i = 0; i < 2; ++i) {
    const Conv2dGeometry geometry = options.conv_window.geometry(shape, 5, 5, "lenet5");
    if (options.conv) {
      net.add(options.conv(shape, channels[i], 5, i, rng));
    } else {
      net.template emplace<Conv2d>(
          shape, channels[i], 5, rng,
          Conv2dOptions{}.with_window(options.conv_window).with_bias(!options.gate_before_bias));
    }
    shape = geometry.output(channels[i]);
    add_gate(shape, i);
    if (options.gate_before_bias) net.template emplace<ChannelBias>(shape);
    net.template emplace<MaxPool2d>(shape, 2);
    shape = ImageShape{shape.channels, shape.height / 2, shape.width / 2};
    net.template emplace<ReLU>(shape.size());
  }
  const Index sizes[3] = {shape.size(), options.hidden, options.classes};
  for (std::size_t i = 0; i < 2; ++i) {
    add_gate(ImageShape{sizes[i], 1, 1}, i + 2);
    if (options.dense) {
      net.add(options.dense(sizes[i], sizes[i + 1], i, rng));
    } else {
      net.template emplace<Linear>(sizes[i], sizes[i + 1], rng, options.linear);
    }
    if (i == 0) net.template emplace<ReLU>(sizes[1]);
  }
  return net;
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template Sequential<float> lenet5(Rng&, const LeNet5Options<float>&, ImageShape);
extern template Sequential<double> lenet5(Rng&, const LeNet5Options<double>&, ImageShape);
#endif

}  // namespace bayesdrop
