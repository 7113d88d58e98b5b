// Training a model for a number of epochs with the ELBO loss: the loop every example and test shares.
//
//   Recipe recipe = recipe_for_dropout("bbd");   // training/family_recipes.hpp
//   auto history = fit(model, recipe, train, &test, rng, FitOptions{}.with_epochs(60).with_on_epoch(print));
//   auto history = fit(model, adam, train, &test, rng, FitOptions{}.with_epochs(60).with_batch(100));
//
// Per epoch: the KL weight from the recipe's warm-up, one shuffled pass over the training set (EpochRunner), an
// evaluation on the test set (if given), the gates' n_active, a checkpoint (if asked for), and a callback with all of
// it (EpochLog).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/training/authors_choices.hpp"
#include "bayesdrop/training/checkpoint.hpp"
#include "bayesdrop/training/epoch_log.hpp"
#include "bayesdrop/training/epoch_runner.hpp"
#include "bayesdrop/training/recipe.hpp"

namespace bayesdrop {

/// How fit() runs: its length, batch and KL weights (given with an optimiser, or taken from the recipe), callbacks,
/// and checkpoints. Every field has a with_ setter.
struct FitOptions {
  int epochs = 0;                ///< epochs of the run, > 0 with an optimiser; 0 with a recipe: the recipe's
  Index batch = 0;               ///< mini-batch size; 0: the recipe's (100 with an optimiser)
  std::optional<KlSchedule> kl;  ///< KL weight per (0-based) epoch; unset: the recipe's warm-up (1 with an optimiser)
  ProgressFn progress;           ///< called after every batch
  std::function<void(const EpochLog&)> on_epoch;  ///< called after every epoch (and after its checkpoint)
  /// Called before every epoch with its number, the groups' learning rates and the gates' n_active, as the methods'
  /// reference code logs "Epoch 60 start, learning rate 0.000100 n_active: [366, 202, 159]".
  std::function<void(int, const std::vector<double>&, const std::vector<Index>&)> on_epoch_start;
  std::string checkpoint;           ///< write a checkpoint here after every epoch (training/checkpoint.hpp); "": none
  std::string checkpoint_metadata;  ///< the caller's settings, stored in the checkpoint and compared on resume
  std::string resume;               ///< continue the run checkpointed here (with the same settings); "": start afresh
  int stop_after = 0;  ///< return after this epoch of the run, its checkpoint written (resume later); 0: run to the end
  bool shuffle = true;  ///< reshuffle the training set every epoch; false: its stored order (EpochOptions::shuffle)

