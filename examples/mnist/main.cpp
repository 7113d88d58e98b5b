// bayesdrop-mnist: trains a network on MNIST or Fashion-MNIST and reports test accuracy and sparsity.
//
//   bayesdrop-mnist --data ~/mnist --epochs 20 --report run.json
//
// Later dropout types plug into the same flags: --dropout picks the layer family, the report gains their numbers.
#include <Eigen/Core>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#include "bayesdrop/bayesdrop.hpp"
#include "models.hpp"

namespace bd = bayesdrop;
using Scalar = float;

namespace {

struct Settings {
  std::string data_dir;
  std::string dataset = "mnist";
  std::string model = "mlp";
  std::string dropout = "none";
  int epochs = 20;
  bd::Index batch = 100;
  double lr = -1;            // < 0: the dropout type's recipe
  double weight_decay = -1;  // < 0: the dropout type's recipe
  std::uint64_t seed = 1;
  int threads = 2;
  double p_input = 0.2;
  double p_hidden = 0.5;
  std::string report;
  bool quiet = false;
};

// A one-line progress bar on stderr, redrawn in place; only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(fileno(stderr))) {}
  void operator()(bd::Index done, bd::Index total) const {
    if (!enabled_ || (done != total && done % 10 != 0)) return;
    constexpr int kWidth = 40;
    const int filled = int(kWidth * done / total);
    std::fprintf(stderr, "\r[%s%s] %ld/%ld", std::string(std::size_t(filled), '#').c_str(),
                 std::string(std::size_t(kWidth - filled), '.').c_str(), long(done), long(total));
    if (done == total) std::fprintf(stderr, "\r%*s\r", kWidth + 24, "");
    std::fflush(stderr);
  }

 private:
  bool enabled_;
};

// Per dense layer: its inputs and weights, total and active. A gate in front of the layer decides its active
// inputs (n_active); otherwise the layer's own statistics do (inputs with a weight left).
nlohmann::json layer_report(const bd::Sequential<Scalar>& model) {
  nlohmann::json layers = nlohmann::json::array();
  int dense = 0;
  bd::Index gate_active = -1;
  for (bd::Index i = 0; i < model.size(); ++i) {
    const auto& layer = model.layer(i);
    if (const auto* gate = dynamic_cast<const bd::Gate<Scalar>*>(&layer)) {
      gate_active = gate->n_active();
      continue;
    }
    const bd::SparsityStats s = layer.sparsity();
    if (s.weights == 0) continue;  // activations and reshapes carry no weights
    const bd::Index active_in = gate_active >= 0 ? std::min<bd::Index>(gate_active, s.active_in) : s.active_in;
    layers.push_back({{"name", "fc" + std::to_string(++dense)},
                      {"type", std::string(layer.name())},
                      {"units_in", s.units_in},
                      {"active_in", active_in},
                      {"weights", s.weights},
                      {"active_weights", s.active_weights}});
    gate_active = -1;
  }
  return layers;
}

std::string join(const std::vector<bd::Index>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out;
}

