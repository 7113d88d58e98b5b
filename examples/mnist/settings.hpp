// bayesdrop-mnist's flags: the Settings they fill, and how Settings become the library's RunSpec.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <string>

#include "../common/flags.hpp"
#include "../common/provenance.hpp"
#include "../common/run_checks.hpp"
#include "authors_flags.hpp"
#include "bayesdrop/bayesdrop.hpp"

namespace trainer {

namespace bd = bayesdrop;

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
  AuthorsFlags authors;                 // --train-clip, --sbp-adam, --kl-scales
  int stop_after = 0;                   // --stop-after N: end the session after epoch N (resume it later)
  std::string train_crc32, test_crc32;  // the data's digests (run_checks::data_crc32), with --checkpoint or --resume
  std::string init_from_crc32;          // the --init-from file's (run_checks::file_crc32), likewise
  bool quiet = false;
  bool list_dropouts = false, list_models = false, list_json = false;
  provenance::Start started;  // the command line and the date, for the report's "provenance"
};

/// --threads as a count, 0 for auto.
inline int fixed_threads(const Settings& opt) {
  return opt.threads == "auto" ? 0 : std::stoi(opt.threads);
}

/// --threads N above the cores available runs N threads on fewer cores, each product waiting for the slowest (40x to
/// 400x slower on 2 cores): capped at the cores, with a warning; the report and the checkpoint's settings record the
/// count that ran, "threads_requested" the flag.
inline void cap_threads(Settings& opt) {
  opt.threads_requested = opt.threads;
  if (fixed_threads(opt) > 0) {
    opt.threads = std::to_string(run_checks::capped_threads(fixed_threads(opt), "bayesdrop-mnist"));
  }
}

/// The method's recipe (training/recipe.hpp) with the flags that override it.
inline bd::Recipe recipe_for(const Settings& opt) {
  bd::Recipe r = bd::recipe_for_dropout(opt.spec.dropout, opt.spec.model);
  apply_authors_flags(opt.authors, r);
  if (opt.epochs > 0) r.epochs = opt.epochs;
  if (opt.batch > 0) r.batch = opt.batch;
  if (opt.lr > 0) {
    if (opt.lr_noise <= 0) r.lr_noise *= opt.lr / r.lr_weights;  // the noise keeps its ratio to the weights
    r.lr_weights = opt.lr;
  }
  if (opt.lr_noise > 0) r.lr_noise = opt.lr_noise;
  if (opt.weight_decay >= 0) r.weight_decay = opt.weight_decay;
  if (opt.lr_schedule == "constant") r = r.with_constant_lr();
  r.pretrain_epochs = opt.pretrain;
  return r;
}

/// Defines every flag on `app`, filling `opt`.
inline void add_flags(CLI::App& app, Settings& opt) {
  app.add_option("--data", opt.data_dir,
                 "Folder with the four IDX files (.gz or plain). Default: $BAYESDROP_MNIST_DIR or data/mnist; "
                 "for --dataset fashion, $BAYESDROP_FASHION_DIR or /usr/share/datasets/fashion-mnist");
  app.add_option("--dataset", opt.dataset, "Data set")
      ->check(CLI::IsMember({"mnist", "fashion"}))
      ->capture_default_str();
  app.add_option("--model", opt.spec.model,
                 "Network: mlp = 784-500-300-10, lenet300 = 784-300-100-10, lenet5 = LeNet-5-Caffe; "
                 "lenet5-same (SAME padding) and lenet5-bias-after-gate: LeNet-5 as SBP's script builds it, one "
                 "choice each, lenet5-same-bias-after-gate both; for the gate families")
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
                 "Adam rate of noise parameters. Default: the recipe's (10x --lr for gates, 1x for sparse VD)")
      ->check(flags::real(0, HUGE_VAL, true));
  app.add_option("--weight-decay", opt.weight_decay,
                 "L2 on weights and biases. Default: the recipe's (1e-4; 0 for sparse VD)")
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
  add_authors_flags(app, opt.authors);
  app.add_flag("--quiet", opt.quiet, "Print only the final accuracy");
  app.add_flag("--list-dropouts", opt.list_dropouts,
               "Print the dropout families (one a line; with --json, their kinds) and exit");
  app.add_flag("--list-models", opt.list_models, "Print the networks (one a line, or JSON with --json) and exit");
  app.add_flag("--json", opt.list_json, "With --list-dropouts or --list-models: print JSON");
}

}  // namespace trainer
