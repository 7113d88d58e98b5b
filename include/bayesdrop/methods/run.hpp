// A whole training run as one call: a method's network, its recipe with the pretrained start, a warm start from a
// saved model, checkpoints across both phases and a resume, as bayesdrop-mnist runs it.
//
//   RunSpec spec;
//   spec.model = {"mlp", "sbp"};
//   spec.recipe = recipe_for_dropout("sbp");
//   spec.recipe.pretrain_epochs = 2;        // the plain network first, as the SBP and BB reference code starts
//   spec.checkpoint = "sbp.ckpt";           // after every epoch of both phases
//   spec.resume_if_exists = true;           // continue the run in sbp.ckpt if there is one
//   RunResult<float> r = train_run<float>(spec, train, &test);
//   save_model(r.model, spec.model, "sbp.model");
//
// What it does, in this order (the order fixes every random draw, so a run repeats bit for bit):
//  1. threads: spec.threads, or with 0 the cores other processes leave idle, measured before the run and again
//     before every epoch of the method (core/thread_budget.hpp);
//  2. the network of spec.model from an Rng seeded with spec.seed;
//  3. with recipe.pretrain_epochs > 0, the same network without dropout (built next from the same generator) trained
//     that many epochs with spec.pretrain_recipe and no test set, and its weights and biases copied into the network
//     (copy_pretrained_weights; the noise parameters keep their initial values);
//  4. with init_from, the weights and biases of that model file (any family of the same network), and for a family
//     that starts from beta-Bernoulli gates (dbb) that file's gates too;
//  5. fit() with the recipe and spec.test each epoch.
// A checkpoint holds whichever phase was running (the pretraining's settings carry a marker); resume continues either
// phase, and a run resumed after its pretraining takes its weights from the checkpoint.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/thread_budget.hpp"
#include "bayesdrop/io/mnist.hpp"
#include "bayesdrop/models/saved_model.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/training/authors_choices.hpp"
#include "bayesdrop/training/checkpoint.hpp"
#include "bayesdrop/training/fit.hpp"
#include "bayesdrop/training/recipe.hpp"

namespace bayesdrop {

/// Which phase of a run a checkpoint holds.
enum class RunPhase { pretraining, method };

/// Everything that decides a run's numbers, and where it keeps its checkpoints.
struct RunSpec {
  ModelSpec model;  ///< network, dropout family and drop rates (models/zoo.hpp)
  Recipe recipe;    ///< the method's recipe (recipe_for_dropout); recipe.pretrain_epochs: the plain network's epochs
  /// The plain network's recipe during pretraining: the course assignment's Adam (1e-3, L2 1e-4) at a constant rate,
  /// as the reference code pretrains its base network.
  Recipe pretrain_recipe = Recipe::assignment().with_constant_lr();
  std::string init_from;  ///< a model file (with its spec) to start from; "": none. Excludes pretraining.
  std::uint64_t seed = 1;
  int threads = 0;  ///< threads of the products; 0: the idle cores, checked before every epoch of the method

