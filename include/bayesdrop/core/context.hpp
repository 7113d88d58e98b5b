// What a forward pass needs besides its input: the mode and, in training, the generator for the noise.
#pragma once

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

/// Passed to every Layer::forward. Carrying the mode here, instead of a flag inside each layer, means no layer can
/// be left in the wrong mode when the caller switches between training and evaluation.
struct Context {
  Mode mode = Mode::eval;
  Rng* rng = nullptr;  ///< required in training by every stochastic layer; may be null in evaluation

  static Context train(Rng& r) { return Context{Mode::train, &r}; }
  static Context eval() { return Context{Mode::eval, nullptr}; }
  /// Evaluation that still lets a layer draw noise (Monte Carlo prediction uses Mode::train with no update instead).
  static Context eval(Rng& r) { return Context{Mode::eval, &r}; }

  bool training() const { return mode == Mode::train; }

  /// The generator, or a clear error naming the layer that needed one.
  Rng& require_rng(const char* layer) const {
    if (rng == nullptr) {
      throw InvalidArgument(std::string(layer) +
                            ": this layer draws noise in training mode but the Context has no Rng; "
                            "build the context with Context::train(rng)");
    }
    return *rng;
  }
};

}  // namespace bayesdrop
