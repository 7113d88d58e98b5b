#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "bayesdrop/core/rng.hpp"

using bayesdrop::Index;
using bayesdrop::Rng;

namespace {

// Sample mean and central moments of n values.
struct Moments {
  double mean = 0, var = 0, skew = 0, kurt = 0;
};
template <class T>
Moments moments(const std::vector<T>& v) {
  Moments m;
  const double n = double(v.size());
  for (T x : v) m.mean += double(x);
  m.mean /= n;
  double m2 = 0, m3 = 0, m4 = 0;
  for (T x : v) {
    const double d = double(x) - m.mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  m.var = m2;
  m.skew = m3 / std::pow(m2, 1.5);
  m.kurt = m4 / (m2 * m2);
  return m;
}

constexpr double kSigmas = 5;  // tolerance: five standard errors of the estimator

}  // namespace

TEMPLATE_TEST_CASE("uniform draws have the moments of U(0, 1] and never hit 0", "[core][rng]", float, double) {
  Rng rng(7);
  const Index n = 1 << 20;
  std::vector<TestType> u(n);
  rng.uniform(u.data(), n);
  for (TestType x : u) {
    REQUIRE(x > TestType(0));
    REQUIRE(x <= TestType(1));
  }
  const Moments m = moments(u);
  // Var(U) = 1/12, Var(mean) = 1/(12 n); Var((U - 1/2)^2) = 1/80 - 1/144.
  CHECK(std::abs(m.mean - 0.5) < kSigmas * std::sqrt(1.0 / 12.0 / n));
  CHECK(std::abs(m.var - 1.0 / 12.0) < kSigmas * std::sqrt((1.0 / 80.0 - 1.0 / 144.0) / n));
}

TEMPLATE_TEST_CASE("normal draws have the moments of N(0, 1)", "[core][rng]", float, double) {
  Rng rng(11);
  const Index n = 1 << 20;
  std::vector<TestType> z(n);
  rng.normal(z.data(), n);
  const Moments m = moments(z);
  // Standard errors of the sample mean, variance, skewness and kurtosis of n normals: 1, sqrt(2), sqrt(6), sqrt(24)
  // over sqrt(n).
  const double root_n = std::sqrt(double(n));
  CHECK(std::abs(m.mean) < kSigmas / root_n);
  CHECK(std::abs(m.var - 1.0) < kSigmas * std::sqrt(2.0) / root_n);
  CHECK(std::abs(m.skew) < kSigmas * std::sqrt(6.0) / root_n);
  CHECK(std::abs(m.kurt - 3.0) < kSigmas * std::sqrt(24.0) / root_n);

  // Tail mass: P(|Z| > 2) = 0.0455003, checked as a binomial proportion.
  const double p_tail = std::erfc(2.0 / std::sqrt(2.0));
  double tail = 0;
  for (TestType x : z) tail += std::abs(double(x)) > 2.0;
  CHECK(std::abs(tail / n - p_tail) < kSigmas * std::sqrt(p_tail * (1 - p_tail) / n));

  // Pairs from Box-Muller must be uncorrelated: lag-1 correlation over the whole buffer and between the halves.
  double lag = 0;
  for (Index i = 0; i + 1 < n; ++i) lag += double(z[i]) * double(z[i + 1]);
  CHECK(std::abs(lag / double(n - 1)) < kSigmas / root_n);
  double halves = 0;
  for (Index i = 0; i < 512; ++i) halves += double(z[i]) * double(z[i + 512]);
  CHECK(std::abs(halves / 512.0) < kSigmas / std::sqrt(512.0));
}

TEST_CASE("Bernoulli draws are 0 or 1 with the requested probability", "[core][rng]") {
  Rng rng(3);
  const Index n = 200000;
  std::vector<float> b(n);
  for (double p : {0.0, 0.1, 0.5, 0.8, 1.0}) {
    rng.bernoulli(b.data(), n, p);
    double ones = 0;
    for (float x : b) {
      REQUIRE((x == 0.0f || x == 1.0f));
      ones += x;
    }
    CHECK(std::abs(ones - p * n) <= kSigmas * std::sqrt(n * p * (1 - p)));
  }
  CHECK_THROWS_AS(rng.bernoulli(b.data(), n, 1.5), bayesdrop::InvalidArgument);
  CHECK_THROWS_AS(rng.bernoulli(b.data(), n, -0.1), bayesdrop::InvalidArgument);
}

TEST_CASE("the same seed gives the same numbers, different seeds different ones", "[core][rng]") {
  const Index n = 4099;  // not a multiple of the block size, to cover the tails
  std::vector<float> a(n), b(n), c(n);
  Rng r1(42), r2(42), r3(43);
  r1.normal(a.data(), n);
  r2.normal(b.data(), n);
  r3.normal(c.data(), n);
  CHECK(a == b);
  CHECK(a != c);
  Index equal = 0;
  for (Index i = 0; i < n; ++i) equal += a[i] == c[i];
  CHECK(equal < 5);

  // reseed restarts the stream.
  r1.reseed(42);
  r1.normal(b.data(), n);
  CHECK(a == b);

  // The stream continues: the next block differs from the first.
  r1.normal(b.data(), n);
  CHECK(a != b);
}

TEST_CASE("every requested value is written, for odd and tiny sizes", "[core][rng]") {
  Rng rng(5);
  for (Index n : {1, 2, 3, 15, 16, 17, 1023, 1025, 1027}) {
    std::vector<float> z(n, std::numeric_limits<float>::quiet_NaN());
    std::vector<double> u(n, std::numeric_limits<double>::quiet_NaN());
    rng.normal(z.data(), n);
    rng.uniform(u.data(), n);
    for (Index i = 0; i < n; ++i) {
      REQUIRE(std::isfinite(z[i]));
      REQUIRE(std::isfinite(u[i]));
    }
  }
}

TEST_CASE("uniform_index is unbiased over its range", "[core][rng]") {
  Rng rng(9);
  const int k = 10, n = 100000;
  std::vector<int> counts(k, 0);
  for (int i = 0; i < n; ++i) {
    const auto v = rng.uniform_index(k);
    REQUIRE(v < std::uint64_t(k));
    ++counts[v];
  }
  // Pearson chi-square with 9 degrees of freedom: P(chi2 > 27.88) = 0.001.
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / double(k)) * (c - n / double(k)) / (n / double(k));
  CHECK(chi2 < 27.88);
}

