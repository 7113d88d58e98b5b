// bayesdrop-uncertainty: how well a trained model knows what it does not know, deterministic versus Monte Carlo.
//
//   bayesdrop-uncertainty --load bbd.model --mc 20 --report bbd-unc.json
//   scripts/plot.py bbd-unc.json --out out/      (the reliability diagram and the rotated-digit curves)
//
// On the MNIST test set: accuracy, NLL, Brier score and ECE with its reliability bins. Out of distribution: the
// AUROC of telling MNIST test images (negatives) from Fashion-MNIST test images (positives) by predictive entropy
// and by mutual information. And a test digit rotated from 0 to 180 degrees: accuracy, entropy and MI per angle.
// The model is rebuilt from the metadata bayesdrop-mnist --save writes (model, dropout, p_input, p_hidden).
#include <CLI/CLI.hpp>
#include <Eigen/Core>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../common/flags.hpp"
#include "../common/model_metadata.hpp"
#include "../common/outputs.hpp"
#include "../common/provenance.hpp"
#include "../common/run_checks.hpp"
#include "bayesdrop/bayesdrop.hpp"
#include "report.hpp"

namespace bd = bayesdrop;
namespace un = uncertainty;
using Scalar = float;

namespace {

struct Settings {
  std::string load, data_dir, ood_dir, report;
  bd::Index mc = 20;
  std::uint64_t seed = 1;
  int threads = 2;
  int digit = 1;
  provenance::Start started;  // the command line and the date, for the report's "provenance"
};

constexpr bd::Index kBins = 15;  // the usual ECE bin count (Guo et al. 2017)

// The trainer's metadata names the architecture; without it the tool cannot rebuild the model.
std::pair<bd::ModelSpec, nlohmann::json> spec_from_file(const std::string& path) {
  auto saved = model_metadata::read(path);
  return {saved.spec, saved.metadata};
}

// A missing data set is the likeliest failure, so its message names the flag, the variable and how to get it.
bd::Dataset<Scalar> load_test_set(const std::string& dir, const std::string& role, const std::string& how) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw bd::DataError(role + ": the directory '" + dir + "' does not exist. " + how);
  }
  try {
    return bd::load_mnist<Scalar>(dir, bd::Split::test);
  } catch (const bd::DataError& e) {
    throw bd::DataError(role + ": " + e.what());
  }
}

// Independent noise streams per experiment, so that one experiment's numbers do not depend on which ran before.
bd::Rng stream(std::uint64_t seed, std::uint64_t k) {
  return bd::Rng(seed + 0x9E3779B97F4A7C15ull * (k + 1));
}