int run(const Settings& opt) {
  Eigen::setNbThreads(opt.threads);
  const std::string dir = opt.data_dir.empty() ? bd::default_data_dir(opt.dataset) : opt.data_dir;
  const auto train = bd::load_mnist<Scalar>(dir, bd::Split::train);
  const auto test = bd::load_mnist<Scalar>(dir, bd::Split::test);
  if (!opt.quiet) {
    std::printf("%s from %s: %ld training and %ld test images; model %s, dropout %s, %d thread(s)\n",
                opt.dataset.c_str(), dir.c_str(), long(train.size()), long(test.size()), opt.model.c_str(),
                opt.dropout.c_str(), Eigen::nbThreads());
  }

  bd::Rng rng(opt.seed);
  bd::Sequential<Scalar> model = trainer::build_model(opt.model, opt.dropout, opt.p_input, opt.p_hidden, rng);

  // The recipe of the course assignment's code base (targets.md section 1): Adam with weights and biases at one
  // rate with L2 decay, noise parameters at ten times that rate, both divided by 10 at 50 % and by 100 at 75 % of
  // training. --lr and --weight-decay override the weights' values (noise keeps its 10x).
  trainer::Recipe recipe = trainer::recipe_for(opt.dropout);
  if (opt.lr > 0) {
    recipe.lr_noise *= opt.lr / recipe.lr_weights;
    recipe.lr_weights = opt.lr;
  }
  if (opt.weight_decay >= 0) recipe.weight_decay = opt.weight_decay;
  const bd::Index steps_per_epoch = (train.size() + opt.batch - 1) / opt.batch;
  const auto schedule = bd::LrSchedule::piecewise({0.5, 0.75}, {1.0, 0.1, 0.01}, steps_per_epoch * opt.epochs);
  const auto params = model.parameters();
  std::vector<bd::ParamGroup<Scalar>> groups;
  groups.push_back({"weights", bd::with_roles(params, {bd::ParamRole::weight, bd::ParamRole::bias}),
                    recipe.lr_weights, recipe.weight_decay, schedule});
  const auto noise = bd::with_roles(params, {bd::ParamRole::noise});
  if (!noise.empty()) groups.push_back({"noise", noise, recipe.lr_noise, 0.0, schedule});
  bd::Adam<Scalar> adam(groups);
  bd::EpochRunner<Scalar> runner(bd::EpochOptions{}.with_batch(opt.batch));
  const ProgressBar progress(!opt.quiet);

  std::vector<double> epoch_seconds;
  bd::EpochResult last_test;
  for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
    const double lr = adam.current_lr(adam.groups().size() - 1);  // the gates' rate when there are gates
    const auto active_before = trainer::gate_n_active(model);
    if (!opt.quiet && !active_before.empty()) {
      std::printf("Epoch %d start, learning rate %.6f n_active: [%s]\n", epoch, lr, join(active_before).c_str());
    }
    runner.set_kl_weight(recipe.kl_weight(epoch, opt.epochs));
    const auto tr = runner.train_epoch(model, adam, train, rng, std::cref(progress));
    last_test = runner.evaluate(model, test);
    epoch_seconds.push_back(tr.seconds);
    if (!opt.quiet) {
      std::printf("train: epoch %d, (%.3f secs), cent %.6f, acc %.6f, lr %.6f, kl weight %.3f\n", epoch, tr.seconds,
                  tr.cross_entropy, tr.accuracy, lr, runner.options().kl_weight);
      std::printf("test:  epoch %d, cent %.6f, acc %.6f, kl %.1f\n", epoch, last_test.cross_entropy, last_test.accuracy,
                  last_test.kl);
      std::fflush(stdout);
    }
  }
  std::printf("test accuracy %.4f (%s, %s, %d epochs, seed %llu)\n", last_test.accuracy, opt.model.c_str(),
              opt.dropout.c_str(), opt.epochs, static_cast<unsigned long long>(opt.seed));

  if (!opt.report.empty()) {
    nlohmann::json report = {{"model", opt.model},
                             {"dropout", opt.dropout},
                             {"dataset", opt.dataset},
                             {"epochs", opt.epochs},
                             {"batch", opt.batch},
                             {"lr", recipe.lr_weights},
                             {"lr_noise", recipe.lr_noise},
                             {"weight_decay", recipe.weight_decay},
                             {"seed", opt.seed},
                             {"threads", Eigen::nbThreads()},
                             {"test_accuracy", last_test.accuracy},
                             {"test_cross_entropy", last_test.cross_entropy},
                             {"epoch_seconds", epoch_seconds},
                             {"layers", layer_report(model)}};
    std::ofstream out(opt.report);
    if (!out) throw bd::InvalidArgument("--report: cannot write '" + opt.report + "'; check the directory exists");
    out << report.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings opt;
  CLI::App app{"Train a Bayesian-dropout network on MNIST or Fashion-MNIST and report accuracy and sparsity."};
  app.add_option("--data", opt.data_dir,
                 "Folder with the four IDX files (.gz or plain). Default: $BAYESDROP_MNIST_DIR or data/mnist; "
                 "for --dataset fashion, $BAYESDROP_FASHION_DIR or /usr/share/datasets/fashion-mnist");
  app.add_option("--dataset", opt.dataset, "Data set")->check(CLI::IsMember({"mnist", "fashion"}))->capture_default_str();
  app.add_option("--model", opt.model, "Network: mlp = 784-500-300-10, lenet300 = 784-300-100-10")
      ->check(CLI::IsMember({"mlp", "lenet300"}))
      ->capture_default_str();
  app.add_option("--dropout", opt.dropout, "Noise on the inputs of every dense layer (sparsevd: sparse VD dense layers instead)")
      ->check(CLI::IsMember(trainer::dropout_names()))
      ->capture_default_str();
  app.add_option("--p", opt.p_hidden, "Drop rate on hidden units (binary, gaussian; initial for variational)")
      ->check(CLI::Range(0.0, 0.999))
      ->capture_default_str();
  app.add_option("--p-input", opt.p_input, "Drop rate on the input pixels")
      ->check(CLI::Range(0.0, 0.999))
      ->capture_default_str();
  app.add_option("--epochs", opt.epochs, "Training epochs")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", opt.batch, "Mini-batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", opt.lr, "Adam learning rate of weights and biases (noise parameters: 10x). Default: 1e-3")
      ->check(CLI::PositiveNumber);
  app.add_option("--weight-decay", opt.weight_decay, "L2 coefficient on weights and biases. Default: 1e-4")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", opt.seed, "Seed of every random draw (initialisation, shuffling, noise)")
      ->capture_default_str();
  app.add_option("--threads", opt.threads, "Threads for Eigen's matrix products")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--report", opt.report, "Write a JSON report to this file");
  app.add_flag("--quiet", opt.quiet, "Print only the final accuracy");
  CLI11_PARSE(app, argc, argv);

  try {
    return run(opt);
  } catch (const bd::Error& e) {
    std::fprintf(stderr, "bayesdrop-mnist: %s\n", e.what());
    return 2;
  }
}
