// Metrics of predictive uncertainty on a probability matrix P (classes x N, one column per example, columns summing
// to 1) and its labels: accuracy, negative log-likelihood, Brier score, expected calibration error with its
// reliability diagram, per-example predictive entropy, and the AUROC of a score that should separate two sets
// (e.g. misclassified from correct examples, or out-of-distribution from in-distribution inputs).
//
// Every sum is accumulated in double, whatever the scalar of P. The functions check P: at least one row and one
// column, entries in [0, 1] and columns summing to 1 within 1e-3 (loose enough for float softmax, tight enough to
// catch logits passed by mistake, the most common misuse).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

/// One bin of a reliability diagram: the examples whose confidence lies in [lower, upper).
struct ReliabilityBin {
  double lower = 0, upper = 0;  ///< bin edges i/B and (i+1)/B
  Index count = 0;              ///< examples in the bin
  double confidence = 0;        ///< their mean confidence (0 when count == 0)
  double accuracy = 0;          ///< fraction of them classified correctly (0 when count == 0)
};

/// Expected calibration error and the reliability diagram it was computed from.
struct Calibration {
  double ece = 0;                    ///< sum over bins of count/N * |accuracy - confidence|
  std::vector<ReliabilityBin> bins;  ///< B bins, in increasing order of confidence
};

namespace detail {

/// Entropy in nats of one probability column, with 0 log 0 = 0.
template <class Derived>
double column_entropy(const Eigen::MatrixBase<Derived>& p) {
  double h = 0;
  for (Index k = 0; k < p.size(); ++k) {
    const double pk = double(p(k));
    if (pk > 0) h -= pk * std::log(pk);
  }
  return h;
}

template <class Derived>
void check_probabilities(const Eigen::MatrixBase<Derived>& probs, const char* where) {
  if (probs.rows() < 1 || probs.cols() < 1) {
    throw ShapeError(std::string(where) + ": the probabilities must be classes x N with both >= 1, got " +
                     shape_string(long(probs.rows()), long(probs.cols())));
  }
  for (Index j = 0; j < probs.cols(); ++j) {
    double sum = 0;
    for (Index k = 0; k < probs.rows(); ++k) {
      const double p = double(probs(k, j));
      if (!(p >= 0 && p <= 1)) {  // also rejects NaN
        throw InvalidArgument(std::string(where) + ": entry (" + std::to_string(k) + ", " + std::to_string(j) +
                              ") is " + std::to_string(p) +
                              ", not a probability in [0, 1]; pass softmax outputs, "
                              "not logits");
      }
      sum += p;
    }
    if (std::abs(sum - 1.0) > 1e-3) {
      throw InvalidArgument(std::string(where) + ": column " + std::to_string(j) + " sums to " + std::to_string(sum) +
                            ", not 1; each column must be one example's class probabilities");
    }
  }
}

template <class Derived>
void check_labelled(const Eigen::MatrixBase<Derived>& probs, const Labels& labels, const char* where) {
  if (labels.size() != probs.cols()) {
    throw ShapeError(std::string(where) + ": probabilities of shape " +
                     shape_string(long(probs.rows()), long(probs.cols())) + " (classes x N) but labels of shape " +
                     shape_string(long(labels.rows()), long(labels.cols())) + "; need one label per column");
  }
  check_probabilities(probs, where);
  for (Index j = 0; j < labels.size(); ++j) {
    if (labels[j] < 0 || labels[j] >= probs.rows()) {
      throw InvalidArgument(std::string(where) + ": label " + std::to_string(labels[j]) + " of example " +
                            std::to_string(j) + " is outside 0.." + std::to_string(probs.rows() - 1));
    }
  }
}

}  // namespace detail

/// Fraction of examples whose most probable class (the first one on ties) is the label.
template <class Derived>
double accuracy(const Eigen::MatrixBase<Derived>& probs, const Labels& labels) {
  detail::check_labelled(probs, labels, "accuracy");
  Index correct = 0;
  for (Index j = 0; j < probs.cols(); ++j) {
    Index arg = 0;
    probs.col(j).maxCoeff(&arg);
    correct += (arg == labels[j]);
  }
  return double(correct) / double(probs.cols());
}

/// Mean over examples of -log p[label] (nats).
///
/// A probability below the smallest normal number of P's scalar type (std::numeric_limits<Scalar>::min(), so only an
/// underflowed or exact 0) is raised to it first: a 0 costs -log(min) = 87.3 for float and 708.4 for double, large
/// but finite, and no probability a softmax can represent normally is changed.
template <class Derived>
double negative_log_likelihood(const Eigen::MatrixBase<Derived>& probs, const Labels& labels) {
  detail::check_labelled(probs, labels, "negative_log_likelihood");
  using Scalar = typename Derived::Scalar;
  const double floor = double(std::numeric_limits<Scalar>::min());
  double total = 0;
  for (Index j = 0; j < probs.cols(); ++j) total -= std::log(std::max(double(probs(labels[j], j)), floor));
  return total / double(probs.cols());
}

/// Brier score, multi-class form: mean over examples of sum over classes of (p_k - onehot_k)^2.
///
/// Range [0, 2]: 0 for a certain correct prediction, 2 for a certain wrong one. This is Brier's (1950) original
/// definition; some libraries divide it by the number of classes, or score only the true class's probability.
template <class Derived>
double brier_score(const Eigen::MatrixBase<Derived>& probs, const Labels& labels) {
  detail::check_labelled(probs, labels, "brier_score");
  double total = 0;
  for (Index j = 0; j < probs.cols(); ++j) {
    for (Index k = 0; k < probs.rows(); ++k) {
      const double d = double(probs(k, j)) - (k == labels[j] ? 1.0 : 0.0);
      total += d * d;
    }
  }
  return total / double(probs.cols());
}

