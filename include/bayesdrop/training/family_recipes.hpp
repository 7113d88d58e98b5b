// The recipe each dropout family trains with by default, looked up by the family's name: the library's (each with
// its source) and those registered beside a user's own family.
//
//   Recipe r = recipe_for_dropout("sparsevd", "lenet5");   // throws InvalidArgument, listing the names, if unknown
//
//   static const DropoutFamilyRegistrar half(DropoutFamily("half", "multiplies every unit by 1/2").with_gate(...));
//   static const FamilyRecipeRegistrar half_recipe("half", [](const std::string& model) { Recipe r; ...; return r; });
//
// The registry (models/registry.hpp) knows how a family enters a network; how it trains is this level's knowledge,
// kept here under the same name, so that models/ never includes training/. A family without a recipe of its own
// trains with Recipe::assignment().
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/models/registry.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/training/recipe.hpp"

namespace bayesdrop {

/// A family's recipe as a function of the network's name ("mlp", "lenet300", "lenet5").
using FamilyRecipe = std::function<Recipe(const std::string& model)>;

namespace detail {

struct NamedFamilyRecipe {
  std::string family;
  FamilyRecipe recipe;
};

/// The library's families that do not train with the assignment's recipe.
inline std::vector<NamedFamilyRecipe> builtin_family_recipes() {
  std::vector<NamedFamilyRecipe> r;
  r.push_back({"sparsevd", [](const std::string& model) {
                 return model_reads_images(model) ? Recipe::sparsevd_lenet5() : Recipe::sparsevd();
               }});
  // Dependent beta-Bernoulli (Lee et al. 2018): trained from a finished bbd model (DropoutFamily::start_family()),
  // whose gates stay frozen, with the authors' class-style TensorFlow recipe (OpenXAIProject/Variational_Dropouts,
  // src/experiments/run.py dbbd_train): the dependent parameters by Adam at 1e-2, the weights and biases at 1e-3
  // with L2 1e-4, both divided by 10 at 50 % and by 100 at 70 % of the steps, 200 epochs, batch 100.
  r.push_back({"dbb", [](const std::string&) {
                 Recipe d;
                 d.name = "dbb";
                 d.boundaries = {0.5, 0.7};
                 d.epochs = 200;
                 return d;
               }});
  // Dai et al. 2018, as the BB authors train it (OpenXAIProject/Variational_Dropouts, src/experiments/run.py
  // vib_train): the assignment's rates and steps, but the loss cent + 1e-4 KL instead of cent + KL / N, i.e. each
  // gate's KL weighted 1e-4 x 60000 = 6 for MNIST's 60000 training images (their gamma for the LeNets).
  r.push_back({"vib", [](const std::string& model) {
                 Recipe v;
                 v.name = "vib";
                 v.kl_scales.assign(model_reads_images(model) ? 4 : 3, 1e-4 * 60000);
                 return v;
               }});
  // Wen et al. 2016, the comparison's deterministic baseline: a group lasso on each dense layer's input units, the
  // loss CE + 1e-3 x penalty (the comparison's SSL(1e-3)), i.e. a KL scale of 1e-3 x 60000 for MNIST's 60000 images;
  // lenet5's convolutions stay plain.
  r.push_back({"ssl", [](const std::string& model) {
                 Recipe s;
                 s.name = "ssl";
                 s.kl_scales.assign(model_reads_images(model) ? 2 : 3, 1e-3 * 60000);
                 return s;
               }});
  // Srinivas and Babu 2016 (gd) as the BB authors' comparison runs it (src/model/gendropout.py), and Louizos et al.
  // 2018 (l0) with their settings (AMLab-Amsterdam/L0_regularization): the assignment's recipe, as every other family.
  return r;
}

inline std::vector<NamedFamilyRecipe>& family_recipe_registry() {
  static std::vector<NamedFamilyRecipe> recipes = builtin_family_recipes();
  return recipes;
}

}  // namespace detail

/// Gives the family called `family` its recipe. The family may be registered (register_dropout_family) before or
/// after; recipe_for_dropout checks that it exists. Throws InvalidArgument for an empty name, an empty recipe or a
/// family that has a recipe already. Not thread-safe, like register_dropout_family.
inline void register_family_recipe(std::string family, FamilyRecipe recipe) {
  if (family.empty() || !recipe) {
    throw InvalidArgument("register_family_recipe: give a family name and a recipe function");
  }
  for (const auto& r : detail::family_recipe_registry()) {
    if (r.family == family) {
      throw InvalidArgument("register_family_recipe: '" + family + "' has a recipe already");
    }
  }
  detail::family_recipe_registry().push_back({std::move(family), std::move(recipe)});
}

/// Registers a family's recipe when constructed: `static const FamilyRecipeRegistrar r("name", recipe);`.
struct FamilyRecipeRegistrar {
  FamilyRecipeRegistrar(std::string family, FamilyRecipe recipe) {
    register_family_recipe(std::move(family), std::move(recipe));
  }
};

/// The preset a dropout family trains with by default, for the network `model` ("mlp", "lenet300", "lenet5"):
/// its registered recipe, else Recipe::assignment(). Throws InvalidArgument listing the registered names when no
/// family is called `dropout`.
inline Recipe recipe_for_dropout(const std::string& dropout, const std::string& model = "mlp") {
  dropout_family(dropout, "recipe_for_dropout");
  for (const auto& r : detail::family_recipe_registry()) {
    if (r.family == dropout) return r.recipe(model);
  }
  return Recipe::assignment();
}

}  // namespace bayesdrop