TEST_CASE("Eigen matrices can be filled directly", "[core][rng]") {
  Rng rng(1);
  bayesdrop::Matrix<float> m(37, 11);
  rng.normal(m);
  CHECK(m.allFinite());
  CHECK(m.array().abs().maxCoeff() > 0.5f);
  rng.uniform(m);
  CHECK(m.minCoeff() > 0.0f);
  CHECK(m.maxCoeff() <= 1.0f);
}

TEST_CASE("a generator restored from a snapshot continues the same stream", "[rng]") {
  Rng a(42);
  a.next_u64();  // leaves outputs buffered: the snapshot must carry them
  std::vector<float> skip(37);
  a.normal(skip.data(), 37);
  const Rng::Snapshot snap = a.snapshot();
  std::vector<double> from_a(101), from_b(101);
  const std::uint64_t next_a = a.next_u64();
  a.normal(from_a.data(), 101);
  Rng b(7);
  b.restore(snap);
  CHECK(b.next_u64() == next_a);
  b.normal(from_b.data(), 101);
  CHECK(from_a == from_b);
  Rng::Snapshot bad = snap;
  bad.buffered = 9;
  CHECK_THROWS_AS(b.restore(bad), bayesdrop::InvalidArgument);
  bad = snap;
  bad.s0[3] = bad.s1[3] = bad.s2[3] = bad.s3[3] = 0;
  CHECK_THROWS_AS(b.restore(bad), bayesdrop::InvalidArgument);
}
