// Monte Carlo prediction (Gal & Ghahramani 2016, "Dropout as a Bayesian approximation"): average the softmax of K
// forward passes with the dropout noise on, and split the predictive uncertainty into two parts.
//
//   mean_probs          p_bar = (1/K) sum_k softmax(f(x; noise_k))
//   entropy             H[p_bar]                                  total uncertainty
//   mutual_information  H[p_bar] - (1/K) sum_k H[softmax_k]       epistemic uncertainty
//
// Why the mutual information is the epistemic part: it estimates I(y; w | x), how much observing the label would
// tell us about the weights (the noise). It is large only when the passes DISAGREE, each confident about a
// different class, which happens where the posterior over weights is wide, i.e. far from the training data; more
// data shrinks it. The mean entropy of the passes is the aleatoric part: the noise every pass agrees on (an
// ambiguous digit), which more data does not remove. A model without noise has identical passes and MI = 0.
//
// The passes run with Context::monte_carlo(rng): the dropout layers draw noise as in training, but the rest of the
// network is the evaluation network: BatchNorm normalises with its running statistics and never updates them, and
// no backward pass runs. So the passes change nothing in the model, and a pass on one batch does not depend on the
// other examples in it.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "bayesdrop/core/context.hpp"
#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/types.hpp"
#include "bayesdrop/uncertainty/metrics.hpp"

namespace bayesdrop {

/// Settings of McPredictor.
struct McOptions {
  Index samples = 10;  ///< K, stochastic forward passes per example (>= 1)
  Index batch = 1000;  ///< examples per forward pass (>= 1); the last batch may be shorter

  McOptions& with_samples(Index k) {
    samples = k;
    return *this;
  }
  McOptions& with_batch(Index b) {
    batch = b;
    return *this;
  }
};

/// What McPredictor returns for N examples of a model with C outputs (classes). Entropies are in nats.
struct McPrediction {
  Matrix<double> mean_probs;          ///< C x N: the mean over passes of the softmax; columns sum to 1
  Vector<double> entropy;             ///< N: predictive entropy H[mean_probs.col(j)], total uncertainty
  Vector<double> mutual_information;  ///< N: entropy minus the mean entropy of the passes, epistemic uncertainty
};

/// Monte Carlo (and deterministic) prediction with reusable buffers.
///
/// Keep one McPredictor and pass the same McPrediction to predict(): its buffers and the predictor's are resized
/// only when N or the batch size changes, so repeated predictions on same-sized inputs allocate nothing after the
/// first batch (the model keeps its own buffers, see core/layer.hpp).
template <class Scalar>
class McPredictor {
 public:
  /// Throws InvalidArgument unless options.samples >= 1 and options.batch >= 1.
  explicit McPredictor(McOptions options = {}) : options_(options) {
    if (options.samples < 1) {
      throw InvalidArgument("McPredictor: need at least one Monte Carlo sample (K >= 1), got " +
                            std::to_string(options.samples));
    }
    if (options.batch < 1) {
      throw InvalidArgument("McPredictor: batch size must be positive, got " + std::to_string(options.batch));
    }
  }

  const McOptions& options() const { return options_; }

  /// K stochastic passes of `model` (Context::monte_carlo: noise from `rng`, BatchNorm's running statistics) over x
  /// (model.input_rows() x N), in batches of options().batch columns; the result goes to `out`.
  ///
  /// The same generator state gives the same result. The noise is drawn batch by batch (all K passes of a batch,
  /// then the next batch), so the result also depends on the batch size. Tiny negative mutual information from
  /// rounding (>= -1e-9; it is >= 0 mathematically, by Jensen's inequality) is set to 0; anything more negative is
  /// left as computed, so that a bug shows. Throws ShapeError when x's rows do not match the model's input, and
  /// NumericalError when a pass produces a non-finite logit.
  void predict(Layer<Scalar>& model, const Matrix<Scalar>& x, Rng& rng, McPrediction& out) {
    run(model, x, Context::monte_carlo(rng), options_.samples, out, "McPredictor::predict");
  }

