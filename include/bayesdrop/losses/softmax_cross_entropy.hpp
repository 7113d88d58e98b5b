// Softmax cross-entropy, the data term of every model's loss.
//
//   forward:   p = softmax(z) per column, loss = mean_i -log p[y_i, i]   (computed as logsumexp(z) - z_y, stable)
//   backward:  dz = (p - onehot(y)) / B                                    (the gradient of the MEAN over the batch)
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

template <class Scalar>
class SoftmaxCrossEntropy {
 public:
  /// logits: classes x B; labels: B values in [0, classes). Returns the mean cross-entropy and caches the
  /// probabilities and the number of columns whose arg-max equals the label.
  Scalar forward(const Matrix<Scalar>& logits, const Labels& labels) {
    check(logits, labels);
    const Index classes = logits.rows(), batch = logits.cols();
    probs_.resize(classes, batch);
    double total = 0;
    correct_ = 0;
    for (Index j = 0; j < batch; ++j) {
      Index arg = 0;
      const Scalar zmax = logits.col(j).maxCoeff(&arg);
      probs_.col(j) = (logits.col(j).array() - zmax).exp();
      const Scalar sum = probs_.col(j).sum();
      probs_.col(j) /= sum;
      const Label y = labels[j];
      total += double(std::log(sum) - (logits(y, j) - zmax));
      correct_ += (arg == y);
    }
    return Scalar(total / double(batch));
  }

  /// Overwrites dlogits with d mean-loss / d logits for the most recent forward.
  void backward(const Labels& labels, Matrix<Scalar>& dlogits) const {
    const Index batch = probs_.cols();
    if (labels.size() != batch) {
      throw ShapeError("SoftmaxCrossEntropy::backward: " + std::to_string(labels.size()) +
                       " labels for a forward pass of " + std::to_string(batch) + " columns");
    }
    dlogits = probs_;
    for (Index j = 0; j < batch; ++j) dlogits(labels[j], j) -= Scalar(1);
    dlogits *= Scalar(1) / Scalar(batch);
  }

  /// softmax(z) of the most recent forward: classes x B.
  const Matrix<Scalar>& probabilities() const { return probs_; }
  /// Columns of the most recent forward whose largest logit is the label.
  Index correct() const { return correct_; }

 private:
  static void check(const Matrix<Scalar>& logits, const Labels& labels) {
    if (logits.rows() < 1 || logits.cols() < 1) {
      throw ShapeError("SoftmaxCrossEntropy: logits must be classes x batch with both >= 1, got " +
                       detail::shape_string(logits.rows(), logits.cols()));
    }
    if (labels.size() != logits.cols()) {
      throw ShapeError("SoftmaxCrossEntropy: " + std::to_string(labels.size()) + " labels for " +
                       std::to_string(logits.cols()) + " columns of logits (one label per observation)");
    }
    for (Index j = 0; j < labels.size(); ++j) {
      if (labels[j] < 0 || labels[j] >= logits.rows()) {
        throw InvalidArgument("SoftmaxCrossEntropy: label " + std::to_string(labels[j]) + " of observation " +
                              std::to_string(j) + " is outside 0.." + std::to_string(logits.rows() - 1) +
                              "; the last layer needs one output per class");
      }
    }
  }

  Matrix<Scalar> probs_;
  Index correct_ = 0;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(SoftmaxCrossEntropy)

}  // namespace bayesdrop
