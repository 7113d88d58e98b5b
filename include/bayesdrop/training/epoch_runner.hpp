// One pass over a data set: a training epoch (shuffle, batches, forward, loss, backward, step) or an evaluation.
//
// The objective per batch is the ELBO scaled to one example:
//   loss = mean cross-entropy + kl_weight * KL / N
// (N = training-set size; KL = model.kl(), zero for models without a posterior). The KL gradient enters through
// model.kl_backward(kl_weight / N). Everything the loop needs is kept between batches, so an epoch allocates only
// on its first batch.
#pragma once

#include <chrono>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/io/dataset.hpp"
#include "bayesdrop/losses/softmax_cross_entropy.hpp"
#include "bayesdrop/optim/optimizer.hpp"
#include "bayesdrop/training/diagnose.hpp"
#include "bayesdrop/training/elbo.hpp"

namespace bayesdrop {

/// What one pass measured. Means are over examples.
struct EpochResult {
  double cross_entropy = 0;  ///< mean cross-entropy
  double accuracy = 0;       ///< fraction of examples whose arg-max logit is the label
  double kl = 0;             ///< model KL at the end of the pass (training) or at evaluation
  double seconds = 0;        ///< wall-clock time of the pass
  Index examples = 0;
  /// The loss's parts (training passes): mean cross-entropy of the epoch, KL at its end, the epoch's KL weight, N,
  /// and the L2 term of the optimiser's weight decay at its end.
  ElboTerms elbo;
};

struct EpochOptions {
  Index batch = 100;       ///< examples per mini-batch (> 0); a last, shorter batch is kept
  double kl_weight = 1.0;  ///< ELBO weight of KL / N (KL warm-up schedules set this per epoch)
  /// Reshuffle the training set every epoch. false: the batches come in the data set's stored order, the same every
  /// epoch, as SBP's LeNet-5 scripts feed them. Default: true
  bool shuffle = true;

  EpochOptions& with_batch(Index b) {
    batch = b;
    return *this;
  }
  EpochOptions& with_kl_weight(double w) {
    kl_weight = w;
    return *this;
  }
  EpochOptions& with_shuffle(bool on) {
    shuffle = on;
    return *this;
  }
};

/// Where a training pass is, after a batch: what a progress bar shows.
struct BatchProgress {
  Index done = 0;            ///< batches done in this pass
  Index total = 0;           ///< batches in the pass
  double cross_entropy = 0;  ///< running mean cross-entropy over the examples of the batches done
  double accuracy = 0;       ///< running accuracy over the same examples
};

/// Called after every training batch, e.g. to draw a progress bar with the running loss.
using ProgressFn = std::function<void(const BatchProgress&)>;

template <class Scalar>
class EpochRunner {
 public:
  explicit EpochRunner(EpochOptions options = {}) : options_(options) {
    if (options.batch <= 0) {
      throw InvalidArgument("EpochRunner: batch size must be positive, got " + std::to_string(options.batch));
    }
    if (!(options.kl_weight >= 0) || !std::isfinite(options.kl_weight)) {
      throw InvalidArgument("EpochRunner: kl_weight must be finite and >= 0, got " + std::to_string(options.kl_weight));
    }
  }

  const EpochOptions& options() const { return options_; }
  void set_kl_weight(double w) {
    if (!(w >= 0) || !std::isfinite(w)) {
      throw InvalidArgument("EpochRunner: kl_weight must be finite and >= 0, got " + std::to_string(w));
    }
    options_.kl_weight = w;
  }

