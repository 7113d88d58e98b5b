// What a forward pass needs besides its input: the mode and, in training, the generator for the noise.
//
// "The mode" answers two questions that Monte Carlo prediction answers differently:
//   noise()             do the stochastic layers draw noise?                 train: yes  eval: no   monte_carlo: yes
//   batch_statistics()  does BatchNorm normalise with the batch's own
//                       statistics and update its running ones, and may a
//                       backward pass follow (training caches)?               train: yes  eval: no   monte_carlo: no
// Monte Carlo prediction (uncertainty/mc_predict.hpp) wants the noise of training but the network of evaluation:
// BatchNorm uses its running statistics and never changes them, whatever the batch.
#pragma once

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

/// Passed to every Layer::forward. Carrying the mode here, instead of a flag inside each layer, means no layer can
/// be left in the wrong mode when the caller switches between training and evaluation.
struct Context {
  Mode mode = Mode::eval;  ///< train: stochastic layers draw noise; eval: they do not
  Rng* rng = nullptr;      ///< required in training by every stochastic layer; may be null in evaluation
  /// With mode train: keep the statistics of evaluation (BatchNorm's running ones, unchanged) and expect no backward.
  bool running_statistics = false;

  /// Training: noise on, batch statistics (BatchNorm updates its running ones), a backward pass may follow.
  static Context train(Rng& r) { return Context{Mode::train, &r}; }
  /// Evaluation: no noise, running statistics.
  static Context eval() { return Context{Mode::eval, nullptr}; }
  /// Evaluation that still hands a generator to the layers (none draws noise in Mode::eval).
  static Context eval(Rng& r) { return Context{Mode::eval, &r}; }
  /// Monte Carlo prediction: the noise of training with the running statistics of evaluation; nothing is updated and
  /// no backward pass may follow.
  static Context monte_carlo(Rng& r) { return Context{Mode::train, &r, true}; }

  /// Whether the stochastic layers draw noise (Mode::train, including Monte Carlo passes). The name predates
  /// monte_carlo(); noise() says the same.
  bool training() const { return mode == Mode::train; }
  /// Whether the stochastic layers draw noise.
  bool noise() const { return mode == Mode::train; }
  /// Whether layers with batch statistics use the batch's and update their running ones, and cache for a backward
  /// pass: training proper, not evaluation and not a Monte Carlo pass.
  bool batch_statistics() const { return mode == Mode::train && !running_statistics; }

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