  std::string checkpoint;  ///< write the run's state here after every epoch of either phase; "": none
  /// The caller's description of the run, stored in the checkpoint and compared on resume (e.g. its settings as
  /// JSON); the pretraining phase stores it behind pretraining_checkpoint_marker.
  std::string checkpoint_settings;
  std::string resume;             ///< continue the run checkpointed in this file; "": start afresh
  bool resume_if_exists = false;  ///< with resume: start afresh when the file does not exist (rather than throw)
  int stop_after = 0;             ///< end the session after this epoch of the run, pretraining first; 0: to the end
};

/// What the run reports as it goes; every member may be left empty.
template <class Scalar>
struct RunCallbacks {
  /// Once the network is built and the threads are set, before any epoch (e.g. to check the data fits it); the
  /// network is result.model, which the run goes on training.
  std::function<void(Sequential<Scalar>& model, int threads)> on_start;
  std::function<void(const EpochLog&)> on_pretrain_epoch;  ///< after each pretraining epoch
  std::function<void(const EpochLog&)> on_epoch;           ///< after each epoch of the method (and its checkpoint)
  std::function<void(int, const std::vector<double>&, const std::vector<Index>&)> on_epoch_start;  ///< as fit's
  ProgressFn progress;                                                      ///< after every batch of the method
  std::function<void(RunPhase phase, const std::string& path)> on_resume;   ///< a session resumes
  std::function<void(const ModelSpec& from, bool gates)> on_init_from;      ///< the warm start was loaded
  std::function<void(int before, int now, double others_busy)> on_threads;  ///< the thread count changed
  std::function<void(const std::string&)> on_warning;                       ///< e.g. dbb without its start
  /// With resume: called with the phase and settings the checkpoint holds before anything is restored; throw to
  /// refuse it (e.g. naming each field that differs). Unset: the settings must equal spec.checkpoint_settings byte
  /// for byte. An accepted checkpoint goes on writing its own settings.
  std::function<void(RunPhase phase, const std::string& stored)> check_resume;
};

/// The trained (or, when a session stops early, partly trained) network and its history.
template <class Scalar>
struct RunResult {
  Sequential<Scalar> model;
  std::vector<EpochLog> history;   ///< every epoch of the method, earlier sessions' included
  std::vector<int> epoch_threads;  ///< the thread count of each epoch of the method run in this session
  int epochs_done = 0;             ///< of the whole run, pretraining first
  int total_epochs = 0;            ///< recipe.pretrain_epochs + recipe.epochs
  bool finished() const { return epochs_done >= total_epochs; }
};

/// The text in front of the settings of a checkpoint written during pretraining.
inline constexpr std::string_view pretraining_checkpoint_marker = "pretraining of: ";

/// The phase and the caller's settings of checkpoint metadata `text` (read_checkpoint_metadata). Checkpoints of
/// bayesdrop-mnist before this header marked their pretraining with "phase":"pretrain" in their JSON settings; they
/// read as pretraining too, their settings unchanged.
inline std::pair<RunPhase, std::string> checkpoint_phase(const std::string& text) {
  if (text.compare(0, pretraining_checkpoint_marker.size(), pretraining_checkpoint_marker) == 0) {
    return {RunPhase::pretraining, text.substr(pretraining_checkpoint_marker.size())};
  }
  const bool older_pretraining = text.find("\"phase\":\"pretrain\"") != std::string::npos;
  return {older_pretraining ? RunPhase::pretraining : RunPhase::method, text};
}

/// Starts `model` from the model file at `path`: its weights and biases, and for a family that starts from trained
/// beta-Bernoulli gates (DropoutFamily::start_family) those gates too. Returns the file's spec. Throws
/// InvalidArgument naming the file when the networks differ.
template <class Scalar>
ModelSpec warm_start(Sequential<Scalar>& model, const std::string& path) {
  const ModelSpec from_spec = read_model_spec(path);
  Sequential<Scalar> from = load_model_file<Scalar>(path);
  try {
    copy_pretrained_weights(from, model);
    if (!dependent_gates(model).empty()) copy_beta_bernoulli_gates(from, model);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument("warm start from " + path + " (" + from_spec.model + ", " + from_spec.dropout +
                          "): " + e.what());
  }
  return from_spec;
}

namespace detail {

inline void check_run_spec(const RunSpec& spec) {
  if (spec.recipe.pretrain_epochs < 0) throw InvalidArgument("train_run: recipe.pretrain_epochs must be >= 0");
  if (spec.recipe.pretrain_epochs > 0 && !spec.init_from.empty()) {
    throw InvalidArgument("train_run: a run starts from pretraining or from init_from, not both");
  }
  if (spec.threads < 0) throw InvalidArgument("train_run: threads must be >= 0 (0: the idle cores)");
  if (spec.stop_after < 0) throw InvalidArgument("train_run: stop_after must be >= 0");
  if (spec.stop_after > 0 && spec.checkpoint.empty()) {
    throw InvalidArgument("train_run: stop_after ends a session to be resumed later: it needs a checkpoint");
  }
}

// The pretraining phase (step 3): returns false when stop_after ends the session inside it.
template <class Scalar>
bool pretrain_run(Sequential<Scalar>& model, const RunSpec& spec, const std::string& stored, bool resume,
                  const Dataset<Scalar>& train, Rng& rng, const RunCallbacks<Scalar>& cb) {
  ModelSpec plain_spec = spec.model;
  plain_spec.dropout = "none";
  Sequential<Scalar> plain = build_model<Scalar>(plain_spec, rng);
  const int epochs = spec.recipe.pretrain_epochs;
  FitOptions options;
  options.with_epochs(epochs);
  const std::string settings = std::string(pretraining_checkpoint_marker) + spec.checkpoint_settings;
  if (!spec.checkpoint.empty()) options.with_checkpoint(spec.checkpoint, settings);
  if (resume) {
    options.with_resume(spec.resume);
    options.checkpoint_metadata = stored;
    if (cb.on_resume) cb.on_resume(RunPhase::pretraining, spec.resume);
  }
  const bool stops_inside = spec.stop_after > 0 && spec.stop_after <= epochs;
  if (stops_inside) options.with_stop_after(spec.stop_after);
  if (cb.on_pretrain_epoch) options.with_on_epoch(cb.on_pretrain_epoch);
  fit(plain, spec.pretrain_recipe, train, static_cast<const Dataset<Scalar>*>(nullptr), rng, options);
  if (stops_inside) return false;
  copy_pretrained_weights(plain, model);
  return true;
}

}  // namespace detail

/// Runs `spec` on `train`, evaluating on `test` (may be null) after every epoch of the method. Returns the network
/// and its history; when stop_after ends the session early, result.finished() is false and the checkpoint holds the
/// run (resume it with the same spec and resume = checkpoint). Throws InvalidArgument for an inconsistent spec or a
/// checkpoint of another run, DataError for unreadable files.
template <class Scalar>
RunResult<Scalar> train_run(const RunSpec& spec, const Dataset<Scalar>& train, const Dataset<Scalar>* test,
                            const RunCallbacks<Scalar>& cb = {}) {
  detail::check_run_spec(spec);
  ThreadBudget budget;
  const bool auto_threads = spec.threads == 0;
  Eigen::setNbThreads(auto_threads ? budget.measure(std::chrono::milliseconds(200)) : spec.threads);

  Rng rng(spec.seed);
  RunResult<Scalar> result{build_model<Scalar>(spec.model, rng), {}, {}, 0, 0};
  Sequential<Scalar>& model = result.model;
  const int pretrain = spec.recipe.pretrain_epochs;
  result.total_epochs = pretrain + spec.recipe.epochs;
  if (cb.on_start) cb.on_start(model, Eigen::nbThreads());

  const bool resuming = !spec.resume.empty() && !(spec.resume_if_exists && !std::filesystem::exists(spec.resume));
  RunPhase phase = RunPhase::method;
  std::string stored;  // the checkpoint's metadata, which a resumed run goes on writing
  if (resuming) {
    stored = read_checkpoint_metadata(spec.resume);
    const auto [stored_phase, settings] = checkpoint_phase(stored);
    phase = stored_phase;
    if (cb.check_resume) cb.check_resume(phase, settings);
    if (phase == RunPhase::pretraining && pretrain == 0) {
      throw InvalidArgument("resume " + spec.resume +
                            ": the checkpoint holds a run's pretraining; resume with that run's recipe, its "
                            "pretrain_epochs included");
    }
    if (!cb.check_resume && settings != spec.checkpoint_settings) {
      throw InvalidArgument("resume " + spec.resume + ": written by a run with other settings (checkpoint: " +
                            settings.substr(0, 400) + "; this run: " + spec.checkpoint_settings.substr(0, 400) +
                            "); resume with the spec of the run that wrote it, or start afresh");
    }
  }
  const bool resume_pretraining = resuming && phase == RunPhase::pretraining;
  if (pretrain > 0 && (!resuming || resume_pretraining) &&
      !detail::pretrain_run(model, spec, resume_pretraining ? stored : std::string(), resume_pretraining, train, rng,
                            cb)) {
    result.epochs_done = spec.stop_after;
    return result;
  }
  if (!spec.init_from.empty() && !resuming) {
    const ModelSpec from = warm_start(model, spec.init_from);
    if (cb.on_init_from) cb.on_init_from(from, !dependent_gates(model).empty());
  }
  if (spec.init_from.empty() && !dependent_gates(model).empty() && cb.on_warning) {
    cb.on_warning("the " + spec.model.dropout +
                  " family starts from trained beta-Bernoulli gates, and none were given (init_from): its gates "
                  "start untrained and stay frozen; train a bbd model first and start from it");
  }

  FitOptions options;
  options.with_epochs(spec.recipe.epochs).with_progress(cb.progress);
  if (!spec.checkpoint.empty()) options.with_checkpoint(spec.checkpoint, spec.checkpoint_settings);
  if (resuming && !resume_pretraining) {
    options.with_resume(spec.resume);
    options.checkpoint_metadata = stored;
    if (cb.on_resume) cb.on_resume(RunPhase::method, spec.resume);
  }
  options.with_on_epoch(cb.on_epoch);
  options.with_on_epoch_start([&](int epoch, const std::vector<double>& lr, const std::vector<Index>& n) {
    if (auto_threads) {
      const int before = Eigen::nbThreads(), now = budget.suggest();
      if (now != before) {
        Eigen::setNbThreads(now);
        if (cb.on_threads) cb.on_threads(before, now, budget.others_busy_cores());
      }
    }
    result.epoch_threads.push_back(Eigen::nbThreads());
    if (cb.on_epoch_start) cb.on_epoch_start(epoch, lr, n);
  });
  // Epoch numbers count the pretraining's first; a stop_after already passed ends the session after one epoch.
  if (spec.stop_after > 0) options.with_stop_after(std::max(1, spec.stop_after - pretrain));
  result.history = fit(model, spec.recipe, train, test, rng, options);
  result.epochs_done = pretrain + int(result.history.size());
  return result;
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template RunResult<float> train_run(const RunSpec&, const Dataset<float>&, const Dataset<float>*,
                                           const RunCallbacks<float>&);
extern template RunResult<double> train_run(const RunSpec&, const Dataset<double>&, const Dataset<double>*,
                                            const RunCallbacks<double>&);
extern template ModelSpec warm_start(Sequential<float>&, const std::string&);
extern template ModelSpec warm_start(Sequential<double>&, const std::string&);
#endif

}  // namespace bayesdrop
