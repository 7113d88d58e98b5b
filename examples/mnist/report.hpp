// The trainer's output: the per-epoch lines and progress bar, the per-layer table on stdout and the JSON report.
#pragma once

#include <unistd.h>

#include <Eigen/Core>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../common/provenance.hpp"
#include "bayesdrop/bayesdrop.hpp"
#include "run_settings.hpp"
#include "settings.hpp"

namespace trainer {

namespace bd = bayesdrop;

inline std::string join(const std::vector<bd::Index>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out;
}

/// Per-example counts (means over examples), one decimal each.
inline std::string join(const std::vector<double>& v) {
  std::string out;
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.1f", v[i]);
    out += (i ? ", " : "") + std::string(buf);
  }
  return out;
}

/// Prints one row per weight layer: inputs kept, outputs kept, memory and FLOPs kept, weight compression.
inline void print_summary(const bd::ModelSummary& s) {
  std::printf("%-6s %-16s %13s %13s %9s %9s %11s\n", "layer", "type", "inputs kept", "outputs kept", "memory", "FLOPs",
              "compression");
  for (std::size_t i = 0; i < s.layers.size(); ++i) {
    const auto& l = s.layers[i];
    const std::string in = std::to_string(l.active_in) + "/" + std::to_string(l.units_in);
    const std::string out = std::to_string(l.active_out) + "/" + std::to_string(l.units_out);
    std::printf("%-6zu %-16s %13s %13s %8.2f%% %8.2f%% %10.1fx\n", i + 1, l.type.c_str(), in.c_str(), out.c_str(),
                100 * l.memory_kept(), 100 * l.flops_kept_fraction(), l.compression());
  }
  std::printf("%-6s %-16s %13s %13s %8.2f%% %8.2f%% %10.1fx\n", "all", "", "", "", 100 * s.memory_kept(),
              100 * s.flops_kept(), s.compression());
  if (!s.n_active.empty()) std::printf("n_active: [%s]\n", join(s.n_active).c_str());
}

/// The summary as JSON: per layer (active_in is the gate's n_active where there is one) and totals.
inline nlohmann::json summary_json(const bd::ModelSummary& s) {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < s.layers.size(); ++i) {
    const auto& l = s.layers[i];
    layers.push_back({{"name", "layer" + std::to_string(i + 1)},
                      {"type", l.type},
                      {"units_in", l.units_in},
                      {"active_in", l.active_in},
                      {"input_kept", l.input_kept()},
                      {"units_out", l.units_out},
                      {"active_out", l.active_out},
                      {"weights", l.weights},
                      {"active_weights", l.active_weights},
                      {"params", l.params},
                      {"params_kept", l.params_kept},
                      {"memory_kept", l.memory_kept()},
                      {"flops", l.flops},
                      {"flops_kept", l.flops_kept_fraction()},
                      {"compression", l.compression()}});
  }
  return {{"layers", layers},
          {"n_active", s.n_active},
          {"params", s.params()},
          {"params_kept", s.params_kept()},
          {"memory_kept", s.memory_kept()},
          {"flops_kept", s.flops_kept()},
          {"compression", s.compression()}};
}

/// One epoch of the history as JSON.
inline nlohmann::json epoch_json(const bd::EpochLog& log) {
  return {{"epoch", log.epoch},
          {"seconds", log.train.seconds},
          {"train_cross_entropy", log.train.cross_entropy},
          {"train_accuracy", log.train.accuracy},
          {"test_cross_entropy", log.test.cross_entropy},
          {"test_accuracy", log.test.accuracy},
          {"kl", log.train.elbo.kl},
          {"kl_weight", log.kl_weight},
          {"l2", log.train.elbo.l2},
          {"loss", log.train.elbo.total()},
          {"lr", log.lr},
          {"n_active", log.n_active}};
}

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

inline void print_epoch(const bd::EpochLog& log) {
  std::printf("train: epoch %d, (%.3f secs), cent %.6f, acc %.6f, kl %.1f, kl weight %.3f, loss %.6f\n", log.epoch,
              log.train.seconds, log.train.cross_entropy, log.train.accuracy, log.train.elbo.kl, log.kl_weight,
              log.train.elbo.total());
  std::printf("test:  epoch %d, cent %.6f, acc %.6f\n", log.epoch, log.test.cross_entropy, log.test.accuracy);
  std::fflush(stdout);
}

inline void print_pretrain_epoch(const bd::EpochLog& log) {
  std::printf("pretrain: epoch %d, (%.3f secs), cent %.6f, acc %.6f\n", log.epoch, log.train.seconds,
              log.train.cross_entropy, log.train.accuracy);
  std::fflush(stdout);
}

/// The reference code's line; the rate is the gates' (the last group) when there are gates.
inline void print_epoch_start(int epoch, const std::vector<double>& lr, const std::vector<bd::Index>& n_active) {
  if (n_active.empty()) return;
  std::printf("Epoch %d start, learning rate %.6f n_active: [%s]\n", epoch, lr.back(), join(n_active).c_str());
}

