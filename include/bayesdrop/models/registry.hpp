// The dropout-family registry: the one place that knows, for every dropout family, its name, how it enters a
// network, the recipe it trains with and its one-line help. build_model, recipe_for_dropout and both programs read it.
//
//   const DropoutFamily& bbd = dropout_family("bbd");   // throws InvalidArgument, listing the names, if unknown
//   Recipe r = recipe_for_dropout("sparsevd", "lenet5");
//
// A family enters a network in one or both of two ways: a gate in front of every dense layer (and of lenet5's conv
// channels), or its own dense and conv layers in place of Linear and Conv2d. Adding a family is its layer header,
// one register_dropout_family() call (from any translation unit, e.g. a static DropoutFamilyRegistrar) and its test:
//
//   static const DropoutFamilyRegistrar half(DropoutFamily("half", "multiplies every unit by 1/2")
//       .with_gate([](auto scalar, const GateSite& site, Rng&) {
//         using S = typename decltype(scalar)::type;
//         return LayerPtr<S>(std::make_unique<HalfGate<S>>(site.shape));
//       }));
//
// Registration is not thread-safe: register before threads build models (static registrars run before main()).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/types.hpp"
#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/gaussian_dropout.hpp"
#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/layers/structured_bayesian_pruning.hpp"
#include "bayesdrop/layers/variational_dropout.hpp"
#include "bayesdrop/training/recipe.hpp"

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

/// One dropout family: its name (the only spelling: flags, reports, model files and build_model all use it), its
/// help text, its factories and its recipe.
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
    return *this;
  }
  /// The recipe the family trains with by default, as a function of the network name ("mlp", "lenet300",
  /// "lenet5"). Without one: Recipe::assignment().
  DropoutFamily& with_recipe(std::function<Recipe(const std::string& model)> recipe) {
    recipe_ = std::move(recipe);
    return *this;
  }

  template <class Scalar>
  const DropoutFactories<Scalar>& factories() const {
    static_assert(std::is_same<Scalar, float>::value || std::is_same<Scalar, double>::value,
                  "DropoutFamily: networks are float or double");
    if constexpr (std::is_same<Scalar, float>::value) {
      return f32_;
    } else {
      return f64_;
    }
  }
  /// True when the family puts gates into the network.
  bool has_gates() const { return bool(f32_.gate); }
  Recipe recipe(const std::string& model) const { return recipe_ ? recipe_(model) : Recipe::assignment(); }

 private:
  std::string name_, help_;
  DropoutFactories<float> f32_;
  DropoutFactories<double> f64_;
  std::function<Recipe(const std::string&)> recipe_;
};

