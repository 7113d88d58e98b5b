#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/uncertainty/metrics.hpp"

using namespace bayesdrop;

namespace {

// Four examples, three classes, all values exact in binary:
//   example  probabilities        label  predicted  confidence
//   0        0.5   0.25  0.25     0      0 (right)  0.5   (on the edge 2/4 of 4 bins: bin 2)
//   1        0.25  0.625 0.125    2      1 (wrong)  0.625 (bin 2)
//   2        0.125 0.125 0.75     2      2 (right)  0.75  (on the edge 3/4: bin 3)
//   3        0     1     0        1      1 (right)  1     (the last bin, 3)
struct Tiny {
  Matrix<double> p{3, 4};
  Labels y{4};
  Tiny() {
    p << 0.5, 0.25, 0.125, 0,   //
        0.25, 0.625, 0.125, 1,  //
        0.25, 0.125, 0.75, 0;
    y << 0, 2, 2, 1;
  }
};

}  // namespace

TEST_CASE("accuracy, NLL and Brier score equal hand-computed values", "[uncertainty][metrics]") {
  const Tiny t;
  CHECK(accuracy(t.p, t.y) == 0.75);  // 3 of 4 right
  // -log 0.5 - log 0.125 - log 0.75 - log 1 = log 2 + 3 log 2 + log(4/3) + 0 = 3.0602707946915624; / 4
  CHECK(negative_log_likelihood(t.p, t.y) == Approx((4 * std::log(2.0) + std::log(4.0 / 3.0)) / 4).epsilon(1e-15));
  // sum_k (p_k - onehot_k)^2 per example:
  //   0: 0.25 + 0.0625 + 0.0625 = 0.375        1: 0.0625 + 0.390625 + 0.765625 = 1.21875
  //   2: 0.015625 + 0.015625 + 0.0625 = 0.09375  3: 0
  //   mean (0.375 + 1.21875 + 0.09375 + 0) / 4 = 1.6875 / 4 = 0.421875
  CHECK(brier_score(t.p, t.y) == 0.421875);
  // A certain wrong prediction scores the maximum, 2.
  Matrix<double> wrong(2, 1);
  wrong << 1, 0;
  CHECK(brier_score(wrong, Labels::Ones(1)) == 2.0);
}

TEST_CASE("ECE bins confidences on equal-width half-open bins with hand-computed gaps", "[uncertainty][metrics]") {
  const Tiny t;
  const Calibration c = expected_calibration_error(t.p, t.y, 4);
  REQUIRE(c.bins.size() == 4);
  CHECK(c.bins[0].count == 0);
  CHECK(c.bins[1].count == 0);
  // bin 2 = [0.5, 0.75): examples 0, 1; confidence (0.5 + 0.625) / 2 = 0.5625, accuracy 1/2
  CHECK(c.bins[2].count == 2);
  CHECK(c.bins[2].confidence == 0.5625);
  CHECK(c.bins[2].accuracy == 0.5);
  CHECK(c.bins[2].lower == 0.5);
  CHECK(c.bins[2].upper == 0.75);
  // bin 3 = [0.75, 1]: examples 2, 3; confidence (0.75 + 1) / 2 = 0.875, accuracy 1
  CHECK(c.bins[3].count == 2);
  CHECK(c.bins[3].confidence == 0.875);
  CHECK(c.bins[3].accuracy == 1.0);
  // ECE = 2/4 * |0.5 - 0.5625| + 2/4 * |1 - 0.875| = 0.03125 + 0.0625 = 0.09375
  CHECK(c.ece == Approx(0.09375).epsilon(1e-15));

  // One bin: ECE = |accuracy - mean confidence| = |0.75 - (0.5 + 0.625 + 0.75 + 1) / 4| = |0.75 - 0.71875|
  CHECK(expected_calibration_error(t.p, t.y, 1).ece == Approx(0.03125).epsilon(1e-15));
  // Default 15 bins: 0.5 * 15 = 7.5 -> bin 7, 0.625 -> 9, 0.75 -> 11, 1 -> 14 (the last)
  const Calibration d = expected_calibration_error(t.p, t.y);
  REQUIRE(d.bins.size() == 15);
  CHECK(d.bins[7].count == 1);
  CHECK(d.bins[9].count == 1);
  CHECK(d.bins[11].count == 1);
  CHECK(d.bins[14].count == 1);
}

TEST_CASE("ECE puts a confidence equal to a non-representable edge i/B in bin i", "[uncertainty][metrics]") {
  // 0.6 and 0.2 are not exact in binary; the edges are double(i) / B, so p = 3.0 / 5 lands in bin 3 of 5.
  for (Index bins : {5, 10, 15, 20}) {
    for (Index i = 1; i < bins; ++i) {
      const double edge = double(i) / double(bins);
      if (edge < 0.5) continue;  // two classes: the confidence is at least 1/2
      Matrix<double> p(2, 1);
      p << edge, 1 - edge;
      const Calibration c = expected_calibration_error(p, Labels::Zero(1), bins);
      CHECK(c.bins[std::size_t(i)].count == 1);
    }
  }
}

TEST_CASE("NLL clamps a zero probability to a large finite value", "[uncertainty][metrics]") {
  Matrix<double> p(2, 1);
  p << 0, 1;
  const double nll = negative_log_likelihood(p, Labels::Zero(1));
  CHECK(std::isfinite(nll));
  CHECK(nll == Approx(-std::log(std::numeric_limits<double>::min())));  // 708.4
  Matrix<float> pf = p.cast<float>();
  CHECK(negative_log_likelihood(pf, Labels::Zero(1)) == Approx(-std::log(double(std::numeric_limits<float>::min()))));
}