  /// Trains the model for one epoch over `data` in an order reshuffled with `rng` (in its stored order without
  /// options().shuffle).
  /// Throws NumericalError when the loss becomes NaN or Inf (naming the batch), ShapeError when the model's input
  /// or output does not fit the data.
  EpochResult train_epoch(Layer<Scalar>& model, Optimizer<Scalar>& optimizer, const Dataset<Scalar>& data, Rng& rng,
                          const ProgressFn& progress = {}) {
    const auto start = std::chrono::steady_clock::now();
    shuffle(data.size(), options_.shuffle ? &rng : nullptr);
    const Index n = data.size(), batches = (n + options_.batch - 1) / options_.batch;
    const Scalar kl_coeff = Scalar(options_.kl_weight / double(n));
    const Context ctx = Context::train(rng);
    double ce_sum = 0;
    Index correct = 0;
    optimizer.zero_grad();  // once: every step() leaves the gradients zero
    for (Index b = 0; b < batches; ++b) {
      const Index first = b * options_.batch, count = std::min(options_.batch, n - first);
      gather_batch(data, order_, first, count, x_, y_);
      model.forward(x_, logits_, ctx);
      const Scalar ce = loss_.forward(logits_, y_);
      if (!std::isfinite(double(ce))) {
        const std::string where = describe_non_finite(model, &x_);
        throw NumericalError("training: the cross-entropy of batch " + std::to_string(b) + " is " +
                             std::to_string(double(ce)) + (where.empty() ? "" : "; " + where) +
                             ". Lower the learning rate, or check the input data and the layer's hyperparameters");
      }
      ce_sum += double(ce) * double(count);
      correct += loss_.correct();
      loss_.backward(y_, dlogits_);
      model.backward(x_, dlogits_, nullptr);
      if (kl_coeff != Scalar(0)) model.kl_backward(kl_coeff);
      optimizer.step();
      if (progress) {
        const double seen = double(first + count);
        progress(BatchProgress{b + 1, batches, ce_sum / seen, double(correct) / seen});
      }
    }
    EpochResult r;
    r.examples = n;
    r.cross_entropy = ce_sum / double(n);
    r.accuracy = double(correct) / double(n);
    r.kl = double(model.kl());
    if (!std::isfinite(r.kl)) {
      throw NumericalError("training: the KL term is " + std::to_string(r.kl) + " after the epoch; " +
                           describe_non_finite(model) + ". Lower the noise parameters' learning rate");
    }
    double l2 = 0;
    for (const auto& g : optimizer.groups()) l2 += l2_penalty(g.params, g.weight_decay);
    r.elbo = elbo_terms(r.cross_entropy, r.kl, options_.kl_weight, double(n), l2);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
  }

  /// Evaluates the model (Mode::eval, deterministic) on `data` in its stored order.
  EpochResult evaluate(Layer<Scalar>& model, const Dataset<Scalar>& data) {
    const auto start = std::chrono::steady_clock::now();
    const Index n = data.size();
    if (static_cast<Index>(identity_.size()) != n) {
      identity_.resize(static_cast<std::size_t>(n));
      std::iota(identity_.begin(), identity_.end(), Index(0));
    }
    double ce_sum = 0;
    Index correct = 0;
    const Context ctx = Context::eval();
    for (Index first = 0; first < n; first += options_.batch) {
      const Index count = std::min(options_.batch, n - first);
      gather_batch(data, identity_, first, count, x_, y_);
      model.forward(x_, logits_, ctx);
      ce_sum += double(loss_.forward(logits_, y_)) * double(count);
      correct += loss_.correct();
    }
    EpochResult r;
    r.examples = n;
    r.cross_entropy = n ? ce_sum / double(n) : 0.0;
    r.accuracy = n ? double(correct) / double(n) : 0.0;
    r.kl = double(model.kl());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
  }

 private:
  // Fisher-Yates with the run's generator, so that the order is reproducible from the seed; no generator: the
  // stored order.
  void shuffle(Index n, Rng* rng) {
    if (n <= 0) throw InvalidArgument("EpochRunner: the training set is empty");
    if (static_cast<Index>(order_.size()) != n) order_.resize(static_cast<std::size_t>(n));
    std::iota(order_.begin(), order_.end(), Index(0));
    if (!rng) return;
    for (Index i = n - 1; i > 0; --i) {
      const auto j = static_cast<Index>(rng->uniform_index(static_cast<std::uint64_t>(i + 1)));
      std::swap(order_[static_cast<std::size_t>(i)], order_[static_cast<std::size_t>(j)]);
    }
  }

  EpochOptions options_;
  std::vector<Index> order_, identity_;
  Matrix<Scalar> x_, logits_, dlogits_;
  Labels y_;
  SoftmaxCrossEntropy<Scalar> loss_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(EpochRunner)

}  // namespace bayesdrop