namespace detail {

/// The library's families, in the order flags and reports list them.
inline std::vector<DropoutFamily> builtin_dropout_families() {
  std::vector<DropoutFamily> f;
  f.emplace_back("none", "the plain network, no dropout");
  f.push_back(DropoutFamily("binary", "binary dropout, rates --p-input and --p (Srivastava et al. 2014)")
                  .with_gate([](auto scalar, const GateSite& site, Rng&) {
                    using S = typename decltype(scalar)::type;
                    return LayerPtr<S>(std::make_unique<BinaryDropout<S>>(site.shape, site.drop_rate()));
                  }));
  f.push_back(DropoutFamily("gaussian", "Gaussian dropout, variance p / (1 - p) from --p-input and --p")
                  .with_gate([](auto scalar, const GateSite& site, Rng&) {
                    using S = typename decltype(scalar)::type;
                    return LayerPtr<S>(std::make_unique<GaussianDropout<S>>(site.shape, site.drop_rate()));
                  }));
  f.push_back(DropoutFamily("variational",
                            "variational dropout, learned alpha starting from --p-input and --p "
                            "(Kingma et al. 2015, type A)")
                  .with_gate([](auto scalar, const GateSite& site, Rng&) {
                    using S = typename decltype(scalar)::type;
                    return LayerPtr<S>(std::make_unique<VariationalDropout<S>>(
                        site.shape, VariationalDropoutOptions{}.with_p(site.drop_rate())));
                  }));
  f.push_back(DropoutFamily("sparsevd",
                            "sparse variational dropout layers in place of the dense and conv layers "
                            "(Molchanov et al. 2017)")
                  .with_dense([](auto scalar, Index in, Index out, Rng& rng) {
                    using S = typename decltype(scalar)::type;
                    return LayerPtr<S>(std::make_unique<SparseVDLinear<S>>(in, out, rng));
                  })
                  .with_conv([](auto scalar, ImageShape in, Index channels, Index kernel, Rng& rng) {
                    using S = typename decltype(scalar)::type;
                    return LayerPtr<S>(std::make_unique<SparseVDConv2d<S>>(in, channels, kernel, rng));
                  })
                  .with_recipe([](const std::string& model) {
                    return model == "lenet5" ? Recipe::sparsevd_lenet5() : Recipe::sparsevd();
                  }));
  // The course assignment's beta-Bernoulli preset (BetaBernoulliOptions::assignment()).
  f.push_back(DropoutFamily("bbd", "beta-Bernoulli dropout gates, the course assignment's preset")
                  .with_gate([](auto scalar, const GateSite& site, Rng& rng) {
                    using S = typename decltype(scalar)::type;
                    return LayerPtr<S>(
                        std::make_unique<BetaBernoulliDropout<S>>(site.shape, rng, BetaBernoulliOptions::assignment()));
                  }));
  f.push_back(DropoutFamily("sbp", "structured Bayesian pruning gates (Neklyudov et al. 2017)")
                  .with_gate([](auto scalar, const GateSite& site, Rng&) {
                    using S = typename decltype(scalar)::type;
                    return LayerPtr<S>(std::make_unique<StructuredBayesianPruning<S>>(site.shape));
                  }));
  // Dependent beta-Bernoulli (Lee et al. 2018): the bbd gate (same options, so that a bbd model's gates carry over)
  // times an input-dependent gate. Trained from a finished bbd model (the trainer's --init-from), whose gates stay
  // frozen, with the authors' class-style TensorFlow recipe (OpenXAIProject/Variational_Dropouts,
  // src/experiments/run.py dbbd_train): the dependent parameters by Adam at 1e-2, the weights and biases at 1e-3
  // with L2 1e-4, both divided by 10 at 50 % and by 100 at 70 % of the steps, 200 epochs, batch 100.
  f.push_back(DropoutFamily("dbb",
                            "dependent beta-Bernoulli dropout gates (Lee et al. 2018): the bbd gate times an "
                            "input-dependent one; start from a trained bbd model with --init-from")
                  .with_gate([](auto scalar, const GateSite& site, Rng& rng) {
                    using S = typename decltype(scalar)::type;
                    return LayerPtr<S>(std::make_unique<DependentBetaBernoulliDropout<S>>(
                        site.shape, rng,
                        DependentBetaBernoulliOptions{}.with_beta_bernoulli(BetaBernoulliOptions::assignment())));
                  })
                  .with_recipe([](const std::string&) {
                    Recipe r;
                    r.name = "dbb";
                    r.boundaries = {0.5, 0.7};
                    r.epochs = 200;
                    return r;
                  }));
  return f;
}

inline std::vector<DropoutFamily>& dropout_registry() {
  static std::vector<DropoutFamily> families = builtin_dropout_families();
  return families;
}

inline std::string join_names(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return list;
}

}  // namespace detail

/// Names of the registered families, the library's first (none, binary, gaussian, variational, sparsevd, bbd, sbp,
/// dbb), then the user's in registration order.
inline std::vector<std::string> dropout_names() {
  std::vector<std::string> names;
  for (const auto& f : detail::dropout_registry()) names.push_back(f.name());
  return names;
}

/// The family called `name`; throws InvalidArgument naming `caller` and listing the registered names if there is
/// none.
inline const DropoutFamily& dropout_family(const std::string& name, const char* caller = "dropout_family") {
  for (const auto& f : detail::dropout_registry()) {
    if (f.name() == name) return f;
  }
  throw InvalidArgument(std::string(caller) + ": unknown dropout type '" + name + "'; choose one of " +
                        detail::join_names(dropout_names()));
}

/// Adds a family. Throws InvalidArgument for an empty name, a name with spaces or commas, or a name already taken.
inline void register_dropout_family(DropoutFamily family) {
  const std::string& name = family.name();
  if (name.empty() || name.find_first_of(" ,\t\n") != std::string::npos) {
    throw InvalidArgument("register_dropout_family: the name '" + name +
                          "' must be one word (it is a command-line choice and a model-file entry)");
  }
  for (const auto& f : detail::dropout_registry()) {
    if (f.name() == name) {
      throw InvalidArgument("register_dropout_family: '" + name + "' is already registered; choose another name");
    }
  }
  detail::dropout_registry().push_back(std::move(family));
}

/// Registers a family when constructed: `static const DropoutFamilyRegistrar r(DropoutFamily(...)...);`.
struct DropoutFamilyRegistrar {
  explicit DropoutFamilyRegistrar(DropoutFamily family) { register_dropout_family(std::move(family)); }
};

/// "name: help" for every family, one per line, for a program's --help.
inline std::string dropout_help() {
  std::string text;
  for (const auto& f : detail::dropout_registry()) text += (text.empty() ? "" : "\n") + f.name() + ": " + f.help();
  return text;
}

/// The preset a dropout family trains with by default, for the network `model` ("mlp", "lenet300", "lenet5").
inline Recipe recipe_for_dropout(const std::string& dropout, const std::string& model = "mlp") {
  return dropout_family(dropout, "recipe_for_dropout").recipe(model);
}

}  // namespace bayesdrop
