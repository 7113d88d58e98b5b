// Where one training step's time goes: every layer's forward, backward and KL gradient, the loss and the
// optimiser, for each dropout family, timed phase by phase on the same steps (issue #18's profile).
//
//   bench_phases [--model mlp|lenet5] [--threads T] [--steps S] [--dropout "none bbd ..."] [--markdown]
//
// For each family the step is the trainer's (EpochRunner::train_epoch): forward in training mode, softmax
// cross-entropy forward and backward, backward through the layers (skipping those in front of the first one with
// parameters and taking the input-gate shortcut, as Sequential::backward does when no input gradient is wanted), the KL
// gradient with coefficient 1/60000 and Adam with the family's recipe groups. Each call is timed with steady_clock
// (about 20 ns a call, 20-odd calls a step) over S steps after 20 warm-up steps, on random inputs in (0, 1] with random
// labels from a pool of 60 batches (MNIST or random data hardly change the time per step). The families run one after
// the other, interleaved round by round (R rounds of S/R steps) so that a change in the machine's load affects them
// alike.
//
// Output: per family the microseconds per step of each phase and its share; then one line per family with the
// totals (forward, backward, KL gradient, optimiser, step) and the step against the plain network's from the same run.
#include <Eigen/Core>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "bayesdrop/losses/softmax_cross_entropy.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/training/family_recipes.hpp"
#include "bayesdrop/training/recipe.hpp"

namespace {

namespace bd = bayesdrop;
using Mat = bd::Matrix<float>;
using Clock = std::chrono::steady_clock;

constexpr bd::Index kBatch = 100;
constexpr int kPool = 60, kWarmup = 20, kRounds = 5;
constexpr std::uint64_t kSeed = 20261205;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// One family's model, optimiser and buffers, and the time accumulated per phase.
struct Profiled {
  std::string dropout;
  bd::Sequential<float> model;
  std::unique_ptr<bd::Adam<float>> adam;
  bd::SoftmaxCrossEntropy<float> loss;
  std::vector<Mat> outputs, grads;
  Mat dlogits;
  bd::Vector<float> row_scale_grad;
  std::size_t first_trainable = 0;
  // Seconds per phase: forward[i], backward[i], kl[i] per layer; loss; optimiser.
  std::vector<double> forward, backward, kl;
  double loss_s = 0, optimiser_s = 0;
  long steps = 0;

  Profiled(const std::string& network, const std::string& d, bd::Rng& rng)
      : dropout(d), model(bd::build_model<float>(bd::ModelSpec{network, d}, rng)) {
    const bd::Recipe recipe = bd::recipe_for_dropout(d, network);
    adam = std::make_unique<bd::Adam<float>>(recipe.param_groups(model, 600, 1));
    const auto n = static_cast<std::size_t>(model.size());
    outputs.resize(n);
    grads.resize(n);
    forward.assign(n, 0);
    backward.assign(n, 0);
    kl.assign(n, 0);
    while (first_trainable < n && model.layer(bd::Index(first_trainable)).parameters().empty()) ++first_trainable;
    adam->zero_grad();
  }

  void step(const Mat& x, const bd::Labels& y, bd::Rng& rng, bool timed) {
    const bd::Context ctx = bd::Context::train(rng);
    const std::size_t n = outputs.size();
    const Mat* in = &x;
    for (std::size_t i = 0; i < n; ++i) {
      const auto t = Clock::now();
      model.layer(bd::Index(i)).forward(*in, outputs[i], ctx);
      if (timed) forward[i] += seconds_since(t);
      in = &outputs[i];
    }
    auto t = Clock::now();
    loss.forward(outputs.back(), y);
    loss.backward(y, dlogits);
    if (timed) loss_s += seconds_since(t);
    const Mat* upstream = &dlogits;
    for (std::size_t i = n; i-- > first_trainable;) {
      const Mat& layer_in = i == 0 ? x : outputs[i - 1];
      if (i == first_trainable + 1 && model.layer(bd::Index(first_trainable)).row_scaled_output()) {
        // Sequential::backward's input-gate shortcut, timed as the two layers' backward
        t = Clock::now();
        const bool taken = model.layer(bd::Index(i)).backward_row_scale(layer_in, *upstream, row_scale_grad);
        if (timed) backward[i] += seconds_since(t);
        if (taken) {
          const std::size_t g = first_trainable;
          t = Clock::now();
          model.layer(bd::Index(g)).backward_from_row_scale(g == 0 ? x : outputs[g - 1], row_scale_grad);
          if (timed) backward[g] += seconds_since(t);
          break;
        }
      }
      Mat* down = i == first_trainable ? nullptr : &grads[i];
      t = Clock::now();
      model.layer(bd::Index(i)).backward(layer_in, *upstream, down);
      if (timed) backward[i] += seconds_since(t);
      upstream = down;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const float scale = float(model.kl_scale(bd::Index(i)));
      if (scale == 0.0f) continue;
      t = Clock::now();
      model.layer(bd::Index(i)).kl_backward(scale / 60000.0f);
      if (timed) kl[i] += seconds_since(t);
    }
    t = Clock::now();
    adam->step();
    if (timed) {
      optimiser_s += seconds_since(t);
      ++steps;
    }
  }