int run(const Settings& opt) {
  const auto start = std::chrono::steady_clock::now();
  Eigen::setNbThreads(run_checks::capped_threads(opt.threads, "bayesdrop-uncertainty"));  // at most the cores
  const std::string data = opt.data_dir.empty() ? bd::default_data_dir("mnist") : opt.data_dir;
  const std::string ood_dir = opt.ood_dir.empty() ? bd::default_data_dir("fashion") : opt.ood_dir;
  // The report may not overwrite the model or a data file: refused before anything is read, naming both flags.
  std::vector<outputs::FlagPath> inputs = run_checks::data_files(data, "--data", {"t10k"});
  for (auto& f : run_checks::data_files(ood_dir, "--ood-data", {"t10k"})) inputs.push_back(f);
  inputs.push_back({"--load", opt.load});
  outputs::check_outputs_apart({{"--report", opt.report}}, inputs);
  const auto [spec, meta] = spec_from_file(opt.load);
  // Outputs are checked (folders created) before the work, so an unwritable path costs no evaluation.
  if (!opt.report.empty()) outputs::check_output_file(opt.report, "--report");
  bd::Rng init(opt.seed);  // the initial weights are overwritten by the file
  bd::Sequential<Scalar> model = bd::build_model<Scalar>(spec, init);
  bd::load_model(model, opt.load);

  const auto test = load_test_set(data, "MNIST (--data)",
                                  "Get it with scripts/fetch-mnist.sh DIR, then pass --data DIR or set "
                                  "BAYESDROP_MNIST_DIR=DIR.");
  const auto ood = load_test_set(ood_dir, "Fashion-MNIST, the out-of-distribution set (--ood-data)",
                                 "Install it with `apt-get install dataset-fashion-mnist` (files in "
                                 "/usr/share/datasets/fashion-mnist), or pass --ood-data DIR or set "
                                 "BAYESDROP_FASHION_DIR=DIR to a folder with its four IDX files.");
  run_checks::check_images_fit(test, bd::mnist_images_file(data, bd::Split::test), model, spec.model);
  run_checks::check_images_fit(ood, bd::mnist_images_file(ood_dir, bd::Split::test), model, spec.model);
  std::printf("bayesdrop-uncertainty: %s, model %s, dropout %s (%s epochs), MC K = %ld, seed %llu, %d thread(s)\n",
              opt.load.c_str(), spec.model.c_str(), spec.dropout.c_str(),
              meta.contains("epochs") ? meta["epochs"].dump().c_str() : "?", long(opt.mc),
              static_cast<unsigned long long>(opt.seed), Eigen::nbThreads());
  std::printf(
      "in distribution: %ld MNIST test images from %s; out of distribution: %ld Fashion-MNIST test images "
      "from %s\n",
      long(test.size()), data.c_str(), long(ood.size()), ood_dir.c_str());
  std::fflush(stdout);

  bd::McPredictor<Scalar> predictor(bd::McOptions{}.with_samples(opt.mc));
  un::Results r;
  r.mc_samples = opt.mc;
  r.digit = opt.digit;
  {
    bd::McPrediction in, out;
    predictor.deterministic(model, test.images, in);
    predictor.deterministic(model, ood.images, out);
    r.scores[0] = un::score(in, test.labels, out, kBins);
    bd::Rng rng_in = stream(opt.seed, 0), rng_ood = stream(opt.seed, 1);
    predictor.predict(model, test.images, rng_in, in);
    predictor.predict(model, ood.images, rng_ood, out);
    r.scores[1] = un::score(in, test.labels, out, kBins);
  }

  const bd::Matrix<Scalar> digits = un::images_of_digit(test, opt.digit);
  r.rotated_images = digits.cols();
  for (int a = 0; a <= 180; a += 15) r.angles.push_back(a);
  bd::Rng rng_rot = stream(opt.seed, 2);
  std::vector<un::RotationCurve> curves(2);
  un::rotation_curves(digits, opt.digit, r.angles, curves,
                      [&](std::size_t p, const bd::Matrix<Scalar>& x, bd::McPrediction& out) {
                        if (p == 0) {
                          predictor.deterministic(model, x, out);
                        } else {
                          predictor.predict(model, x, rng_rot, out);
                        }
                      });
  r.rotation[0] = curves[0];
  r.rotation[1] = curves[1];

  un::print_summary(r);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("took %.1f s\n", seconds);
  if (!opt.report.empty()) {
    nlohmann::json report = un::results_json(r);
    report["spec"] = {
        {"model", spec.model}, {"dropout", spec.dropout}, {"p_input", spec.p_input}, {"p_hidden", spec.p_hidden}};
    report["model_file"] = opt.load;
    report["model_metadata"] = meta;
    report["mc_samples"] = opt.mc;
    report["seed"] = opt.seed;
    report["threads"] = Eigen::nbThreads();
    report["threads_requested"] = opt.threads;
    report["data"] = {
        {"mnist", data}, {"mnist_test_images", test.size()}, {"ood", ood_dir}, {"ood_test_images", ood.size()}};
    report["seconds"] = seconds;
    report["provenance"] = provenance::json(opt.started, Eigen::nbThreads());
    report["notes"] = {
        "AUROC: MNIST test images are the negatives, Fashion-MNIST test images the positives; higher score = more "
        "likely out of distribution.",
        "An AUROC is null when its score is the same for every image (spread <= 1e-9): the mutual information of "
        "the deterministic pass is 0 by definition (its AUROC would be 0.5 by construction), and so is that of "
        "the MC passes of a model without dropout noise.",
        "Entropy and mutual information in nats; Brier score summed over the 10 classes (range 0..2)."};
    outputs::write_file(opt.report, report.dump(2) + "\n", "--report");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings opt;
  opt.started = provenance::start(argc, argv);
  CLI::App app{
      "Measure a saved model's calibration, out-of-distribution detection and rotated-digit uncertainty, "
      "deterministic and Monte Carlo."};
  app.set_version_flag("--version", provenance::version_text("bayesdrop-uncertainty"));
  app.add_option("--load", opt.load, "Model file written by bayesdrop-mnist --save")
      ->required()
      ->check(flags::path())
      ->check(flags::regular_input());
  app.add_option("--data", opt.data_dir, "MNIST folder (four IDX files). Default: $BAYESDROP_MNIST_DIR or data/mnist");
  app.add_option("--ood-data", opt.ood_dir,
                 "Fashion-MNIST folder, the out-of-distribution set. Default: $BAYESDROP_FASHION_DIR or "
                 "/usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)");
  app.add_option("--mc", opt.mc, "Monte Carlo samples K: stochastic forward passes per image")
      ->check(flags::whole(1, 100000))
      ->capture_default_str();
  app.add_option("--seed", opt.seed, "Seed of the Monte Carlo noise")->check(flags::seed())->capture_default_str();
  app.add_option("--threads", opt.threads, "Threads for Eigen's matrix products")
      ->check(flags::whole(1, 256))
      ->capture_default_str();
  app.add_option("--report", opt.report, "Write a JSON report (scores, reliability bins, rotation curves, spec)")
      ->check(flags::path());
  app.add_option("--rotation-digit", opt.digit, "Rotate all test images of this digit by 0, 15, ..., 180 degrees")
      ->check(flags::whole(0, 9))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    return run(opt);
  } catch (const bd::Error& e) {
    std::fprintf(stderr, "bayesdrop-uncertainty: %s\n", e.what());
    return 2;
  }
}