  /// As predict(model, x, rng, out), returning a new McPrediction.
  McPrediction predict(Layer<Scalar>& model, const Matrix<Scalar>& x, Rng& rng) {
    McPrediction out;
    predict(model, x, rng, out);
    return out;
  }

  /// One deterministic pass (Mode::eval, no noise): mean_probs = softmax of the logits, entropy = its entropy,
  /// mutual_information = 0. Independent of the batch size, up to the rounding of the model's matrix products
  /// (a float GEMM of another shape may round differently, ~1e-7).
  void deterministic(Layer<Scalar>& model, const Matrix<Scalar>& x, McPrediction& out) {
    run(model, x, Context::eval(), 1, out, "McPredictor::deterministic");
    out.mutual_information.setZero();
  }

  /// As deterministic(model, x, out), returning a new McPrediction.
  McPrediction deterministic(Layer<Scalar>& model, const Matrix<Scalar>& x) {
    McPrediction out;
    deterministic(model, x, out);
    return out;
  }

 private:
  void run(Layer<Scalar>& model, const Matrix<Scalar>& x, const Context& ctx, Index passes, McPrediction& out,
           const char* where) {
    if (x.rows() != model.input_rows()) {
      throw ShapeError(std::string(where) + ": input of shape " + detail::shape_string(long(x.rows()), long(x.cols())) +
                       " but the model takes " + std::to_string(model.input_rows()) + " x N (features x examples)");
    }
    const Index classes = model.output_rows(), n = x.cols();
    resize(out.mean_probs, classes, n);
    resize(out.entropy, n);
    resize(out.mutual_information, n);  // holds the sum of the passes' entropies until the end of each batch
    resize(p_, classes);
    const double inv_passes = 1.0 / double(passes);

    for (Index first = 0; first < n; first += options_.batch) {
      const Index count = std::min(options_.batch, n - first);
      resize(xb_, x.rows(), count);
      xb_ = x.middleCols(first, count);
      auto mean = out.mean_probs.middleCols(first, count);
      auto pass_entropy = out.mutual_information.segment(first, count);
      mean.setZero();
      pass_entropy.setZero();
      for (Index k = 0; k < passes; ++k) {
        model.forward(xb_, logits_, ctx);
        if (logits_.rows() != classes || logits_.cols() != count) {
          throw ShapeError(std::string(where) + ": the model produced logits of shape " +
                           detail::shape_string(long(logits_.rows()), long(logits_.cols())) + ", expected " +
                           detail::shape_string(long(classes), long(count)));
        }
        if (!logits_.allFinite()) {
          throw NumericalError(std::string(where) + ": pass " + std::to_string(k) + " on examples " +
                               std::to_string(first) + ".." + std::to_string(first + count - 1) +
                               " produced a non-finite logit; the model's weights or the input are not finite");
        }
        for (Index j = 0; j < count; ++j) {
          // Stable softmax: subtracting the column maximum keeps exp() <= 1, and the largest term is exactly 1,
          // so the sum is >= 1 and never underflows.
          const double zmax = double(logits_.col(j).maxCoeff());
          p_ = (logits_.col(j).template cast<double>().array() - zmax).exp().matrix();
          p_ /= p_.sum();
          mean.col(j) += p_;
          pass_entropy[j] += detail::column_entropy(p_);
        }
      }
      mean *= inv_passes;
      for (Index j = 0; j < count; ++j) {
        const double h = detail::column_entropy(mean.col(j));
        double mi = h - pass_entropy[j] * inv_passes;
        if (mi < 0 && mi >= -1e-9) mi = 0;  // rounding only; see predict()
        out.entropy[first + j] = h;
        pass_entropy[j] = mi;
      }
    }
  }

  template <class M>
  static void resize(M& m, Index rows, Index cols) {
    if (m.rows() != rows || m.cols() != cols) m.resize(rows, cols);
  }
  template <class V>
  static void resize(V& v, Index size) {
    if (v.size() != size) v.resize(size);
  }

  McOptions options_;
  Matrix<Scalar> xb_, logits_;  // one batch of inputs, and the model's logits for it
  Vector<double> p_;            // softmax of one column of one pass
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(McPredictor)

}  // namespace bayesdrop