  FitOptions& with_epochs(int e) {
    epochs = e;
    return *this;
  }
  FitOptions& with_batch(Index b) {
    batch = b;
    return *this;
  }
  FitOptions& with_kl(const KlSchedule& k) {
    kl = k;
    return *this;
  }
  FitOptions& with_progress(ProgressFn p) {
    progress = std::move(p);
    return *this;
  }
  FitOptions& with_on_epoch(std::function<void(const EpochLog&)> f) {
    on_epoch = std::move(f);
    return *this;
  }
  FitOptions& with_on_epoch_start(std::function<void(int, const std::vector<double>&, const std::vector<Index>&)> f) {
    on_epoch_start = std::move(f);
    return *this;
  }
  /// Writes a checkpoint to `path` after every epoch; `metadata` (e.g. the program's settings as JSON) is stored in
  /// it, and a resumed run must pass the same.
  FitOptions& with_checkpoint(std::string path, std::string metadata = "") {
    checkpoint = std::move(path);
    checkpoint_metadata = std::move(metadata);
    return *this;
  }
  /// Continues the run checkpointed at `path`: model, optimiser, generator, epoch and history are restored from it
  /// and training goes on from the next epoch. The run must be set up as the one that wrote it (same model, recipe,
  /// epochs, batch, checkpoint metadata); the model's and generator's state before the call do not matter.
  FitOptions& with_resume(std::string path) {
    resume = std::move(path);
    return *this;
  }
  /// Stops after epoch `epoch` of the run (a run split into sessions: resume it from its checkpoint later).
  FitOptions& with_stop_after(int epoch) {
    stop_after = epoch;
    return *this;
  }
  FitOptions& with_shuffle(bool on) {
    shuffle = on;
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

/// Every gate's n_active_per_example() (the units kept per example by the evaluations since reset_gate_activity(),
/// averaged; n_active() for gates whose evaluation does not depend on the input), in model order.
template <class Scalar>
std::vector<double> gate_n_active_per_example(const Sequential<Scalar>& model) {
  std::vector<double> active;
  for (Index i = 0; i < model.size(); ++i) {
    if (const auto* gate = dynamic_cast<const Gate<Scalar>*>(&model.layer(i))) {
      active.push_back(gate->n_active_per_example());
    }
  }
  return active;
}

/// Starts a new tally of n_active_per_example() in every gate.
template <class Scalar>
void reset_gate_activity(Sequential<Scalar>& model) {
  for (Index i = 0; i < model.size(); ++i) {
    if (auto* gate = dynamic_cast<Gate<Scalar>*>(&model.layer(i))) gate->reset_activity();
  }
}

/// Trains `model` with an optimiser the caller owns, for options.epochs epochs of options.batch examples with the
/// KL weights options.kl. Returns the history of the whole run (with options.resume, the checkpoint's epochs too).
template <class Scalar>
std::vector<EpochLog> fit(Sequential<Scalar>& model, Optimizer<Scalar>& optimizer, const Dataset<Scalar>& train,
                          const Dataset<Scalar>* test, Rng& rng, const FitOptions& options) {
  const int epochs = options.epochs;
  if (epochs <= 0) throw InvalidArgument("fit: the number of epochs must be positive, got " + std::to_string(epochs));
  const Index batch = options.batch > 0 ? options.batch : 100;
  const KlSchedule kl = options.kl.value_or(KlSchedule::constant(1.0));
  EpochRunner<Scalar> runner(EpochOptions{}.with_batch(batch).with_shuffle(options.shuffle));
  CheckpointInfo info;
  info.epochs = epochs;
  info.batch = batch;
  info.metadata = options.checkpoint_metadata;
  if (!options.resume.empty()) info = load_checkpoint(options.resume, model, optimizer, rng, info);
  std::vector<EpochLog>& history = info.history;
  for (int epoch = info.epochs_done + 1; epoch <= epochs; ++epoch) {
    EpochLog log;
    log.epoch = epoch;
    for (std::size_t g = 0; g < optimizer.groups().size(); ++g) log.lr.push_back(optimizer.current_lr(g));
    log.kl_weight = kl.at(epoch - 1);
    if (options.on_epoch_start) options.on_epoch_start(epoch, log.lr, gate_n_active(model));
    runner.set_kl_weight(log.kl_weight);
    log.train = runner.train_epoch(model, optimizer, train, rng, options.progress);
    if (test) log.test = runner.evaluate(model, *test);
    log.n_active = gate_n_active(model);
    history.push_back(std::move(log));
    info.epochs_done = epoch;
    if (!options.checkpoint.empty()) save_checkpoint(options.checkpoint, model, optimizer, rng, info);
    if (options.on_epoch) options.on_epoch(history.back());
    if (options.stop_after > 0 && epoch >= options.stop_after) break;
  }
  // history refers to a member of the local `info`: no implicit move applies, so the move is needed.
  // cppcheck-suppress returnStdMoveLocal
  return std::move(history);
}

/// The Adam options of a recipe (its beta1 and eps; beta2 at Adam's default).
inline AdamOptions adam_options(const Recipe& recipe) {
  return AdamOptions{}.with_betas(recipe.adam_beta1, 0.999).with_eps(recipe.adam_eps);
}

/// Trains `model` with Adam (the recipe's beta1) and the recipe's groups, schedule, batch and KL warm-up for
/// options.epochs (or the recipe's), after applying the recipe's model choices (train_clip, kl_scales:
/// apply_model_choices); options.batch and options.kl, when set, override the recipe's, and the batches come in the
/// stored order when either options.shuffle or recipe.shuffle is false. Pretraining
/// (recipe.pretrain_epochs) is the caller's: see copy_pretrained_weights.
template <class Scalar>
std::vector<EpochLog> fit(Sequential<Scalar>& model, const Recipe& recipe, const Dataset<Scalar>& train,
                          const Dataset<Scalar>* test, Rng& rng, const FitOptions& options = {}) {
  FitOptions run = options;
  if (run.epochs <= 0) run.epochs = recipe.epochs;
  if (run.batch <= 0) run.batch = recipe.batch;
  if (!run.kl) run.kl = recipe.kl_schedule(run.epochs);
  run.shuffle = run.shuffle && recipe.shuffle;
  if (train.size() <= 0) throw InvalidArgument("fit: the training set is empty");
  const std::int64_t steps_per_epoch = std::int64_t((train.size() + run.batch - 1) / run.batch);
  apply_model_choices(model, recipe);
  Adam<Scalar> adam(recipe.param_groups(model, steps_per_epoch, run.epochs), adam_options(recipe));
  return fit(model, adam, train, test, rng, run);
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template std::vector<EpochLog> fit(Sequential<float>&, Optimizer<float>&, const Dataset<float>&,
                                          const Dataset<float>*, Rng&, const FitOptions&);
extern template std::vector<EpochLog> fit(Sequential<float>&, const Recipe&, const Dataset<float>&,
                                          const Dataset<float>*, Rng&, const FitOptions&);
extern template std::vector<EpochLog> fit(Sequential<double>&, Optimizer<double>&, const Dataset<double>&,
                                          const Dataset<double>*, Rng&, const FitOptions&);
extern template std::vector<EpochLog> fit(Sequential<double>&, const Recipe&, const Dataset<double>&,
                                          const Dataset<double>*, Rng&, const FitOptions&);
#endif

}  // namespace bayesdrop
