// bayesdrop-uncertainty's output: the summary tables on stdout and the JSON report (scripts/plot.py draws it).
#pragma once

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "evaluate.hpp"

namespace uncertainty {

/// Everything one run measured: [0] the deterministic pass, [1] Monte Carlo.
struct Results {
  Scores scores[2];
  std::vector<double> angles;
  RotationCurve rotation[2];
  int digit = 1;
  bd::Index rotated_images = 0;
  bd::Index mc_samples = 0;
};

inline const char* const predictor_keys[2] = {"deterministic", "mc"};

inline std::string auroc_text(const std::optional<double>& v) {
  char buf[32];
  if (!v) return "-";
  std::snprintf(buf, sizeof buf, "%.4f", *v);
  return buf;
}

// count, accuracy and mean confidence of a reliability bin; "-" for the means of an empty bin, which has none.
inline std::string bin_text(const bd::ReliabilityBin& b) {
  char buf[64];
  if (b.count == 0) {
    std::snprintf(buf, sizeof buf, "%7d %9s %10s", 0, "-", "-");
  } else {
    std::snprintf(buf, sizeof buf, "%7ld %9.4f %10.4f", long(b.count), b.accuracy, b.confidence);
  }
  return buf;
}

inline void print_summary(const Results& r) {
  const std::string mc = "MC (K = " + std::to_string(r.mc_samples) + ")";
  const std::string names[2] = {"deterministic", mc};
  std::printf("\n%-15s %9s %8s %8s %8s %9s %10s %9s %9s\n", "predictor", "accuracy", "NLL", "Brier", "ECE", "AUROC(H)",
              "AUROC(MI)", "H MNIST", "H OOD");
  for (int p = 0; p < 2; ++p) {
    const Scores& s = r.scores[p];
    std::printf("%-15s %9.4f %8.4f %8.4f %8.4f %9s %10s %9.4f %9.4f\n", names[p].c_str(), s.accuracy, s.nll, s.brier,
                s.calibration.ece, auroc_text(s.auroc_entropy).c_str(), auroc_text(s.auroc_mutual_information).c_str(),
                s.mean_entropy_in, s.mean_entropy_ood);
  }
  std::printf(
      "ECE over %zu equal-width confidence bins. AUROC: MNIST test (negatives) vs Fashion-MNIST test "
      "(positives), scored by predictive entropy H or mutual information MI; H columns: mean entropy in "
      "nats. '-': the score is the same for every image (MI = 0 without noise), so its AUROC would be 0.5 "
      "by construction; null in the JSON.\n",
      r.scores[0].calibration.bins.size());

  std::printf("\nreliability  %-29s %s\n", "deterministic", mc.c_str());
  std::printf("%-11s %7s %9s %10s  %7s %9s %10s\n", "confidence", "count", "accuracy", "confidence", "count",
              "accuracy", "confidence");
  const auto& det = r.scores[0].calibration.bins;
  const auto& mcb = r.scores[1].calibration.bins;
  for (std::size_t i = 0; i < det.size() && i < mcb.size(); ++i) {
    if (det[i].count == 0 && mcb[i].count == 0) continue;  // empty bins say nothing
    std::printf("%.2f-%.2f   %s  %s\n", det[i].lower, det[i].upper, bin_text(det[i]).c_str(), bin_text(mcb[i]).c_str());
  }

  std::printf("\nrotated %d (%ld test images)  %-26s %s\n", r.digit, long(r.rotated_images), "deterministic",
              mc.c_str());
  std::printf("%-6s %9s %9s %9s %9s %9s %9s\n", "angle", "accuracy", "entropy", "MI", "accuracy", "entropy", "MI");
  for (std::size_t a = 0; a < r.angles.size(); ++a) {
    std::printf("%-6.0f", r.angles[a]);
    for (int p = 0; p < 2; ++p) {
      std::printf(" %9.4f %9.4f %9.4f", r.rotation[p].accuracy[a], r.rotation[p].entropy[a],
                  r.rotation[p].mutual_information[a]);
    }
    std::printf("\n");
  }
}

inline nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

/// The report's sections: uncertainty, reliability and rotation (the caller adds the spec and the run's settings).
inline nlohmann::json results_json(const Results& r) {
  nlohmann::json unc, rel, rot;
  for (int p = 0; p < 2; ++p) {
    const Scores& s = r.scores[p];
    unc[predictor_keys[p]] = {{"accuracy", s.accuracy},
                              {"nll", s.nll},
                              {"brier", s.brier},
                              {"ece", s.calibration.ece},
                              {"auroc_entropy", optional_json(s.auroc_entropy)},
                              {"auroc_mutual_information", optional_json(s.auroc_mutual_information)},
                              {"mean_entropy_mnist", s.mean_entropy_in},
                              {"mean_entropy_ood", s.mean_entropy_ood},
                              {"mean_mutual_information_mnist", s.mean_mi_in},
                              {"mean_mutual_information_ood", s.mean_mi_ood}};
    nlohmann::json bins = nlohmann::json::array();
    for (const auto& b : s.calibration.bins) {
      bins.push_back({{"lower", b.lower},
                      {"upper", b.upper},
                      {"count", b.count},
                      {"accuracy", b.accuracy},
                      {"confidence", b.confidence}});
    }
    rel[predictor_keys[p]] = bins;
    rot[predictor_keys[p]] = {{"accuracy", r.rotation[p].accuracy},
                              {"entropy", r.rotation[p].entropy},
                              {"mutual_information", r.rotation[p].mutual_information}};
  }
  rel["bins"] = r.scores[0].calibration.bins.size();
  rot["digit"] = r.digit;
  rot["images"] = r.rotated_images;
  rot["angles"] = r.angles;
  return {{"uncertainty", unc}, {"reliability", rel}, {"rotation", rot}};
}

}  // namespace uncertainty
