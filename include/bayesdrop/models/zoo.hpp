// The models of the methods' MNIST experiments, built by name: a network and a dropout type chosen at run time.
//
//   ModelSpec spec{"mlp", "bbd"};                 // 784-500-300-10 with beta-Bernoulli gates on its three inputs
//   Sequential<float> net = build_model<float>(spec, rng);
//
// Networks: "mlp" (784-500-300-10, the course assignment's), "lenet300" (LeNet-300-100), "lenet5" (LeNet-5-Caffe).
// Dropout types: the families of models/registry.hpp (dropout_names()). A family with a gate gets one on the inputs
// of every dense layer (and on the conv channels of lenet5); a family with its own dense or conv layers replaces
// Linear and Conv2d by them.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/models/lenet5.hpp"
#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/models/registry.hpp"

namespace bayesdrop {

/// Which network with which dropout. Drop rates apply to binary, Gaussian (alpha = p / (1 - p)) and, as the initial
/// value, variational dropout: p_input on the pixels (and on lenet5's conv channels), p_hidden on hidden units.
struct ModelSpec {
  std::string model = "mlp";
  std::string dropout = "none";
  double p_input = 0.2;   ///< the binary-dropout paper's rate on inputs
  double p_hidden = 0.5;  ///< and on hidden units
  /// The initialiser of the plain dense layers' weights (Linear; a family that builds its own dense layers keeps its
  /// own and refuses another). It shapes the start only: a saved model does not record it.
  Init dense_init = Init::glorot_uniform();
};

/// Networks build_model knows. "lenet5-same" and "lenet5-bias-after-gate" are LeNet-5-Caffe with one choice of SBP's
/// LeNet-5 script each (models/lenet5.hpp): "same" padding (2450 dense inputs), and the conv bias added after the
/// channel gate; "lenet5-same-bias-after-gate" has both, as the script builds it. They take the gate families only
/// (not sparse VD, whose convolutions are its own).
inline std::vector<std::string> model_names() {
  return {"mlp", "lenet300", "lenet5", "lenet5-same", "lenet5-bias-after-gate", "lenet5-same-bias-after-gate"};
}

/// Whether the network reads its input as 28x28 images (a convolutional network: the lenet5 ones) rather than as a
/// flat vector of 784 pixels (the MLPs), so that data of another image shape with 784 pixels is refused for it.
inline bool model_reads_images(const std::string& model) {
  return model.rfind("lenet5", 0) == 0;
}

/// Whether build_model takes dropout family `dropout` on network `model`: the lenet5 variants change the plain
/// convolutions, so they refuse a family that builds its own (sparse VD). Throws InvalidArgument for an unknown family.
inline bool model_takes_dropout(const std::string& model, const std::string& dropout) {
  return model == "lenet5" || !model_reads_images(model) || !dropout_family(dropout, "model_takes_dropout").has_conv();
}

namespace detail {

inline void require_name(const std::vector<std::string>& names, const std::string& value, const char* what,
                         const char* caller = "build_model") {
  if (std::find(names.begin(), names.end(), value) != names.end()) return;
  throw InvalidArgument(std::string(caller) + ": unknown " + what + " '" + value + "'; choose one of " +
                        join_names(names));
}

}  // namespace detail

/// A gate of the named dropout family over `shape` (channels x height x width, or {units, 1, 1} for a dense input),
/// with drop rate p where the family takes one; null for a family without gates ("none", "sparsevd"). Throws
/// InvalidArgument for an unknown name.
template <class Scalar>
LayerPtr<Scalar> make_gate(const std::string& dropout, ImageShape shape, double p, Rng& rng) {
  const auto& gate = dropout_family(dropout, "make_gate").factories<Scalar>().gate;
  if (!gate) return nullptr;
  GateSite site;
  site.shape = shape;
  site.p_input = site.p_hidden = p;
  return gate(site, rng);
}

/// Builds the network of `spec`; throws InvalidArgument for an unknown name or a drop rate outside [0, 1).
template <class Scalar>
Sequential<Scalar> build_model(const ModelSpec& spec, Rng& rng) {
  detail::require_name(model_names(), spec.model, "model");
  const DropoutFactories<Scalar>& family = dropout_family(spec.dropout, "build_model").template factories<Scalar>();
  for (double p : {spec.p_input, spec.p_hidden}) {
    if (!(p >= 0 && p < 1))
      throw InvalidArgument("build_model: drop rates must lie in [0, 1), got " + std::to_string(p));
  }
  if (family.dense && spec.dense_init != Init::glorot_uniform()) {
    throw InvalidArgument("build_model: dense_init " + spec.dense_init.describe() +
                          " sets the plain dense layers, and '" + spec.dropout +
                          "' builds its own with their own initialiser; leave it at glorot_uniform");
  }
  const bool lenet5_net = model_reads_images(spec.model);
  const std::vector<Index> sizes =
      spec.model == "mlp" ? std::vector<Index>{784, 500, 300, 10} : std::vector<Index>{784, 300, 100, 10};
  const LeNet5Options<Scalar> lenet5_shape;  // its default channels and widths, which lenet5() below builds
  // The weights each unit of gate `index` stands for: a lenet5 conv channel's filter (1 or conv1's channels, times
  // 5 x 5), else the unit's row of the next dense layer.
  const Index weights_per_unit[4] = {lenet5_net ? 25 : sizes[1],
                                     lenet5_net ? lenet5_shape.conv1_channels * 25 : sizes[2],
                                     lenet5_net ? lenet5_shape.hidden : sizes[3], lenet5_shape.classes};
  // The gate in front of layer `index` guards the input (p_input) when it sits on the pixels or, in lenet5, on the
  // channels of the first convolution (its gates 0 and 1); every other gate guards hidden units (p_hidden).
  auto site = [&spec, lenet5_net, weights_per_unit](ImageShape shape, std::size_t index) {
    GateSite s;
    s.shape = shape;
    s.index = index;
    s.on_input = lenet5_net ? index < 2 : index == 0;
    s.p_input = spec.p_input;
    s.p_hidden = spec.p_hidden;
    s.weights_per_unit = weights_per_unit[std::min<std::size_t>(index, 3)];
    return s;
  };
  auto gate = [family, site](ImageShape shape, std::size_t index, Rng& r) -> LayerPtr<Scalar> {
    return family.gate ? family.gate(site(shape, index), r) : nullptr;
  };
  auto dense = [family](Index in, Index out, std::size_t, Rng& r) { return family.dense(in, out, r); };

  if (lenet5_net) {
    LeNet5Options<Scalar> options;
    options.with_gate(gate);
    const bool same = spec.model == "lenet5-same" || spec.model == "lenet5-same-bias-after-gate";
    if (same) options.with_conv_window(WindowOptions{}.with_same_padding());
    options.with_gate_before_bias(spec.model == "lenet5-bias-after-gate" ||
                                  spec.model == "lenet5-same-bias-after-gate");
    options.with_linear(LinearOptions{}.with_init(spec.dense_init));
    if (!model_takes_dropout(spec.model, spec.dropout)) {
      throw InvalidArgument("build_model: model '" + spec.model + "' changes the plain convolutions, but dropout '" +
                            spec.dropout + "' builds its own; use model lenet5 with it, or a gate family");
    }
    if (family.conv) {
      options.with_conv([family](ImageShape in, Index channels, Index kernel, std::size_t, Rng& r) {
        return family.conv(in, channels, kernel, r);
      });
    }
    if (family.dense) options.with_dense(dense);
    return lenet5<Scalar>(rng, options);
  }

  MlpOptions<Scalar> options;
  options.with_linear(LinearOptions{}.with_init(spec.dense_init));
  options.with_gate([gate](Index units, std::size_t index, Rng& r) { return gate(ImageShape{units, 1, 1}, index, r); });
  if (family.dense) options.with_dense(dense);
  return mlp<Scalar>(sizes, rng, options);
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template Sequential<float> build_model(const ModelSpec&, Rng&);
extern template LayerPtr<float> make_gate(const std::string&, ImageShape, double, Rng&);
extern template Sequential<double> build_model(const ModelSpec&, Rng&);
extern template LayerPtr<double> make_gate(const std::string&, ImageShape, double, Rng&);
#endif

}  // namespace bayesdrop
