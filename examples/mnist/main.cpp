// bayesdrop-mnist: trains a network on MNIST or Fashion-MNIST and reports test accuracy and what was pruned.
//
//   bayesdrop-mnist --data ~/mnist --dropout bbd --report bbd.json --pictures out/ --save bbd.model
//   bayesdrop-mnist --data ~/mnist --load bbd.model            (evaluate a saved model again)
//   bayesdrop-mnist --data ~/mnist --dropout dbb --init-from bbd.model --save dbb.model
//                                                              (dependent beta-Bernoulli from a trained bbd model)
//
// The defaults of every dropout type are its method's recipe (bayesdrop/training/recipe.hpp); flags override them.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../common/flags.hpp"
#include "../common/listing.hpp"
#include "../common/model_metadata.hpp"
#include "../common/outputs.hpp"
#include "../common/run_checks.hpp"
#include "authors_flags.hpp"
#include "bayesdrop/bayesdrop.hpp"
#include "pictures.hpp"
#include "report.hpp"

namespace bd = bayesdrop;
using Scalar = float;

namespace {

struct Settings {
  std::string data_dir;
  std::string dataset = "mnist";
  bd::ModelSpec spec;
  int epochs = 0;            // 0: the recipe's
  bd::Index batch = 0;       // 0: the recipe's
  double lr = -1;            // < 0: the recipe's
  double lr_noise = -1;      // < 0: the recipe's
  double weight_decay = -1;  // < 0: the recipe's
  std::uint64_t seed = 1;
  std::string threads = "auto";   // or a count; auto: the cores other processes leave idle, checked every epoch
  std::string threads_requested;  // --threads as given; `threads` is capped at the cores available
  std::string lr_schedule = "recipe";
  int pretrain = 0;       // epochs of the plain network before the gates, as the BB/SBP reference code starts
  std::string init_from;  // a saved model whose weights (and bbd gates, for dbb) the run starts from
  std::string report, save, load, pictures;
  std::string checkpoint, resume;       // --checkpoint FILE after every epoch; --resume FILE continues from one
  trainer::AuthorsFlags authors;        // --train-clip, --sbp-adam, --kl-scales
  int stop_after = 0;                   // --stop-after N: end the session after epoch N (resume it later)
  std::string train_crc32, test_crc32;  // the data's digests (run_checks::data_crc32), with --checkpoint or --resume
  std::string init_from_crc32;          // the --init-from file's (run_checks::file_crc32), likewise
  bool quiet = false;
};

// A one-line progress bar on stderr, redrawn in place; only when stderr is a terminal. It shows the epoch, the
// batches done and the running cross-entropy and accuracy of the epoch so far.
class ProgressBar {
 public:
  ProgressBar(bool enabled, int epochs) : enabled_(enabled && isatty(fileno(stderr))), epochs_(epochs) {}
  void operator()(const bd::BatchProgress& p) const {
    if (p.done == 1) ++epoch_;  // a new pass begins
    if (!enabled_ || (p.done != p.total && p.done % 10 != 0)) return;
    constexpr int kWidth = 30;
    const int filled = int(kWidth * p.done / p.total);
    std::fprintf(stderr, "\repoch %d/%d [%s%s] %ld/%ld cent %.4f acc %.4f", epoch_, epochs_,
                 std::string(std::size_t(filled), '#').c_str(), std::string(std::size_t(kWidth - filled), '.').c_str(),
                 long(p.done), long(p.total), p.cross_entropy, p.accuracy);
    if (p.done == p.total) std::fprintf(stderr, "\r%*s\r", kWidth + 70, "");
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  int epochs_;
  mutable int epoch_ = 0;
};

nlohmann::json spec_json(const bd::ModelSpec& s) {
  return {{"model", s.model}, {"dropout", s.dropout}, {"p_input", s.p_input}, {"p_hidden", s.p_hidden}};
}

// A saved model names its architecture in the file's metadata, so --load needs no other flags.
bd::ModelSpec spec_from_file(const std::string& path) {
  return model_metadata::read(path).spec;
}

// Every output is checked (its folder created) before the work, so an unwritable path costs no training.
void check_outputs(const Settings& opt) {
  if (!opt.report.empty()) outputs::check_output_file(opt.report, "--report");
  if (!opt.save.empty()) outputs::check_replaced_file(opt.save, "--save");
  if (!opt.pictures.empty()) outputs::check_output_folder(opt.pictures, "--pictures");
  if (!opt.checkpoint.empty()) outputs::check_replaced_file(opt.checkpoint, "--checkpoint");
}

// No output may be one of the run's inputs (the data files, --init-from, --resume, --load) or another output: refused
// before anything is read or written, naming both flags. --checkpoint onto --resume is how a resumed run goes on
// checkpointing into its file.
void check_outputs_apart(const Settings& opt, const std::string& data_dir) {
  std::vector<outputs::FlagPath> inputs = run_checks::data_files(data_dir, "--data", {"train", "t10k"});
  inputs.push_back({"--init-from", opt.init_from});
  inputs.push_back({"--resume", opt.resume});
  inputs.push_back({"--load", opt.load});
  const std::string picture = opt.pictures.empty() ? "" : opt.pictures + "/input_pixels.png";
  outputs::check_outputs_apart(
      {{"--checkpoint", opt.checkpoint}, {"--save", opt.save}, {"--report", opt.report}, {"--pictures", picture}},
      inputs, {{"--checkpoint", "--resume"}});
}

// The file the checkpoints replace: --checkpoint's, or the file at the end of its chain of symlinks (the link stays a
// link), as --save follows one.
std::string checkpoint_file(const Settings& opt) {
  return opt.checkpoint.empty() ? "" : outputs::write_target(opt.checkpoint, "--checkpoint").string();
}

// Whether the file at `path` holds a checkpoint (starts with the checkpoint magic; damaged or not).
bool holds_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(bd::detail::checkpoint_magic.size(), '\0');
  return in.read(head.data(), std::streamsize(head.size())) && head == bd::detail::checkpoint_magic;
}

// A run started without --resume over a file that holds a checkpoint would replace that run's progress after its
// first epoch: refused, saying how to continue it or to start over.
void check_not_restarted(const Settings& opt) {
  if (opt.checkpoint.empty() || !opt.resume.empty() || !holds_checkpoint(opt.checkpoint)) return;
  throw bd::InvalidArgument("--checkpoint '" + opt.checkpoint +
                            "' already holds a checkpoint of a run; pass --resume " + opt.checkpoint +
                            " to continue it, or remove the file to start over");
}

bd::Recipe recipe_for(const Settings& opt) {
  bd::Recipe r = bd::recipe_for_dropout(opt.spec.dropout, opt.spec.model);
  trainer::apply_authors_flags(opt.authors, r);
  if (opt.epochs > 0) r.epochs = opt.epochs;
  if (opt.batch > 0) r.batch = opt.batch;
  if (opt.lr > 0) {
    if (opt.lr_noise <= 0) r.lr_noise *= opt.lr / r.lr_weights;  // the noise keeps its ratio to the weights
    r.lr_weights = opt.lr;
  }
  if (opt.lr_noise > 0) r.lr_noise = opt.lr_noise;
  if (opt.weight_decay >= 0) r.weight_decay = opt.weight_decay;
  if (opt.lr_schedule == "constant") r = r.with_constant_lr();
  return r;
}

// --threads as a count, 0 for auto.
int fixed_threads(const Settings& opt) {
  return opt.threads == "auto" ? 0 : std::stoi(opt.threads);
}

// --threads N above the cores available runs N threads on fewer cores, each product waiting for the slowest (40x to
// 400x slower on 2 cores): capped at the cores, with a warning; the report and the checkpoint's settings record the
// count that ran, "threads_requested" the flag.
void cap_threads(Settings& opt) {
  opt.threads_requested = opt.threads;
  if (fixed_threads(opt) > 0) {
    opt.threads = std::to_string(run_checks::capped_threads(fixed_threads(opt), "bayesdrop-mnist"));
  }
}

// Everything that decides a run's numbers, stored in its checkpoint: --resume refuses a checkpoint of other settings.
nlohmann::json run_settings(const Settings& opt, const bd::Recipe& recipe) {
  nlohmann::json s = spec_json(opt.spec);
  s.update({{"dataset", opt.dataset},
            {"recipe", recipe.name},
            {"epochs", recipe.epochs},
            {"batch", recipe.batch},
            {"lr", recipe.lr_weights},
            {"lr_noise", recipe.lr_noise},
            {"weight_decay", recipe.weight_decay},
            {"lr_schedule", opt.lr_schedule},
            {"seed", opt.seed},
            {"pretrain_epochs", opt.pretrain},
            {"adam_beta1", recipe.adam_beta1},
            {"train_clip", recipe.train_clip},
            {"kl_scales", recipe.kl_scales},
            {"threads", fixed_threads(opt) > 0 ? nlohmann::json(fixed_threads(opt)) : nlohmann::json("auto")},
            {"train_data_crc32", opt.train_crc32},
            {"test_data_crc32", opt.test_crc32}});
  if (!opt.init_from.empty()) {                  // absent otherwise
    s["init_from_crc32"] = opt.init_from_crc32;  // compared: the file's content
    s["init_from"] = opt.init_from;              // not compared (a copy elsewhere is the same start): for messages
  }
  return s;
}

// The settings a checkpoint of the pretraining phase carries: the run's, marked as that phase.
nlohmann::json pretraining_settings(nlohmann::json settings) {
  settings["phase"] = "pretrain";
  return settings;
}

// Whether the checkpoint at `path` was written during a run's pretraining (pretrain_weights).
bool holds_pretraining(const std::string& path) {
  const auto settings = nlohmann::json::parse(bd::read_checkpoint_metadata(path), nullptr, false);
  return settings.is_object() && settings.value("phase", "") == "pretrain";
}

// What a differing digest field means, after its values in a settings mismatch.
std::string digest_note(const std::string& key, const nlohmann::json& theirs, const nlohmann::json& mine,
                        const std::string& data_dir) {
  if (key == "train_data_crc32" || key == "test_data_crc32") {
    return std::string(" (the ") + (key[1] == 'r' ? "training" : "test") + " images and labels of --data " + data_dir +
           " are not the data the run was trained on)";
  }
  if (key == "init_from_crc32") {
    return " (--init-from " + mine.value("init_from", std::string()) + " holds another model than the run started " +
           "from, " + theirs.value("init_from", std::string("?")) + " as it was then)";
  }
  return "";
}

// --resume of a checkpoint written with other settings: refused naming each field that differs and its two values,
// rather than printing both settings whole. `mine`: the settings this run would write (its phase's). "init_from" (a
// path, for messages) is not compared: "init_from_crc32" is. Returns the checkpoint's settings text, which the
// resumed run goes on writing (the library compares it byte for byte).
std::string check_resume_settings(const std::string& path, const nlohmann::json& mine, const std::string& data_dir) {
  const std::string text = bd::read_checkpoint_metadata(path);
  auto theirs = nlohmann::json::parse(text, nullptr, false);
  auto compared = mine;
  if (theirs.is_object()) theirs.erase("init_from");
  compared.erase("init_from");
  // Not this program's settings: the library's check says so.
  if (!theirs.is_object()) return mine.dump();
  if (theirs == compared) return text;
  const auto their_paths = nlohmann::json::parse(text);
  bool older = false;  // a digest field absent: a checkpoint written before the trainer recorded it
  std::string diff;
  auto add = [&diff](const std::string& item) { diff += (diff.empty() ? "" : "; ") + item; };
  for (const auto& [key, value] : compared.items()) {
    const auto it = theirs.find(key);
    const bool digest = key.size() > 6 && key.compare(key.size() - 6, 6, "_crc32") == 0;
    if (it == theirs.end()) {
      add("\"" + key + "\" is absent in the checkpoint but " + value.dump() + " here");
      older = older || digest;
    } else if (*it != value) {
      add("\"" + key + "\" is " + it->dump() + " in the checkpoint but " + value.dump() + " here" +
          digest_note(key, their_paths, mine, data_dir));
    }
  }
  for (const auto& [key, value] : theirs.items()) {
    if (!compared.contains(key)) add("\"" + key + "\" is " + value.dump() + " in the checkpoint but absent here");
  }
  if (older) {
    diff +=
        " (the checkpoint was written before the trainer recorded the digests of the data and the --init-from "
        "file, which it checks now)";
  }
  throw bd::InvalidArgument("--resume " + path + ": written by a run with other settings: " + diff +
                            "; resume with the flags of the run that wrote it, or start afresh without --resume");
}

// The reference code's line; the rate is the gates' (the last group) when there are gates.
void print_epoch_start(int epoch, const std::vector<double>& lr, const std::vector<bd::Index>& n_active) {
  if (n_active.empty()) return;
  std::printf("Epoch %d start, learning rate %.6f n_active: [%s]\n", epoch, lr.back(), trainer::join(n_active).c_str());
}

// The reference code of beta-Bernoulli dropout and SBP starts from a pretrained plain network: train the same network
// without gates for `opt.pretrain` epochs (Adam 1e-3, L2 1e-4, constant rate) and copy its weights and biases into
// `model`. With --checkpoint the pretraining is checkpointed like the rest of the run, in the same file, its settings
// marked "phase": "pretrain"; `resume` continues it from opt.resume. Returns false when --stop-after ends the session
// inside the pretraining (the epochs count the pretraining's first).
bool pretrain_weights(bd::Sequential<Scalar>& model, const Settings& opt, const nlohmann::json& settings,
                      const bd::Dataset<Scalar>& train, bd::Rng& rng, bool resume) {
  bd::ModelSpec plain_spec = opt.spec;
  plain_spec.dropout = "none";
  bd::Sequential<Scalar> plain = bd::build_model<Scalar>(plain_spec, rng);
  bd::FitOptions options;
  options.with_epochs(opt.pretrain);
  const std::string metadata = pretraining_settings(settings).dump();
  if (!opt.checkpoint.empty()) options.with_checkpoint(checkpoint_file(opt), metadata);
  if (resume) {
    options.with_resume(opt.resume);
    options.checkpoint_metadata = metadata;
    if (!opt.quiet) std::printf("resuming the pretraining from %s\n", opt.resume.c_str());
  }
  const bool stops_inside = opt.stop_after > 0 && opt.stop_after <= opt.pretrain;
  if (stops_inside) options.with_stop_after(opt.stop_after);
  if (!opt.quiet) {
    options.with_on_epoch([](const bd::EpochLog& log) {
      std::printf("pretrain: epoch %d, (%.3f secs), cent %.6f, acc %.6f\n", log.epoch, log.train.seconds,
                  log.train.cross_entropy, log.train.accuracy);
      std::fflush(stdout);
    });
  }
  bd::fit(plain, bd::Recipe::assignment().with_constant_lr(), train, static_cast<const bd::Dataset<Scalar>*>(nullptr),
          rng, options);
  if (stops_inside) return false;
  bd::copy_pretrained_weights(plain, model);  // noise parameters keep their initial values (sparse VD: -10)
  return true;
}

// --init-from: the run starts from the weights and biases of a saved model of the same network (any dropout type:
// the plain network's, as the reference code's pretrained start), and a dbb model also from a bbd model's gates, as the
// dependent beta-Bernoulli authors always start (bayesdrop/training/authors_choices.hpp).
void init_from(bd::Sequential<Scalar>& model, const std::string& path, bool quiet) {
  const bd::ModelSpec from_spec = spec_from_file(path);
  bd::Rng scratch(0);  // the values are overwritten by the file's
  bd::Sequential<Scalar> from = bd::build_model<Scalar>(from_spec, scratch);
  bd::load_model(from, path);
  try {
    bd::copy_pretrained_weights(from, model);
    if (!bd::dependent_gates(model).empty()) bd::copy_beta_bernoulli_gates(from, model);
  } catch (const bd::InvalidArgument& e) {
    throw bd::InvalidArgument("--init-from " + path + " (" + from_spec.model + ", " + from_spec.dropout +
                              "): " + e.what());
  }
  if (!quiet) {
    std::printf("starting from %s (%s, %s): weights and biases%s\n", path.c_str(), from_spec.model.c_str(),
                from_spec.dropout.c_str(), bd::dependent_gates(model).empty() ? "" : " and beta-Bernoulli gates");
  }
}

void print_epoch(const bd::EpochLog& log) {
  std::printf("train: epoch %d, (%.3f secs), cent %.6f, acc %.6f, kl %.1f, kl weight %.3f, loss %.6f\n", log.epoch,
              log.train.seconds, log.train.cross_entropy, log.train.accuracy, log.train.elbo.kl, log.kl_weight,
              log.train.elbo.total());
  std::printf("test:  epoch %d, cent %.6f, acc %.6f\n", log.epoch, log.test.cross_entropy, log.test.accuracy);
  std::fflush(stdout);
}

int run(Settings opt) {
  // --threads auto: as many threads as the cores that other processes leave idle, measured now and after every epoch
  // (bayesdrop/core/thread_budget.hpp); a second thread on a busy core would stall every product.
  bd::ThreadBudget budget;
  cap_threads(opt);
  const bool auto_threads = fixed_threads(opt) == 0;
  Eigen::setNbThreads(auto_threads ? budget.measure(std::chrono::milliseconds(200)) : fixed_threads(opt));
  const std::string dir = opt.data_dir.empty() ? bd::default_data_dir(opt.dataset) : opt.data_dir;
  check_outputs_apart(opt, dir);
  // One writer per checkpoint: a second run given the same --checkpoint is refused now, naming the first; the
  // temporary files of a writer killed mid-write are removed (none can be writing now).
  outputs::FileLock checkpoint_lock;
  if (!opt.checkpoint.empty()) {
    outputs::check_replaced_file(opt.checkpoint, "--checkpoint");
    checkpoint_lock = outputs::FileLock(opt.checkpoint, "--checkpoint");
    bd::remove_stale_temps(opt.checkpoint);
  }
  check_not_restarted(opt);
  if (!opt.load.empty()) opt.spec = spec_from_file(opt.load);
  check_outputs(opt);
  const auto train = run_checks::load_data<Scalar>(dir, bd::Split::train, "--data");
  const auto test = run_checks::load_data<Scalar>(dir, bd::Split::test, "--data");
  // A checkpoint records the data and the --init-from file by content: --resume refuses others of the same size.
  if (opt.load.empty() && (!opt.checkpoint.empty() || !opt.resume.empty())) {
    opt.train_crc32 = run_checks::data_crc32(train);
    opt.test_crc32 = run_checks::data_crc32(test);
    if (!opt.init_from.empty()) opt.init_from_crc32 = run_checks::file_crc32(opt.init_from);
  }
  const bd::Recipe recipe = recipe_for(opt);
  if (!opt.quiet) {
    std::printf("%s from %s: %ld training and %ld test images; model %s, dropout %s, recipe %s, %d thread(s)%s\n",
                opt.dataset.c_str(), dir.c_str(), long(train.size()), long(test.size()), opt.spec.model.c_str(),
                opt.spec.dropout.c_str(), recipe.name.c_str(), Eigen::nbThreads(),
                auto_threads ? " (auto: as many as the idle cores)" : "");
  }

  bd::Rng rng(opt.seed);
  bd::Sequential<Scalar> model = bd::build_model<Scalar>(opt.spec, rng);
  // --train-clip and --kl-scales are checked against the network now, not when the gated training starts (after
  // --pretrain).
  if (opt.load.empty()) trainer::check_authors_flags(opt.authors, recipe, model, opt.spec.dropout);
  // Data that does not fit the model is refused now, naming the file, rather than after an epoch.
  const auto train_file = bd::detail::mnist_find_file(dir, "train-images-idx3-ubyte");
  run_checks::check_images_fit(train, train_file, model, opt.spec.model);
  run_checks::check_images_fit(test, bd::detail::mnist_find_file(dir, "t10k-images-idx3-ubyte"), model, opt.spec.model);
  std::vector<bd::EpochLog> history;
  std::vector<int> epoch_threads;  // the thread count of each epoch of this session
  run_checks::DivergenceWatch divergence;
  if (!opt.load.empty()) {
    bd::load_model(model, opt.load);
    if (!opt.quiet) std::printf("loaded %s; evaluating without training\n", opt.load.c_str());
  } else {
    // A run resumed after its pretraining takes its weights from the checkpoint: pretraining them again would only
    // cost time. One resumed inside its pretraining continues it.
    const bool resume_pretraining = !opt.resume.empty() && holds_pretraining(opt.resume);
    if (resume_pretraining && opt.pretrain == 0) {
      throw bd::InvalidArgument("--resume " + opt.resume +
                                ": the checkpoint holds a run's pretraining; resume with that run's flags, "
                                "--pretrain included");
    }
    std::string resumed_settings;  // the checkpoint's settings text, which the resumed run goes on writing
    if (!opt.resume.empty()) {
      const nlohmann::json settings = run_settings(opt, recipe);
      resumed_settings =
          check_resume_settings(opt.resume, resume_pretraining ? pretraining_settings(settings) : settings, dir);
    }
    const int total_epochs = opt.pretrain + recipe.epochs;
    if (opt.pretrain > 0 && (opt.resume.empty() || resume_pretraining) &&
        !pretrain_weights(model, opt, run_settings(opt, recipe), train, rng, resume_pretraining)) {
      std::printf("stopped after epoch %d of %d (pretraining); continue with --resume %s\n", opt.stop_after,
                  total_epochs, opt.checkpoint.c_str());
      return 0;
    }
    if (!opt.init_from.empty() && opt.resume.empty()) init_from(model, opt.init_from, opt.quiet);
    if (opt.init_from.empty() && !bd::dependent_gates(model).empty()) {
      std::fprintf(stderr,
                   "bayesdrop-mnist: warning: --dropout %s without --init-from: its beta-Bernoulli gates start "
                   "untrained and stay frozen; train a bbd model first and pass it with --init-from\n",
                   opt.spec.dropout.c_str());
    }
    const ProgressBar progress(!opt.quiet, recipe.epochs);
    bd::FitOptions fit_options;
    fit_options.with_epochs(recipe.epochs).with_progress(std::cref(progress));
    if (!opt.checkpoint.empty()) fit_options.with_checkpoint(checkpoint_file(opt), run_settings(opt, recipe).dump());
    if (!opt.resume.empty() && !resume_pretraining) {
      fit_options.with_resume(opt.resume);
      fit_options.checkpoint_metadata = resumed_settings;
      if (!opt.quiet) std::printf("resuming from %s\n", opt.resume.c_str());
    }
    const bool dependent = !bd::dependent_gates(model).empty();
    fit_options.with_on_epoch([&](const bd::EpochLog& log) {
      if (!opt.quiet) print_epoch(log);
      if (!opt.quiet && dependent) {  // the tally since the epoch's start: this epoch's test evaluation
        std::printf("n_active per example (test): [%s]\n", trainer::join(bd::gate_n_active_per_example(model)).c_str());
        bd::reset_gate_activity(model);
      }
      for (const auto& w : divergence.check(log)) std::fprintf(stderr, "bayesdrop-mnist: warning: %s\n", w.c_str());
    });
    fit_options.with_on_epoch_start([&](int epoch, const std::vector<double>& lr, const std::vector<bd::Index>& n) {
      if (auto_threads) {
        const int before = Eigen::nbThreads(), now = budget.suggest();
        if (now != before) {
          Eigen::setNbThreads(now);
          if (!opt.quiet) {
            std::printf("threads: %d -> %d (other processes kept %.1f cores busy)\n", before, now,
                        budget.others_busy_cores());
          }
        }
      }
      epoch_threads.push_back(Eigen::nbThreads());
      if (!opt.quiet) print_epoch_start(epoch, lr, n);
    });
    // Epoch numbers count the pretraining's first; an --stop-after already passed ends the session after one epoch.
    if (opt.stop_after > 0) fit_options.with_stop_after(std::max(1, opt.stop_after - opt.pretrain));
    history = bd::fit(model, recipe, train, &test, rng, fit_options);
    if (int(history.size()) < recipe.epochs) {
      std::printf("stopped after epoch %d of %d; continue with --resume %s\n", opt.pretrain + int(history.size()),
                  total_epochs, opt.checkpoint.c_str());
      return 0;
    }
  }
  // The report's warnings come from the whole history, so a resumed run reports those of its earlier sessions too.
  run_checks::DivergenceWatch replay;
  for (const auto& log : history) replay.check(log);
  const auto warnings = replay.warnings();
  bd::EpochRunner<Scalar> runner(bd::EpochOptions{}.with_batch(recipe.batch));
  bd::reset_gate_activity(model);
  const bd::EpochResult final_test = runner.evaluate(model, test);
  const std::vector<double> per_example = bd::gate_n_active_per_example(model);  // over the test set
  const bd::ModelSummary summary = bd::summarize(model);
  std::printf("test accuracy %.4f (%s, %s, %d epochs, seed %llu)\n", final_test.accuracy, opt.spec.model.c_str(),
              opt.spec.dropout.c_str(), opt.load.empty() ? recipe.epochs : 0,
              static_cast<unsigned long long>(opt.seed));
  if (!opt.quiet) trainer::print_summary(summary);
  if (!opt.quiet && !bd::dependent_gates(model).empty()) {
    std::printf("n_active per example (test set mean): [%s]\n", trainer::join(per_example).c_str());
  }

  // Every output is attempted, the report even when the model or the pictures fail; the first failure ends the run.
  std::exception_ptr failed;
  auto attempt = [&failed](auto&& write) {
    try {
      write();
    } catch (const bd::Error&) {
      if (!failed) failed = std::current_exception();
    }
  };
  if (!opt.save.empty()) {
    attempt([&] {
      nlohmann::json meta = spec_json(opt.spec);
      meta["writer"] = "bayesdrop-mnist";
      meta["dataset"] = opt.dataset;
      meta["epochs"] = recipe.epochs;
      meta["seed"] = opt.seed;
      meta["test_accuracy"] = final_test.accuracy;
      bd::save_model(model, opt.save, meta.dump());
      if (!opt.quiet) std::printf("saved the model to %s\n", opt.save.c_str());
    });
  }
  if (!opt.report.empty()) {
    attempt([&] {
      nlohmann::json epochs = nlohmann::json::array();
      std::vector<double> seconds;
      // One thread count per epoch of the run: the epochs of a resumed run's earlier sessions ran with the fixed
      // --threads count its checkpoint's settings hold (resume checks it); with auto, their counts were not recorded
      // (null).
      nlohmann::json threads_per_epoch = nlohmann::json::array();
      for (std::size_t e = epoch_threads.size(); e < history.size(); ++e) {
        threads_per_epoch.push_back(fixed_threads(opt) > 0 ? nlohmann::json(fixed_threads(opt)) : nlohmann::json());
      }
      for (const int n : epoch_threads) threads_per_epoch.push_back(n);
      for (const auto& log : history) {
        epochs.push_back(trainer::epoch_json(log));
        seconds.push_back(log.train.seconds);
      }
      nlohmann::json report = spec_json(opt.spec);
      report.update(trainer::summary_json(summary));
      report.update({{"dataset", opt.dataset},
                     {"recipe", recipe.name},
                     {"epochs", opt.load.empty() ? recipe.epochs : 0},
                     {"batch", recipe.batch},
                     {"lr", recipe.lr_weights},
                     {"lr_noise", recipe.lr_noise},
                     {"weight_decay", recipe.weight_decay},
                     {"seed", opt.seed},
                     {"pretrain_epochs", opt.pretrain},
                     {"init_from", opt.init_from},
                     {"n_active_per_example", per_example},
                     {"adam_beta1", recipe.adam_beta1},
                     {"train_clip", recipe.train_clip},
                     {"kl_scales", recipe.kl_scales},
                     {"threads", Eigen::nbThreads()},
                     {"threads_requested", opt.threads_requested},
                     {"epoch_threads", threads_per_epoch},
                     {"loaded_from", opt.load},
                     {"test_accuracy", final_test.accuracy},
                     {"test_cross_entropy", final_test.cross_entropy},
                     {"warnings", warnings},
                     {"epoch_seconds", seconds},
                     {"history", epochs}});
      outputs::write_file(opt.report, report.dump(2) + "\n", "--report");
    });
  }
  if (!opt.pictures.empty()) {
    attempt([&] {
      for (const auto& file : trainer::write_pictures(model, train, opt.pictures)) {
        if (!opt.quiet) std::printf("wrote %s\n", file.c_str());
      }
    });
  }
  if (failed) std::rethrow_exception(failed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings opt;
  CLI::App app{"Train a Bayesian-dropout network on MNIST or Fashion-MNIST and report accuracy and sparsity."};
  app.add_option("--data", opt.data_dir,
                 "Folder with the four IDX files (.gz or plain). Default: $BAYESDROP_MNIST_DIR or data/mnist; "
                 "for --dataset fashion, $BAYESDROP_FASHION_DIR or /usr/share/datasets/fashion-mnist");
  app.add_option("--dataset", opt.dataset, "Data set")
      ->check(CLI::IsMember({"mnist", "fashion"}))
      ->capture_default_str();
  app.add_option("--model", opt.spec.model,
                 "Network: mlp = 784-500-300-10, lenet300 = 784-300-100-10, lenet5 = LeNet-5-Caffe")
      ->check(CLI::IsMember(bd::model_names()))
      ->capture_default_str();
  app.add_option("--dropout", opt.spec.dropout, "Dropout family (models/registry.hpp):\n" + bd::dropout_help())
      ->check(CLI::IsMember(bd::dropout_names()))
      ->capture_default_str();
  app.add_option("--p", opt.spec.p_hidden, "Drop rate on hidden units (binary, gaussian; initial for variational)")
      ->check(flags::real(0, 0.999))
      ->capture_default_str();
  app.add_option("--p-input", opt.spec.p_input, "Drop rate on the input pixels (and lenet5's conv channels)")
      ->check(flags::real(0, 0.999))
      ->capture_default_str();
  app.add_option("--epochs", opt.epochs, "Training epochs. Default: the recipe's (60)")->check(flags::whole(1, 100000));
  app.add_option("--batch", opt.batch, "Mini-batch size. Default: the recipe's (100)")->check(flags::whole(1, 1000000));
  app.add_option("--lr", opt.lr, "Adam rate of weights and biases. Default: the recipe's (1e-3)")
      ->check(flags::real(0, HUGE_VAL, true));
  app.add_option("--lr-noise", opt.lr_noise,
                 "Adam rate of noise parameters. Default: the recipe's (10x --lr for "
                 "gates, 1x for sparse VD)")
      ->check(flags::real(0, HUGE_VAL, true));
  app.add_option("--weight-decay", opt.weight_decay,
                 "L2 on weights and biases. Default: the recipe's (1e-4; 0 for "
                 "sparse VD)")
      ->check(flags::real(0, HUGE_VAL));
  app.add_option("--lr-schedule", opt.lr_schedule,
                 "recipe: the recipe's steps or decay; constant: hold the rates (short runs)")
      ->check(CLI::IsMember({"recipe", "constant"}))
      ->capture_default_str();
  auto* pretrain = app.add_option("--pretrain", opt.pretrain,
                                  "Epochs of the plain network first, whose weights the gated one starts from (as "
                                  "the BB and SBP reference code does); --checkpoint covers them too. Default: 0, "
                                  "from scratch")
                       ->check(flags::whole(0, 100000));
  app.add_option("--init-from", opt.init_from,
                 "Start from the weights and biases of this saved model of the same network (e.g. a trained plain "
                 "network, the reference code's pretrained start); --dropout dbb also takes the beta-Bernoulli gates "
                 "of a bbd model, as the dependent beta-Bernoulli authors do")
      ->check(flags::path())
      ->check(CLI::ExistingFile)
      ->check(flags::regular_input())
      ->excludes(pretrain);
  app.add_option("--seed", opt.seed, "Seed of every random draw (initialisation, shuffling, noise)")
      ->check(flags::seed())
      ->capture_default_str();
  app.add_option("--threads", opt.threads,
                 "Threads for the matrix products; auto: the cores that other processes leave idle, checked before "
                 "every epoch (a fixed count makes runs repeat bit for bit)")
      ->check(flags::threads(256))
      ->capture_default_str();
  app.add_option("--report", opt.report, "Write a JSON report (history, per-layer sparsity, memory and FLOPs kept)")
      ->check(flags::path());
  app.add_option("--save", opt.save, "Save the trained model to this file")->check(flags::path());
  app.add_option("--load", opt.load, "Load a model saved with --save and evaluate it (no training)")
      ->check(flags::path())
      ->check(flags::regular_input());
  app.add_option("--pictures", opt.pictures,
                 "Write input_pixels.png (the pixels the model still reads) into this folder; the charts are drawn "
                 "from --report by scripts/plot.py")
      ->check(flags::path());
  app.add_option("--checkpoint", opt.checkpoint,
                 "After every epoch, write the run's state (model, optimiser, generator, epoch, history) to this file, "
                 "replacing it atomically")
      ->check(flags::path());
  app.add_option("--resume", opt.resume,
                 "Continue the run checkpointed in this file (same flags as the run that wrote it); the result equals "
                 "the uninterrupted run's. Give --checkpoint too to keep checkpointing")
      ->check(flags::path())
      ->check(CLI::ExistingFile)
      ->check(flags::regular_input());
  app.add_option("--stop-after", opt.stop_after,
                 "End this session after that epoch, its checkpoint written (needs --checkpoint); --resume continues. "
                 "With --pretrain the pretraining's epochs count first")
      ->check(flags::whole(1, 200000))
      ->needs("--checkpoint");
  // --load evaluates a saved model and trains nothing: a training flag beside it would be ignored, so it is refused.
  for (const char* training : {"--resume", "--checkpoint", "--stop-after", "--init-from", "--pretrain", "--epochs"}) {
    app.get_option("--load")->excludes(app.get_option(training));
  }
  trainer::add_authors_flags(app, opt.authors);
  app.add_flag("--quiet", opt.quiet, "Print only the final accuracy");
  bool list_dropouts = false, list_models = false, list_json = false;
  app.add_flag("--list-dropouts", list_dropouts,
               "Print the dropout families (one a line; with --json, their kinds) and exit");
  app.add_flag("--list-models", list_models, "Print the networks (one a line, or JSON with --json) and exit");
  app.add_flag("--json", list_json, "With --list-dropouts or --list-models: print JSON");
  CLI11_PARSE(app, argc, argv);
  if (list_json && !list_dropouts && !list_models) {
    std::fprintf(stderr, "bayesdrop-mnist: --json goes with --list-dropouts or --list-models\n");
    return 2;
  }
  if (list_dropouts || list_models) {
    if (list_dropouts && list_models) {
      std::fprintf(stderr, "bayesdrop-mnist: give one of --list-dropouts and --list-models\n");
      return 2;
    }
    std::fputs(trainer::print_listing(list_dropouts ? trainer::dropout_listing() : trainer::model_listing(), list_json)
                   .c_str(),
               stdout);
    return 0;
  }

  try {
    return run(opt);
  } catch (const bd::Error& e) {
    std::fprintf(stderr, "bayesdrop-mnist: %s\n", e.what());
    return 2;
  }
}
