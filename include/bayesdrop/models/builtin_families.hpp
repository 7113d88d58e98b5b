// The library's dropout families, as the registry (models/registry.hpp) lists them: each one's name, help and what
// it puts into a network, and, apart, its factories for one Scalar. (What each trains with is
// training/family_recipes.hpp's.)
//
// Why two parts: the names and help texts are plain data that every program reads (flags, reports), while
// the factories build layers, and instantiating every family's layers in float and double costs a translation unit
// a minute of compilation. builtin_factories<Scalar> is a function template, so only a translation unit that builds
// a network of that Scalar by name (build_model<Scalar>, make_gate<Scalar>) instantiates the layers, and with the
// compiled library (BAYESDROP_COMPILED_LIB) not even that one: it links the instantiations.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/gaussian_dropout.hpp"
#include "bayesdrop/layers/generalized_dropout.hpp"
#include "bayesdrop/layers/group_lasso_linear.hpp"
#include "bayesdrop/layers/l0_gate.hpp"
#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/layers/structured_bayesian_pruning.hpp"
#include "bayesdrop/layers/variational_dropout.hpp"
#include "bayesdrop/layers/variational_information_bottleneck.hpp"
#include "bayesdrop/models/dropout_family.hpp"

namespace bayesdrop {
namespace detail {

/// The built-in families in the order flags and reports list them; the value is the family's index.
enum class BuiltinFamily : std::size_t {
  none,
  binary,
  gaussian,
  variational,
  sparsevd,
  bbd,
  sbp,
  dbb,
  vib,
  gd,
  l0,
  ssl,
  count
};

/// The built-in families' names, help texts and kinds (what their factories below build).
inline std::vector<DropoutFamily> builtin_dropout_families() {
  std::vector<DropoutFamily> f;
  auto add = [&f](BuiltinFamily id, const char* name, const char* help, bool gates, bool dense, bool conv) {
    f.push_back(make_builtin_family(static_cast<std::size_t>(id), name, help, gates, dense, conv));
    return &f.back();
  };
  using B = BuiltinFamily;
  add(B::none, "none", "the plain network, no dropout", false, false, false);
  add(B::binary, "binary", "binary dropout at rates ModelSpec::p_input and p_hidden (Srivastava et al. 2014)", true,
      false, false);
  add(B::gaussian, "gaussian", "Gaussian dropout, variance p / (1 - p) for p = ModelSpec::p_input and p_hidden", true,
      false, false);
  add(B::variational, "variational",
      "variational dropout, learned alpha starting from ModelSpec::p_input and p_hidden (Kingma et al. 2015, type A)",
      true, false, false);
  add(B::sparsevd, "sparsevd",
      "sparse variational dropout layers in place of the dense and conv layers (Molchanov et al. 2017)", false, true,
      true);
  add(B::bbd, "bbd", "beta-Bernoulli dropout gates, the course assignment's preset", true, false, false);
  add(B::sbp, "sbp", "structured Bayesian pruning gates (Neklyudov et al. 2017)", true, false, false);
  // Dependent beta-Bernoulli (Lee et al. 2018) trains from a finished bbd model (its recipe and sources:
  // training/family_recipes.hpp), whose gates stay frozen.
  add(B::dbb, "dbb",
      "dependent beta-Bernoulli dropout gates (Lee et al. 2018): the bbd gate times an input-dependent one; starts "
      "from the gates of a trained bbd model (its start family)",
      true, false, false)
      ->with_start("bbd");
  add(B::vib, "vib", "variational information bottleneck gates (Dai et al. 2018)", true, false, false);
  add(B::gd, "gd", "generalized dropout: learned keep probabilities with a Beta prior (Srinivas and Babu 2016)", true,
      false, false);
  add(B::l0, "l0", "L0 gates: hard-concrete gates with an expected-L0 penalty (Louizos et al. 2018)", true, false,
      false);
  // Wen et al. 2016, the comparison's deterministic baseline; lenet5's convolutions stay plain.
  add(B::ssl, "ssl", "structured sparsity learning: a group lasso on each dense layer's input units (Wen et al. 2016)",
      false, true, false);
  return f;
}

/// The factories of built-in family `id` for networks of Scalar.
template <class Scalar>
DropoutFactories<Scalar> make_builtin_factories(BuiltinFamily id) {
  using P = LayerPtr<Scalar>;
  DropoutFactories<Scalar> f;
  switch (id) {
    case BuiltinFamily::binary:
      f.gate = [](const GateSite& s, Rng&) -> P {
        return std::make_unique<BinaryDropout<Scalar>>(s.shape, s.drop_rate());
      };
      break;
    case BuiltinFamily::gaussian:
      f.gate = [](const GateSite& s, Rng&) -> P {
        return std::make_unique<GaussianDropout<Scalar>>(s.shape, s.drop_rate());
      };
      break;
    case BuiltinFamily::variational:
      f.gate = [](const GateSite& s, Rng&) -> P {
        return std::make_unique<VariationalDropout<Scalar>>(s.shape, VariationalDropoutOptions{}.with_p(s.drop_rate()));
      };
      break;
    case BuiltinFamily::sparsevd:
      f.dense = [](Index in, Index out, Rng& rng) -> P {
        return std::make_unique<SparseVDLinear<Scalar>>(in, out, rng);
      };
      f.conv = [](ImageShape in, Index channels, Index kernel, Rng& rng) -> P {
        return std::make_unique<SparseVDConv2d<Scalar>>(in, channels, kernel, rng);
      };
      break;
    case BuiltinFamily::bbd:  // the course assignment's preset
      f.gate = [](const GateSite& s, Rng& rng) -> P {
        return std::make_unique<BetaBernoulliDropout<Scalar>>(s.shape, rng, BetaBernoulliOptions::assignment());
      };
      break;
    case BuiltinFamily::sbp:
      f.gate = [](const GateSite& s, Rng&) -> P {
        return std::make_unique<StructuredBayesianPruning<Scalar>>(s.shape);
      };
      break;
    case BuiltinFamily::dbb:  // the bbd gate with bbd's options, so that a bbd model's gates carry over
      f.gate = [](const GateSite& s, Rng& rng) -> P {
        return std::make_unique<DependentBetaBernoulliDropout<Scalar>>(
            s.shape, rng, DependentBetaBernoulliOptions{}.with_beta_bernoulli(BetaBernoulliOptions::assignment()));
      };
      break;
    case BuiltinFamily::vib:
      f.gate = [](const GateSite& s, Rng& rng) -> P {
        return std::make_unique<VariationalInformationBottleneck<Scalar>>(s.shape, rng);
      };
      break;
    case BuiltinFamily::gd:
      f.gate = [](const GateSite& s, Rng&) -> P { return std::make_unique<GeneralizedDropout<Scalar>>(s.shape); };
      break;
    case BuiltinFamily::l0:  // log alpha from the site's drop rate; the penalty counts the weights a unit gates
      f.gate = [](const GateSite& s, Rng& rng) -> P {
        L0GateOptions o;
        o.drop_rate = s.drop_rate();
        o.weights_per_unit = s.weights_per_unit;
        return std::make_unique<L0Gate<Scalar>>(s.shape, rng, o);
      };
      break;
    case BuiltinFamily::ssl:
      f.dense = [](Index in, Index out, Rng& rng) -> P {
        return std::make_unique<GroupLassoLinear<Scalar>>(in, out, rng);
      };
      break;
    case BuiltinFamily::none:
    case BuiltinFamily::count:
      break;
  }
  return f;
}

template <class Scalar>
const DropoutFactories<Scalar>& builtin_factories(std::size_t index) {
  static const std::vector<DropoutFactories<Scalar>> all = [] {
    std::vector<DropoutFactories<Scalar>> v;
    for (std::size_t i = 0; i < static_cast<std::size_t>(BuiltinFamily::count); ++i) {
      v.push_back(make_builtin_factories<Scalar>(static_cast<BuiltinFamily>(i)));
    }
    return v;
  }();
  return all.at(index);
}

}  // namespace detail

#if BAYESDROP_EXTERN_TEMPLATES
extern template const DropoutFactories<float>& detail::builtin_factories<float>(std::size_t);
extern template const DropoutFactories<double>& detail::builtin_factories<double>(std::size_t);
#endif

}  // namespace bayesdrop
