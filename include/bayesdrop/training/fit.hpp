// Training a model for a number of epochs with the ELBO loss: the loop every example and test shares.
//
//   Recipe recipe = recipe_for_dropout("bbd");
//   auto history = fit(model, recipe, train, &test, rng, FitOptions{}.with_epochs(60).with_on_epoch(print));
//
// Per epoch: the KL weight from the recipe's warm-up, one shuffled pass over the training set (EpochRunner), an
// evaluation on the test set (if given), the gates' n_active, and a callback with all of it (EpochLog).
#pragma once

#include <functional>
#include <vector>

#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/training/epoch_runner.hpp"
#include "bayesdrop/training/recipe.hpp"

namespace bayesdrop {

/// What one epoch of fit() measured.
struct EpochLog {
  int epoch = 0;                ///< 1-based
  EpochResult train;            ///< training pass (cross-entropy and accuracy under the noise, ELBO parts)
  EpochResult test;             ///< evaluation pass on the test set (zeros without one)
  std::vector<double> lr;       ///< learning rate of each optimiser group at the start of the epoch
  double kl_weight = 1;         ///< KL warm-up weight used in the epoch
  std::vector<Index> n_active;  ///< every gate's n_active after the epoch, in model order
};

struct FitOptions {
  int epochs = 0;  ///< 0: the recipe's epochs
  ProgressFn progress;                          ///< called after every batch
  std::function<void(const EpochLog&)> on_epoch;  ///< called after every epoch
  /// Called before every epoch with its number, the groups' learning rates and the gates' n_active, as the methods'
  /// reference code logs "Epoch 60 start, learning rate 0.000100 n_active: [366, 202, 159]".
  std::function<void(int, const std::vector<double>&, const std::vector<Index>&)> on_epoch_start;

  FitOptions& with_epochs(int e) { epochs = e; return *this; }
  FitOptions& with_progress(ProgressFn p) { progress = std::move(p); return *this; }
  FitOptions& with_on_epoch(std::function<void(const EpochLog&)> f) { on_epoch = std::move(f); return *this; }
  FitOptions& with_on_epoch_start(
      std::function<void(int, const std::vector<double>&, const std::vector<Index>&)> f) {
    on_epoch_start = std::move(f);
    return *this;
  }
};

/// Every gate's n_active, in model order.
template <class Scalar>
std::vector<Index> gate_n_active(const Sequential<Scalar>& model) {
  std::vector<Index> active;
  for (Index i = 0; i < model.size(); ++i) {
    if (const auto* gate = dynamic_cast<const Gate<Scalar>*>(&model.layer(i))) active.push_back(gate->n_active());
  }
  return active;
}

/// Trains `model` with an optimiser the caller owns; `kl` gives the KL weight per (0-based) epoch.
template <class Scalar>
std::vector<EpochLog> fit(Sequential<Scalar>& model, Optimizer<Scalar>& optimizer, const Dataset<Scalar>& train,
                          const Dataset<Scalar>* test, Rng& rng, int epochs, Index batch, const KlSchedule& kl,
                          const FitOptions& options = {}) {
  if (epochs <= 0) throw InvalidArgument("fit: the number of epochs must be positive, got " + std::to_string(epochs));
  EpochRunner<Scalar> runner(EpochOptions{}.with_batch(batch));
  std::vector<EpochLog> history;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    EpochLog log;
    log.epoch = epoch;
    for (std::size_t g = 0; g < optimizer.groups().size(); ++g) log.lr.push_back(optimizer.current_lr(g));
    log.kl_weight = kl.at(epoch - 1);
    if (options.on_epoch_start) options.on_epoch_start(epoch, log.lr, gate_n_active(model));
    runner.set_kl_weight(log.kl_weight);
    log.train = runner.train_epoch(model, optimizer, train, rng, options.progress);
    if (test) log.test = runner.evaluate(model, *test);
    log.n_active = gate_n_active(model);
    if (options.on_epoch) options.on_epoch(log);
    history.push_back(std::move(log));
  }
  return history;
}

/// Trains `model` with Adam and the recipe's groups, schedule and KL warm-up for options.epochs (or the recipe's).
template <class Scalar>
std::vector<EpochLog> fit(Sequential<Scalar>& model, const Recipe& recipe, const Dataset<Scalar>& train,
                          const Dataset<Scalar>* test, Rng& rng, const FitOptions& options = {}) {
  const int epochs = options.epochs > 0 ? options.epochs : recipe.epochs;
  if (train.size() <= 0) throw InvalidArgument("fit: the training set is empty");
  const std::int64_t steps_per_epoch = std::int64_t((train.size() + recipe.batch - 1) / recipe.batch);
  Adam<Scalar> adam(recipe.param_groups(model, steps_per_epoch, epochs));
  return fit(model, adam, train, test, rng, epochs, recipe.batch, recipe.kl_schedule(epochs), options);
}

}  // namespace bayesdrop
