// What bayesdrop-uncertainty measures, for one predictor (deterministic or Monte Carlo): calibration on the MNIST
// test set, out-of-distribution detection against Fashion-MNIST, and the curves of a rotated digit.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "bayesdrop/bayesdrop.hpp"
#include "rotation.hpp"

namespace uncertainty {

/// Scores of one predictor. An AUROC is empty when its score is the same for every image (see ood_auroc).
struct Scores {
  double accuracy = 0, nll = 0, brier = 0;
  bd::Calibration calibration;  // ECE and the reliability bins
  std::optional<double> auroc_entropy, auroc_mutual_information;
  double mean_entropy_in = 0, mean_entropy_ood = 0;  // nats, MNIST test and Fashion-MNIST test
  double mean_mi_in = 0, mean_mi_ood = 0;
};

/// The accuracy, mean predictive entropy and mean mutual information of one predictor on one digit, per angle.
struct RotationCurve {
  std::vector<double> accuracy, entropy, mutual_information;
};

/// The AUROC of `score` separating in-distribution (negatives) from OOD inputs (positives); empty when the score
/// does not vary (spread <= 1e-9 nats over both sets). That is the case of the mutual information of a
/// deterministic pass (0 by definition) and of the MC passes of a model without noise (0 up to rounding): the
/// AUROC would be 0.5 by construction, or a coin toss decided by rounding, and reporting a number would suggest a
/// measurement where there is none.
inline std::optional<double> ood_auroc(const bd::Vector<double>& in, const bd::Vector<double>& ood) {
  const double lo = std::min(in.minCoeff(), ood.minCoeff()), hi = std::max(in.maxCoeff(), ood.maxCoeff());
  if (hi - lo <= 1e-9) return std::nullopt;
  return bd::auroc(std::vector<double>(in.data(), in.data() + in.size()),
                   std::vector<double>(ood.data(), ood.data() + ood.size()));
}

/// Scores `in` (predictions on the labelled in-distribution test set) and the OOD detection of `ood`.
inline Scores score(const bd::McPrediction& in, const bd::Labels& labels, const bd::McPrediction& ood, bd::Index bins) {
  Scores s;
  s.accuracy = bd::accuracy(in.mean_probs, labels);
  s.nll = bd::negative_log_likelihood(in.mean_probs, labels);
  s.brier = bd::brier_score(in.mean_probs, labels);
  s.calibration = bd::expected_calibration_error(in.mean_probs, labels, bins);
  s.auroc_entropy = ood_auroc(in.entropy, ood.entropy);
  s.auroc_mutual_information = ood_auroc(in.mutual_information, ood.mutual_information);
  s.mean_entropy_in = in.entropy.mean();
  s.mean_entropy_ood = ood.entropy.mean();
  s.mean_mi_in = in.mutual_information.mean();
  s.mean_mi_ood = ood.mutual_information.mean();
  return s;
}

/// The test images of `digit` (28 x 28 columns); throws bayesdrop::InvalidArgument when there are none.
template <class Scalar>
bd::Matrix<Scalar> images_of_digit(const bd::Dataset<Scalar>& test, int digit) {
  std::vector<bd::Index> keep;
  for (bd::Index j = 0; j < test.size(); ++j) {
    if (test.labels[j] == digit) keep.push_back(j);
  }
  if (keep.empty() || test.shape.height != 28 || test.shape.width != 28) {
    throw bd::InvalidArgument("--rotation-digit " + std::to_string(digit) +
                              ": the test set has no 28 x 28 images of that digit");
  }
  bd::Matrix<Scalar> out(test.images.rows(), bd::Index(keep.size()));
  for (std::size_t i = 0; i < keep.size(); ++i) out.col(bd::Index(i)) = test.images.col(keep[i]);
  return out;
}

/// For each angle, rotates `images` (all of class `digit`) and appends to `curves[p]` what `predict(p, x, out)`
/// gives: predictor p = 0 .. curves.size() - 1 (deterministic, MC). Rotating once per angle serves every predictor.
template <class Scalar, class Predict>
void rotation_curves(const bd::Matrix<Scalar>& images, int digit, const std::vector<double>& angles,
                     std::vector<RotationCurve>& curves, Predict predict) {
  const bd::Labels labels = bd::Labels::Constant(images.cols(), bd::Label(digit));
  bd::McPrediction out;
  for (double angle : angles) {
    const bd::Matrix<Scalar> x = rotate_images(images, 28, 28, angle);
    for (std::size_t p = 0; p < curves.size(); ++p) {
      predict(p, x, out);
      curves[p].accuracy.push_back(bd::accuracy(out.mean_probs, labels));
      curves[p].entropy.push_back(out.entropy.mean());
      curves[p].mutual_information.push_back(out.mutual_information.mean());
    }
  }
}

}  // namespace uncertainty