  double total_forward() const { return sum(forward); }
  double total_backward() const { return sum(backward); }
  double total_kl() const { return sum(kl); }
  double total() const { return total_forward() + total_backward() + total_kl() + loss_s + optimiser_s; }
  static double sum(const std::vector<double>& v) {
    double s = 0;
    for (double a : v) s += a;
    return s;
  }
};

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::istringstream in(list);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

void usage_error(const std::string& what) {
  std::fprintf(stderr,
               "bench_phases: %s\nusage: bench_phases [--model mlp|lenet5] [--threads T] [--steps S] "
               "[--dropout \"none bbd ...\"]\n",
               what.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string network = "mlp", families;
  int threads = 1;
  long steps = 300;
  for (int a = 1; a < argc; ++a) {
    const std::string flag = argv[a];
    if (a + 1 >= argc) usage_error("'" + flag + "' needs a value");
    const std::string value = argv[++a];
    try {
      if (flag == "--model") {
        network = value;
      } else if (flag == "--threads") {
        threads = std::stoi(value);
      } else if (flag == "--steps") {
        steps = std::stol(value);
      } else if (flag == "--dropout") {
        families = value;
      } else {
        usage_error("unknown flag '" + flag + "'");
      }
    } catch (const std::logic_error&) {
      usage_error("'" + value + "' is not a number for " + flag);
    }
  }
  if (threads < 1 || steps < kRounds) usage_error("--threads must be >= 1 and --steps >= 5");
  if (network != "mlp" && network != "lenet5") usage_error("--model must be mlp or lenet5");
  std::vector<std::string> names = families.empty() ? bd::dropout_names() : split(families);
  if (names.empty() || names.front() != "none") names.insert(names.begin(), "none");  // the reference
  Eigen::setNbThreads(threads);

  bd::Rng data_rng(kSeed);
  std::vector<Mat> xs(kPool, Mat(784, kBatch));  // both networks read 28 x 28 pixels
  std::vector<bd::Labels> ys(kPool, bd::Labels(kBatch));
  for (int b = 0; b < kPool; ++b) {
    data_rng.uniform(xs[std::size_t(b)]);
    for (bd::Index j = 0; j < kBatch; ++j) ys[std::size_t(b)][j] = bd::Label(data_rng.uniform_index(10));
  }

  std::vector<std::unique_ptr<Profiled>> runs;
  bd::Rng rng(kSeed + 1);
  try {
    for (const auto& d : names) runs.push_back(std::make_unique<Profiled>(network, d, rng));
  } catch (const std::exception& e) {
    usage_error(e.what());
  }
  for (auto& r : runs) {
    for (int s = 0; s < kWarmup; ++s) r->step(xs[std::size_t(s % kPool)], ys[std::size_t(s % kPool)], rng, false);
  }
  const long per_round = steps / kRounds;
  for (int round = 0; round < kRounds; ++round) {
    for (auto& r : runs) {
      for (long s = 0; s < per_round; ++s) {
        const auto b = std::size_t((round * per_round + s) % kPool);
        r->step(xs[b], ys[b], rng, true);
      }
    }
  }

  const double us = 1e6;
  std::printf("# One training step, phase by phase: %s, batch %ld, %d thread(s), %ld steps per family\n\n",
              network.c_str(), long(kBatch), Eigen::nbThreads(), per_round * kRounds);
  for (const auto& r : runs) {
    const double n = double(r->steps), total = r->total();
    std::printf("## %s: %.0f us per step\n\n| layer | phase | us per step | share |\n|---|---|---:|---:|\n",
                r->dropout.c_str(), total / n * us);
    auto row = [&](const std::string& layer, const char* phase, double s) {
      if (s > 0) std::printf("| %s | %s | %.1f | %.1f %% |\n", layer.c_str(), phase, s / n * us, 100 * s / total);
    };
    for (std::size_t i = 0; i < r->forward.size(); ++i) {
      const std::string layer = std::to_string(i) + " " + std::string(r->model.layer(bd::Index(i)).name());
      row(layer, "forward", r->forward[i]);
      row(layer, "backward", r->backward[i]);
      row(layer, "KL gradient", r->kl[i]);
    }
    row("-", "loss", r->loss_s);
    row("-", "optimiser", r->optimiser_s);
    std::printf("\n");
  }
  const double plain = runs.front()->total() / double(runs.front()->steps);
  std::printf(
      "## Totals, us per step\n\n| dropout | forward | backward | KL gradient | loss | optimiser | step | x plain "
      "|\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& r : runs) {
    const double n = double(r->steps);
    std::printf("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f |\n", r->dropout.c_str(),
                r->total_forward() / n * us, r->total_backward() / n * us, r->total_kl() / n * us, r->loss_s / n * us,
                r->optimiser_s / n * us, r->total() / n * us, r->total() / n / plain);
  }
  return 0;
}