/// Expected calibration error (Guo et al. 2017) over `bins` equal-width bins of confidence = max_k p_k.
///
/// Bin i holds confidences in [i/B, (i+1)/B), with the edges computed as double(i) / B, so a confidence exactly on
/// an edge goes to the bin above it; confidence 1 goes to the last bin. An example counts as correct when its most
/// probable class (the first on ties) is the label. ECE = sum_i count_i / N * |accuracy_i - confidence_i|.
/// Throws InvalidArgument unless bins >= 1.
template <class Derived>
Calibration expected_calibration_error(const Eigen::MatrixBase<Derived>& probs, const Labels& labels, Index bins = 15) {
  if (bins < 1) {
    throw InvalidArgument("expected_calibration_error: need at least one bin, got " + std::to_string(bins));
  }
  detail::check_labelled(probs, labels, "expected_calibration_error");
  Calibration c;
  c.bins.resize(static_cast<std::size_t>(bins));
  const double b = double(bins);
  for (Index i = 0; i < bins; ++i) {
    c.bins[std::size_t(i)].lower = double(i) / b;
    c.bins[std::size_t(i)].upper = double(i + 1) / b;
  }
  for (Index j = 0; j < probs.cols(); ++j) {
    Index arg = 0;
    const double conf = double(probs.col(j).maxCoeff(&arg));
    // floor(conf * B) can be off by one from the edges double(i) / B through rounding; correct it against them.
    Index i = std::min<Index>(bins - 1, Index(conf * b));
    while (i > 0 && conf < c.bins[std::size_t(i)].lower) --i;
    while (i + 1 < bins && conf >= c.bins[std::size_t(i + 1)].lower) ++i;
    ReliabilityBin& bin = c.bins[std::size_t(i)];
    ++bin.count;
    bin.confidence += conf;  // sums for now, means below
    bin.accuracy += (arg == labels[j]) ? 1.0 : 0.0;
  }
  const double n = double(probs.cols());
  for (auto& bin : c.bins) {
    if (bin.count == 0) continue;
    bin.confidence /= double(bin.count);
    bin.accuracy /= double(bin.count);
    c.ece += double(bin.count) / n * std::abs(bin.accuracy - bin.confidence);
  }
  return c;
}

/// Per-example predictive entropy -sum_k p_k log p_k in nats (0 log 0 = 0): N values for a classes x N matrix.
template <class Derived>
Vector<double> predictive_entropy(const Eigen::MatrixBase<Derived>& probs) {
  detail::check_probabilities(probs, "predictive_entropy");
  Vector<double> h(probs.cols());
  for (Index j = 0; j < probs.cols(); ++j) h[j] = detail::column_entropy(probs.col(j));
  return h;
}

/// Area under the ROC curve of a score meant to be higher on positives: P(positive score > negative score), a tie
/// counting 1/2. Computed exactly as the Mann-Whitney U statistic from the rank sum of the positives in the pooled,
/// sorted scores, tied scores sharing their average rank; O(n log n). Scores may be +-infinity.
/// Throws InvalidArgument when either set is empty (naming it) or a score is NaN.
inline double auroc(const std::vector<double>& negative_scores, const std::vector<double>& positive_scores) {
  if (negative_scores.empty() || positive_scores.empty()) {
    throw InvalidArgument(std::string("auroc: the ") + (negative_scores.empty() ? "negative" : "positive") +
                          " scores are empty; the AUROC needs at least one negative and one positive example");
  }
  std::vector<std::pair<double, bool>> pooled;  // (score, is positive)
  pooled.reserve(negative_scores.size() + positive_scores.size());
  for (const auto* set : {&negative_scores, &positive_scores}) {
    const bool positive = set == &positive_scores;
    for (std::size_t i = 0; i < set->size(); ++i) {
      if (std::isnan((*set)[i])) {
        throw InvalidArgument(std::string("auroc: ") + (positive ? "positive" : "negative") + " score " +
                              std::to_string(i) + " is NaN");
      }
      pooled.emplace_back((*set)[i], positive);
    }
  }
  std::sort(pooled.begin(), pooled.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // Twice the rank sum, in integers: a tie group at 1-based positions s+1 .. s+g shares the rank (2s + g + 1) / 2.
  std::uint64_t twice_rank_sum = 0;
  for (std::size_t s = 0; s < pooled.size();) {
    std::size_t e = s;
    std::uint64_t positives = 0;
    for (; e < pooled.size() && pooled[e].first == pooled[s].first; ++e) positives += pooled[e].second;
    twice_rank_sum += positives * (2 * std::uint64_t(s) + std::uint64_t(e - s) + 1);
    s = e;
  }
  const auto n_pos = std::uint64_t(positive_scores.size()), n_neg = std::uint64_t(negative_scores.size());
  const std::uint64_t twice_u = twice_rank_sum - n_pos * (n_pos + 1);  // 2U = 2R - n_pos (n_pos + 1)
  return double(twice_u) / (2.0 * double(n_pos) * double(n_neg));
}

/// auroc() of Eigen vectors, such as McPrediction's entropy or mutual_information of two data sets.
template <class DerivedNeg, class DerivedPos>
double auroc(const Eigen::DenseBase<DerivedNeg>& negative_scores, const Eigen::DenseBase<DerivedPos>& positive_scores) {
  auto to_vector = [](const auto& v) {
    std::vector<double> out(std::size_t(v.size()));
    for (Index i = 0; i < v.size(); ++i) out[std::size_t(i)] = double(v.derived().coeff(i));
    return out;
  };
  return auroc(to_vector(negative_scores), to_vector(positive_scores));
}

}  // namespace bayesdrop