/// What a finished (or loaded) run reports.
struct Outcome {
  std::vector<bd::EpochLog> history;  // empty for --load
  std::vector<int> epoch_threads;     // this session's epochs
  bd::EpochResult final_test;
  std::vector<double> per_example;  // gates' units kept per test example
  bd::ModelSummary summary;
  std::vector<std::string> warnings;
};

/// The model file's metadata fields after the spec's (bd::save_model with a ModelSpec).
inline bd::MetadataFields saved_fields(const Settings& opt, const bd::Recipe& recipe, double test_accuracy) {
  bd::MetadataFields fields{{"dataset", bd::json_string(opt.dataset)},
                            {"epochs", bd::json_number(recipe.epochs)},
                            {"seed", bd::json_number(double(opt.seed))},
                            {"test_accuracy", bd::json_number(test_accuracy)},
                            {"writer", bd::json_string("bayesdrop-mnist")}};
  if (opt.authors.center_inputs) fields.push_back({"center_inputs", "true"});  // --load and --init-from check it
  return fields;
}

/// The --report JSON.
inline nlohmann::json report_json(const Settings& opt, const bd::Recipe& recipe, const Outcome& out) {
  nlohmann::json epochs = nlohmann::json::array();
  std::vector<double> seconds;
  // One thread count per epoch of the run: the epochs of a resumed run's earlier sessions ran with the fixed
  // --threads count its checkpoint's settings hold (resume checks it); with auto, their counts were not recorded
  // (null).
  nlohmann::json threads_per_epoch = nlohmann::json::array();
  for (std::size_t e = out.epoch_threads.size(); e < out.history.size(); ++e) {
    threads_per_epoch.push_back(fixed_threads(opt) > 0 ? nlohmann::json(fixed_threads(opt)) : nlohmann::json());
  }
  for (const int n : out.epoch_threads) threads_per_epoch.push_back(n);
  for (const auto& log : out.history) {
    epochs.push_back(epoch_json(log));
    seconds.push_back(log.train.seconds);
  }
  nlohmann::json report = spec_json(opt.spec);
  report.update(summary_json(out.summary));
  report.update({{"dataset", opt.dataset},
                 {"recipe", recipe.name},
                 {"epochs", opt.load.empty() ? recipe.epochs : 0},
                 {"batch", recipe.batch},
                 {"lr", recipe.lr_weights},
                 {"lr_noise", recipe.lr_noise},
                 {"weight_decay", recipe.weight_decay},
                 {"seed", opt.seed},
                 {"pretrain_epochs", opt.pretrain},
                 {"pretrain_recipe", opt.authors.pretrain_sbp_adam ? kSbpPretrainRecipe : "assignment"},
                 {"init_from", opt.init_from},
                 {"n_active_per_example", out.per_example},
                 {"adam_beta1", recipe.adam_beta1},
                 {"adam_eps", recipe.adam_eps},
                 {"train_clip", recipe.train_clip},
                 {"center_inputs", opt.authors.center_inputs},
                 {"dense_init", dense_init(opt.authors, opt.spec.dropout).describe()},
                 {"shuffle", recipe.shuffle},
                 {"kl_scales", recipe.kl_scales},
                 {"threads", Eigen::nbThreads()},
                 {"threads_requested", opt.threads_requested},
                 {"epoch_threads", threads_per_epoch},
                 {"loaded_from", opt.load},
                 {"test_accuracy", out.final_test.accuracy},
                 {"test_cross_entropy", out.final_test.cross_entropy},
                 {"warnings", out.warnings},
                 {"epoch_seconds", seconds},
                 {"history", epochs}});
  report["provenance"] = provenance::json(opt.started, Eigen::nbThreads());
  return report;
}

/// The run's lines on stdout (none with --quiet but the warnings, on stderr), as the reference code prints them.
template <class Scalar>
bd::RunCallbacks<Scalar> printing_callbacks(const Settings& opt) {
  bd::RunCallbacks<Scalar> cb;
  cb.on_warning = [](const std::string& w) { std::fprintf(stderr, "bayesdrop-mnist: warning: %s\n", w.c_str()); };
  if (!opt.quiet) {
    cb.on_pretrain_epoch = print_pretrain_epoch;
    cb.on_epoch_start = print_epoch_start;
    cb.on_resume = [](bd::RunPhase phase, const std::string& path) {
      std::printf("resuming %sfrom %s\n", phase == bd::RunPhase::pretraining ? "the pretraining " : "", path.c_str());
    };
    cb.on_init_from = [path = opt.init_from](const bd::ModelSpec& from, bool gates) {
      std::printf("starting from %s (%s, %s): weights and biases%s\n", path.c_str(), from.model.c_str(),
                  from.dropout.c_str(), gates ? " and beta-Bernoulli gates" : "");
    };
    cb.on_threads = [](int before, int now, double busy) {
      std::printf("threads: %d -> %d (other processes kept %.1f cores busy)\n", before, now, busy);
    };
  }
  return cb;
}

}  // namespace trainer
