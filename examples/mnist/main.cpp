// bayesdrop-mnist: trains a network on MNIST or Fashion-MNIST and reports test accuracy and what was pruned.
//
//   bayesdrop-mnist --data ~/mnist --dropout bbd --report bbd.json --pictures out/ --save bbd.model
//   bayesdrop-mnist --data ~/mnist --load bbd.model            (evaluate a saved model again)
//   bayesdrop-mnist --data ~/mnist --dropout dbb --init-from bbd.model --save dbb.model
//                                                              (dependent beta-Bernoulli from a trained bbd model)
//
// The run itself is the library's (bayesdrop/methods/run.hpp, train_run): this program turns flags into its RunSpec,
// checks every path before the work, prints as the run goes and writes the outputs. The defaults of every dropout
// type are its method's recipe (bayesdrop/training/recipe.hpp); flags override them.
#include <CLI/CLI.hpp>
#include <Eigen/Core>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "../common/listing.hpp"
#include "../common/outputs.hpp"
#include "../common/provenance.hpp"
#include "../common/run_checks.hpp"
#include "bayesdrop/bayesdrop.hpp"
#include "pictures.hpp"
#include "report.hpp"
#include "run_settings.hpp"
#include "settings.hpp"

namespace bd = bayesdrop;
using Scalar = float;
using trainer::Settings;

