// One dropout family as the registry (models/registry.hpp) holds it: its name, its help, how it enters a network
// (gates, dense layers, conv layers) and the family it starts from. Its recipe, how it trains, is training's
// (training/family_recipes.hpp, by the same name).
//
// A family's factories build layers of the network's Scalar. The built-in families' factories are function
// templates (models/builtin_families.hpp), instantiated only where a program builds a network of that Scalar by
// name; a family registered with with_gate/with_dense/with_conv instantiates its factories for float and double
// where that registration is compiled.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

/// Passed to a family's generic factories so that one lambda serves float and double: the member `type` of the
/// tag's type (`decltype(scalar)`) is the Scalar of the network being built.
template <class Scalar>
struct ScalarTag {
  using type = Scalar;
};

/// Where a gate goes: what it multiplies and which drop rate of the spec applies there.
struct GateSite {
  ImageShape shape;       ///< channels x height x width, or {units, 1, 1} in front of a dense layer
  std::size_t index = 0;  ///< 0 = the input pixels, counted along the network
  bool on_input = false;  ///< the pixels or lenet5's conv channels (p_input applies), else hidden units (p_hidden)
  double p_input = 0.2, p_hidden = 0.5;
  /// The weights a pruned unit removes: its row of the next dense layer, or its conv channel's filter. The L0
  /// family's expected-L0 penalty counts them (Louizos et al. 2018); 1 when unknown (make_gate).
  Index weights_per_unit = 1;

  /// The spec's drop rate for this site: p_input on the pixels and on lenet5's conv channels, p_hidden elsewhere.
  /// Families with a fixed rate (binary, Gaussian) or an initial one (variational) read it; the others ignore it.
  double drop_rate() const { return on_input ? p_input : p_hidden; }
};

/// The factories of one family for one Scalar; a null factory means "the network's default" (no gate, Linear,
/// Conv2d).
template <class Scalar>
struct DropoutFactories {
  std::function<LayerPtr<Scalar>(const GateSite& site, Rng& rng)> gate;
  std::function<LayerPtr<Scalar>(Index in, Index out, Rng& rng)> dense;
  std::function<LayerPtr<Scalar>(ImageShape input, Index channels, Index kernel, Rng& rng)> conv;
};

class DropoutFamily;

namespace detail {
/// The factories of the built-in family `index` (its place in builtin_dropout_families()); defined in
/// models/builtin_families.hpp, which models/registry.hpp includes.
template <class Scalar>
const DropoutFactories<Scalar>& builtin_factories(std::size_t index);
DropoutFamily make_builtin_family(std::size_t index, std::string name, std::string help, bool gates, bool dense,
                                  bool conv);
}  // namespace detail

/// One dropout family: its name (the only spelling: flags, reports, model files and build_model all use it), its
/// help text, its factories and the family it starts from.
class DropoutFamily {
 public:
  DropoutFamily(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}

  const std::string& name() const { return name_; }
  /// One line for --help: what the family puts into the network.
  const std::string& help() const { return help_; }

  /// Puts a gate in front of every dense layer (and of lenet5's conv channels). `make` is called as
  /// make(ScalarTag<Scalar>{}, const GateSite&, Rng&) and returns LayerPtr<Scalar>, for float and double.
  template <class F>
  DropoutFamily& with_gate(F make) {
    f32_.gate = [make](const GateSite& s, Rng& r) -> LayerPtr<float> { return make(ScalarTag<float>{}, s, r); };
    f64_.gate = [make](const GateSite& s, Rng& r) -> LayerPtr<double> { return make(ScalarTag<double>{}, s, r); };
    gates_ = true;
    return *this;
  }
  /// Replaces every Linear: make(ScalarTag<Scalar>{}, Index in, Index out, Rng&).
  template <class F>
  DropoutFamily& with_dense(F make) {
    f32_.dense = [make](Index in, Index out, Rng& r) -> LayerPtr<float> {
      return make(ScalarTag<float>{}, in, out, r);
    };
    f64_.dense = [make](Index in, Index out, Rng& r) -> LayerPtr<double> {
      return make(ScalarTag<double>{}, in, out, r);
    };
    dense_ = true;
    return *this;
  }
  /// Replaces every Conv2d: make(ScalarTag<Scalar>{}, ImageShape input, Index channels, Index kernel, Rng&).
  template <class F>
  DropoutFamily& with_conv(F make) {
    f32_.conv = [make](ImageShape in, Index ch, Index k, Rng& r) -> LayerPtr<float> {
      return make(ScalarTag<float>{}, in, ch, k, r);
    };
    f64_.conv = [make](ImageShape in, Index ch, Index k, Rng& r) -> LayerPtr<double> {
      return make(ScalarTag<double>{}, in, ch, k, r);
    };
    conv_ = true;
    return *this;
  }
  /// The family whose trained model this one starts from (dependent beta-Bernoulli starts from "bbd"): a program
  /// or script trains that one first and passes its model as the warm start. Empty (the default): from scratch or
  /// any plain start.
  DropoutFamily& with_start(std::string family) {
    start_ = std::move(family);
    return *this;
  }
  const std::string& start_family() const { return start_; }

  /// The factories for networks of `Scalar` (float or double).
  template <class Scalar>
  const DropoutFactories<Scalar>& factories() const {
    static_assert(std::is_same<Scalar, float>::value || std::is_same<Scalar, double>::value,
                  "DropoutFamily: networks are float or double");
    if (builtin_index_ >= 0) return detail::builtin_factories<Scalar>(static_cast<std::size_t>(builtin_index_));
    if constexpr (std::is_same<Scalar, float>::value) {
      return f32_;
    } else {
      return f64_;
    }
  }
  /// True when the family puts gates into the network.
  bool has_gates() const { return gates_; }
  /// True when it replaces the dense layers (Linear) by its own, and the conv layers (Conv2d).
  bool has_dense() const { return dense_; }
  bool has_conv() const { return conv_; }

 private:
  friend DropoutFamily detail::make_builtin_family(std::size_t, std::string, std::string, bool, bool, bool);

  std::string name_, help_, start_;
  DropoutFactories<float> f32_;
  DropoutFactories<double> f64_;
  bool gates_ = false, dense_ = false, conv_ = false;
  int builtin_index_ = -1;  ///< >= 0: a built-in family, whose factories are detail::builtin_factories<Scalar>
};

namespace detail {
/// A built-in family: its factories come from builtin_factories<Scalar>(index), instantiated only when asked for.
inline DropoutFamily make_builtin_family(std::size_t index, std::string name, std::string help, bool gates, bool dense,
                                         bool conv) {
  DropoutFamily f(std::move(name), std::move(help));
  f.builtin_index_ = static_cast<int>(index);
  f.gates_ = gates;
  f.dense_ = dense;
  f.conv_ = conv;
  return f;
}
}  // namespace detail

}  // namespace bayesdrop

// The built-in families' factories, which DropoutFamily::factories() returns for them (it includes this header).
#include "bayesdrop/models/builtin_families.hpp"  // IWYU pragma: export