TEST_CASE("predictive entropy per example", "[uncertainty][metrics]") {
  Matrix<double> p(4, 3);
  p << 0.25, 1, 0.5,  //
      0.25, 0, 0.5,   //
      0.25, 0, 0,     //
      0.25, 0, 0;
  const Vector<double> h = predictive_entropy(p);
  REQUIRE(h.size() == 3);
  CHECK(h[0] == Approx(std::log(4.0)));
  CHECK(h[1] == 0.0);  // 0 log 0 = 0
  CHECK(h[2] == Approx(std::log(2.0)));
}

TEST_CASE("metrics reject mismatched shapes and non-probabilities", "[uncertainty][metrics]") {
  const Tiny t;
  const Labels three = Labels::Zero(3);
  CHECK_THROWS_AS(accuracy(t.p, three), ShapeError);
  CHECK_THROWS_WITH(brier_score(t.p, three), Catch::Contains("3x4") && Catch::Contains("3x1"));
  CHECK_THROWS_AS(expected_calibration_error(t.p, three), ShapeError);
  CHECK_THROWS_AS(negative_log_likelihood(Matrix<double>(3, 0), Labels(0)), ShapeError);
  CHECK_THROWS_AS(expected_calibration_error(t.p, t.y, 0), InvalidArgument);
  Labels bad = t.y;
  bad[1] = 3;
  CHECK_THROWS_AS(accuracy(t.p, bad), InvalidArgument);
  Matrix<double> logits = t.p * 3.0;  // columns sum to 3
  CHECK_THROWS_WITH(negative_log_likelihood(logits, t.y), Catch::Contains("logits"));
  Matrix<double> nan = t.p;
  nan(0, 0) = std::nan("");
  CHECK_THROWS_AS(predictive_entropy(nan), InvalidArgument);
}

TEST_CASE("AUROC: separation, reversal, ties, constants", "[uncertainty][auroc]") {
  CHECK(auroc({1, 2, 3}, {4, 5}) == 1.0);
  CHECK(auroc({4, 5}, {1, 2, 3}) == 0.0);
  CHECK(auroc({7, 7}, {7, 7, 7}) == 0.5);
  // neg {1,2,2,3}, pos {2,3,4}. Pooled and sorted: 1n 2n 2n 2p 3n 3p 4p; average ranks 1, 3,3,3, 5.5,5.5, 7.
  // Positives' rank sum R = 3 + 5.5 + 7 = 15.5; U = R - 3*4/2 = 9.5. Pair count: pos 2 beats 1 and ties two 2s
  // (1 + 0.5 + 0.5 = 2), pos 3 beats 1,2,2 and ties 3 (3.5), pos 4 beats all (4): 9.5. AUROC = 9.5 / 12.
  CHECK(auroc({1, 2, 2, 3}, {2, 3, 4}) == Approx(9.5 / 12.0).epsilon(1e-15));
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(auroc({-inf, 0}, {inf, 0}) == 0.875);  // pairs: 1 + 1 + 1 + 0.5 of 4
}

TEST_CASE("AUROC takes Eigen vectors, such as McPrediction's scores", "[uncertainty][auroc]") {
  Vector<double> neg(4), pos(3);
  neg << 1, 2, 2, 3;
  pos << 2, 3, 4;
  CHECK(auroc(neg, pos) == auroc({1, 2, 2, 3}, {2, 3, 4}));
  Vector<float> negf = neg.cast<float>();
  CHECK(auroc(negf, pos.head(2)) == auroc({1, 2, 2, 3}, {2, 3}));
  CHECK_THROWS_AS(auroc(Vector<double>(), pos), InvalidArgument);
}

TEST_CASE("AUROC rejects an empty set by name and NaN scores", "[uncertainty][auroc]") {
  CHECK_THROWS_AS(auroc({}, {1.0}), InvalidArgument);
  CHECK_THROWS_WITH(auroc({}, {1.0}), Catch::Contains("negative scores are empty"));
  CHECK_THROWS_WITH(auroc({1.0}, {}), Catch::Contains("positive scores are empty"));
  CHECK_THROWS_WITH(auroc({1.0, std::nan("")}, {2.0}), Catch::Contains("negative score 1 is NaN"));
  CHECK_THROWS_WITH(auroc({1.0}, {std::nan("")}), Catch::Contains("positive score 0 is NaN"));
}

TEST_CASE("AUROC equals a brute-force pair count on data with many ties", "[uncertainty][auroc]") {
  Rng rng(2024);
  for (int trial = 0; trial < 20; ++trial) {
    const auto n_neg = std::size_t(1 + rng.uniform_index(60)), n_pos = std::size_t(1 + rng.uniform_index(60));
    const auto levels = 1 + rng.uniform_index(8);  // few distinct values: many ties
    std::vector<double> neg(n_neg), pos(n_pos);
    for (auto& s : neg) s = double(rng.uniform_index(levels));
    const double shift = trial % 2 ? 1.0 : 0.0;  // odd trials: positives score higher, still with ties
    for (auto& s : pos) s = double(rng.uniform_index(levels)) + shift;
    double wins = 0;
    for (double a : neg) {
      for (double b : pos) wins += b > a ? 1.0 : (b == a ? 0.5 : 0.0);
    }
    CHECK(auroc(neg, pos) == Approx(wins / double(n_neg * n_pos)).epsilon(1e-14));
  }
}