namespace {

// The library's RunSpec of the flags; the checkpoint's settings are the trainer's JSON (run_settings).
bd::RunSpec run_spec(const Settings& opt, const bd::Recipe& recipe) {
  bd::RunSpec spec;
  spec.model = opt.spec;
  spec.model.dense_init = trainer::dense_init(opt.authors, opt.spec.dropout);
  spec.recipe = recipe;
  spec.init_from = opt.init_from;
  spec.pretrain_recipe = trainer::pretrain_recipe(opt.authors, opt.pretrain, recipe);
  spec.seed = opt.seed;
  spec.threads = trainer::fixed_threads(opt);
  spec.checkpoint = trainer::checkpoint_file(opt);
  spec.checkpoint_settings = trainer::run_settings(opt, recipe).dump();
  spec.resume = opt.resume;
  spec.stop_after = opt.stop_after;
  return spec;
}

// The final evaluation, the summary and every output. Each output is attempted, the report even when the model or
// the pictures fail; the first failure ends the run.
int finish(bd::Sequential<Scalar>& model, const Settings& opt, const bd::Recipe& recipe, trainer::Outcome out,
           const bd::Dataset<Scalar>& train, const bd::Dataset<Scalar>& test) {
  run_checks::DivergenceWatch replay;  // over the whole history: a resumed run reports its earlier sessions' too
  for (const auto& log : out.history) replay.check(log);
  out.warnings = replay.warnings();
  bd::EpochRunner<Scalar> runner(bd::EpochOptions{}.with_batch(recipe.batch));
  bd::reset_gate_activity(model);
  out.final_test = runner.evaluate(model, test);
  out.per_example = bd::gate_n_active_per_example(model);  // over the test set
  out.summary = bd::summarize(model);
  std::printf("test accuracy %.4f (%s, %s, %d epochs, seed %llu)\n", out.final_test.accuracy, opt.spec.model.c_str(),
              opt.spec.dropout.c_str(), opt.load.empty() ? recipe.epochs : 0,
              static_cast<unsigned long long>(opt.seed));
  if (!opt.quiet) trainer::print_summary(out.summary);
  if (!opt.quiet && !bd::dependent_gates(model).empty()) {
    std::printf("n_active per example (test set mean): [%s]\n", trainer::join(out.per_example).c_str());
  }
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
      bd::save_model(model, opt.spec, opt.save, trainer::saved_fields(opt, recipe, out.final_test.accuracy));
      if (!opt.quiet) std::printf("saved the model to %s\n", opt.save.c_str());
    });
  }
  if (!opt.report.empty()) {
    attempt(
        [&] { outputs::write_file(opt.report, trainer::report_json(opt, recipe, out).dump(2) + "\n", "--report"); });
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

int run(Settings opt) {
  trainer::cap_threads(opt);
  const std::string dir = opt.data_dir.empty() ? bd::default_data_dir(opt.dataset) : opt.data_dir;
  trainer::check_outputs_apart(opt, dir);
  // One writer per checkpoint: a second run given the same --checkpoint is refused now, naming the first; the
  // temporary files of a writer killed mid-write are removed (none can be writing now).
  outputs::FileLock checkpoint_lock;
  if (!opt.checkpoint.empty()) {
    outputs::check_replaced_file(opt.checkpoint, "--checkpoint");
    checkpoint_lock = outputs::FileLock(opt.checkpoint, "--checkpoint");
    bd::remove_stale_temps(opt.checkpoint);
  }
  trainer::check_not_restarted(opt);
  if (!opt.load.empty()) opt.spec = bd::read_model_spec(opt.load);
  trainer::check_outputs(opt);
  if (!opt.load.empty()) trainer::check_input_centring(opt.authors, opt.load, "--load");
  if (!opt.init_from.empty()) trainer::check_input_centring(opt.authors, opt.init_from, "--init-from");
  const auto train = run_checks::load_data<Scalar>(dir, bd::Split::train, "--data");
  auto test = run_checks::load_data<Scalar>(dir, bd::Split::test, "--data");
  // A checkpoint records the data and the --init-from file by content: --resume refuses others of the same size.
  if (opt.load.empty() && (!opt.checkpoint.empty() || !opt.resume.empty())) {
    opt.train_crc32 = run_checks::data_crc32(train);
    opt.test_crc32 = run_checks::data_crc32(test);
    if (!opt.init_from.empty()) opt.init_from_crc32 = run_checks::file_crc32(opt.init_from);
  }
  // --center-inputs: the network sees centred copies; the pictures draw the digits as they are.
  std::optional<bd::Dataset<Scalar>> centred_train;
  if (opt.authors.center_inputs) {
    const bd::Vector<Scalar> mean = bd::mean_image(train);
    centred_train = train;
    bd::subtract_image(*centred_train, mean);
    bd::subtract_image(test, mean);
  }
  const bd::Dataset<Scalar>& inputs = centred_train ? *centred_train : train;
  const bd::Recipe recipe = trainer::recipe_for(opt);
  const bd::RunSpec spec = run_spec(opt, recipe);
  bd::Sequential<Scalar>* trained = nullptr;  // the network being trained, for the per-example tally of dbb
  auto on_start = [&](bd::Sequential<Scalar>& model, int threads) {
    trained = &model;
    if (!opt.quiet) {
      std::printf("%s from %s: %ld training and %ld test images; model %s, dropout %s, recipe %s, %d thread(s)%s\n",
                  opt.dataset.c_str(), dir.c_str(), long(train.size()), long(test.size()), opt.spec.model.c_str(),
                  opt.spec.dropout.c_str(), recipe.name.c_str(), threads,
                  spec.threads == 0 ? " (auto: as many as the idle cores)" : "");
    }
    // Flags and data that do not fit the network are refused now, naming the file, rather than after an epoch.
    if (opt.load.empty()) trainer::check_authors_flags(opt.authors, recipe, model, opt.spec.dropout);
    run_checks::check_images_fit(train, bd::mnist_images_file(dir, bd::Split::train), model, opt.spec.model);
    run_checks::check_images_fit(test, bd::mnist_images_file(dir, bd::Split::test), model, opt.spec.model);
  };
  if (!opt.load.empty()) {
    bd::ThreadBudget budget;
    Eigen::setNbThreads(spec.threads > 0 ? spec.threads : budget.measure(std::chrono::milliseconds(200)));
    bd::Sequential<Scalar> model = bd::load_model_file<Scalar>(opt.load);
    on_start(model, Eigen::nbThreads());
    if (!opt.quiet) std::printf("loaded %s; evaluating without training\n", opt.load.c_str());
    return finish(model, opt, recipe, {}, train, test);
  }

  bd::RunCallbacks<Scalar> cb = trainer::printing_callbacks<Scalar>(opt);
  cb.on_start = on_start;
  cb.check_resume = [&](bd::RunPhase phase, const std::string& stored) {
    trainer::check_resume(opt, phase == bd::RunPhase::pretraining, stored, trainer::run_settings(opt, recipe), dir);
  };
  const trainer::ProgressBar progress(!opt.quiet, recipe.epochs);
  if (!opt.quiet) cb.progress = std::cref(progress);
  run_checks::DivergenceWatch divergence;
  cb.on_epoch = [&](const bd::EpochLog& log) {
    if (!opt.quiet) trainer::print_epoch(log);
    if (!opt.quiet && !bd::dependent_gates(*trained).empty()) {  // the tally since the epoch's start: its test pass
      std::printf("n_active per example (test): [%s]\n",
                  trainer::join(bd::gate_n_active_per_example(*trained)).c_str());
      bd::reset_gate_activity(*trained);
    }
    for (const auto& w : divergence.check(log)) std::fprintf(stderr, "bayesdrop-mnist: warning: %s\n", w.c_str());
  };
  bd::RunResult<Scalar> result = bd::train_run<Scalar>(spec, inputs, &test, cb);
  if (!result.finished()) {
    std::printf("stopped after epoch %d of %d%s; continue with --resume %s\n", result.epochs_done, result.total_epochs,
                result.epochs_done <= opt.pretrain ? " (pretraining)" : "", opt.checkpoint.c_str());
    return 0;
  }
  trainer::Outcome out;
  out.history = std::move(result.history);
  out.epoch_threads = std::move(result.epoch_threads);
  return finish(result.model, opt, recipe, std::move(out), train, test);
}

}  // namespace

int main(int argc, char** argv) {
  Settings opt;
  CLI::App app{"Train a Bayesian-dropout network on MNIST or Fashion-MNIST and report accuracy and sparsity."};
  opt.started = provenance::start(argc, argv);
  trainer::add_flags(app, opt);
  app.set_version_flag("--version", provenance::version_text("bayesdrop-mnist"));
  CLI11_PARSE(app, argc, argv);
  if (opt.list_dropouts || opt.list_models || opt.list_json) {
    return trainer::list(opt.list_dropouts, opt.list_models, opt.list_json, "bayesdrop-mnist");
  }
  try {
    return run(opt);
  } catch (const bd::Error& e) {
    std::fprintf(stderr, "bayesdrop-mnist: %s\n", e.what());
    return 2;
  }
}
