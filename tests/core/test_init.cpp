#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/core/init.hpp"

using namespace bayesdrop;

namespace {
double sample_variance(const Matrix<double>& w) {
  const double mean = w.mean();
  return (w.array() - mean).square().sum() / double(w.size() - 1);
}
}  // namespace

TEST_CASE("initialisers have the variance their formula gives", "[core][init]") {
  Rng rng(2);
  const Index fan_in = 400, fan_out = 300;
  Matrix<double> w(fan_out, fan_in);
  const double n = double(w.size());
  struct Case {
    Init init;
    double variance;
    bool uniform;
  };
  const double glorot = 2.0 / (fan_in + fan_out), he = 2.0 / fan_in;
  const Case cases[] = {
      {Init::glorot_uniform(), glorot, true}, {Init::glorot_normal(), glorot, false},
      {Init::he_uniform(), he, true},         {Init::he_normal(), he, false},
      {Init::normal(0.05), 0.0025, false},    {Init::uniform_fan_in(), 1.0 / (3.0 * fan_in), true},
  };
  for (const auto& c : cases) {
    initialize(w, fan_in, fan_out, c.init, rng);
    // Relative standard error of a sample variance: sqrt(2/n) for a normal, sqrt(0.8/n) for a uniform.
    const double rel_se = c.uniform ? std::sqrt(0.8 / n) : std::sqrt(2.0 / n);
    CHECK(std::abs(sample_variance(w) / c.variance - 1.0) < 5 * rel_se);
    CHECK(std::abs(w.mean()) < 5 * std::sqrt(c.variance / n));
    if (c.uniform) CHECK(w.array().abs().maxCoeff() <= std::sqrt(3 * c.variance) + 1e-12);
  }
  initialize(w, fan_in, fan_out, Init::zeros(), rng);
  CHECK(w.isZero());
}

TEST_CASE("initialisers reject invalid arguments", "[core][init]") {
  Rng rng(2);
  Matrix<double> w(3, 3);
  CHECK_THROWS_AS(initialize(w, 0, 3, Init::he_normal(), rng), InvalidArgument);
  CHECK_THROWS_AS(Init::normal(-1.0), InvalidArgument);
  CHECK_THROWS_AS(Init::normal(std::nan("")), InvalidArgument);
}

TEST_CASE("truncated_normal redraws every value beyond two standard deviations", "[core][init]") {
  Rng rng(3);
  const double stddev = 0.01;
  Matrix<double> w(500, 800);
  initialize(w, 800, 500, Init::truncated_normal(stddev), rng);
  const double n = double(w.size());
  // N(0, 1) cut at +-2: variance 1 - 4 phi(2) / (Phi(2) - Phi(-2)) = 0.77374. A clipped normal (values set to +-2
  // instead of drawn again) would have 0.95 and put 4.6 % of the values on the bound.
  const double variance = 0.773741 * stddev * stddev;
  CHECK(std::abs(sample_variance(w) / variance - 1.0) < 5 * std::sqrt(2.0 / n));
  CHECK(w.array().abs().maxCoeff() <= 2 * stddev);
  CHECK((w.array().abs() > 1.999 * stddev).count() < Index(0.001 * n));
  CHECK(std::abs(w.mean()) < 5 * std::sqrt(variance / n));
  CHECK(Init::truncated_normal(stddev).describe() == "truncated_normal(0.01)");
  CHECK(Init::glorot_uniform().describe() == "glorot_uniform");
  CHECK(Init::truncated_normal(0.01) != Init::normal(0.01));
  CHECK_THROWS_AS(Init::truncated_normal(-1.0), InvalidArgument);
}
