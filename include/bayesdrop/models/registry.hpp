// The dropout-family registry: the one place that knows, for every dropout family, its name, how it enters a
// network and its one-line help. build_model, recipe_for_dropout (training/family_recipes.hpp, which keeps each
// family's recipe under its name) and both programs read it.
//
//   const DropoutFamily& bbd = dropout_family("bbd");   // throws InvalidArgument, listing the names, if unknown
//
// A family enters a network in one or both of two ways: a gate in front of every dense layer (and of lenet5's conv
// channels), or its own dense and conv layers in place of Linear and Conv2d. The library's families are listed in
// models/builtin_families.hpp. Adding one of your own is its layer header, one register_dropout_family() call (from
// any translation unit, e.g. a static DropoutFamilyRegistrar) and its test:
//
//   static const DropoutFamilyRegistrar half(DropoutFamily("half", "multiplies every unit by 1/2")
//       .with_gate([](auto scalar, const GateSite& site, Rng&) {
//         using S = typename decltype(scalar)::type;
//         return LayerPtr<S>(std::make_unique<HalfGate<S>>(site.shape));
//       }));
//
// and, if it trains with other settings than the assignment's, a FamilyRecipeRegistrar (training/family_recipes.hpp).
//
// Including this header instantiates no layer: the built-in families' layers are instantiated where a network is
// built by name (models/zoo.hpp), and a registration like the one above instantiates its gate in the file that
// compiles it. Registration is not thread-safe: register before threads build models (static registrars run
// before main()).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/models/builtin_families.hpp"
#include "bayesdrop/models/dropout_family.hpp"

namespace bayesdrop {

namespace detail {
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
/// dbb, vib, gd, l0, ssl), then the user's in registration order.
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

}  // namespace bayesdrop
