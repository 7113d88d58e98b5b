#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
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
  bad.buffered = 3;
  CHECK_THROWS_AS(b.restore(bad), bayesdrop::InvalidArgument);
  bad.buffered = -1;
  CHECK_THROWS_AS(b.restore(bad), bayesdrop::InvalidArgument);
}

// --- the engine: Philox4x32-10
// ----------------------------------------------------------------------------------------

TEST_CASE("Philox4x32-10 gives the published known answers", "[core][rng]") {
  using bayesdrop::detail::Philox4x32;
  // Random123's test vectors for philox4x32 with 10 rounds (its kat_vectors file): counter (4 words), key (2 words),
  // the expected block. The last are the hexadecimal digits of pi, which exercise the order of every word.
  struct Kat {
    Philox4x32::Block counter;
    std::uint32_t k0, k1;
    Philox4x32::Block expected;
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, 0, 0, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
       0xffffffffu,
       0xffffffffu,
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
       0xa4093822u,
       0x299f31d0u,
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const Kat& k : kats) CHECK(Philox4x32::block(k.counter, k.k0, k.k1) == k.expected);
}

TEST_CASE("the lane-parallel and vectorised Philox paths give the reference blocks bit for bit", "[core][rng]") {
  using bayesdrop::detail::Philox4x32;
  const std::uint64_t key = 0x0123456789abcdefULL;
  // Starts whose blocks carry from the counter's low word into its high word, and 2^64 wrapping round to 0.
  for (std::uint64_t first : {std::uint64_t{0}, std::uint64_t{77}, std::uint64_t{0xffffffe9},
                              std::uint64_t{0x5ffffffffULL}, std::uint64_t{0xffffffffffffffd0ULL}}) {
    constexpr int G = Philox4x32::kBatchGroups;
    std::vector<std::uint32_t> batch(64 * G), group(64);
    Philox4x32::batch(key, first, batch.data());
    for (int g = 0; g < G; ++g) {
      const std::uint64_t start = first + std::uint64_t(16 * g);
      Philox4x32::group(key, start, group.data());
      for (int j = 0; j < 16; ++j) {
        const std::uint64_t b = start + std::uint64_t(j);
        const Philox4x32::Block expected = Philox4x32::block({std::uint32_t(b), std::uint32_t(b >> 32), 0, 0},
                                                             std::uint32_t(key), std::uint32_t(key >> 32));
        for (int w = 0; w < 4; ++w) {
          REQUIRE(group[std::size_t(16 * w + j)] == expected[std::size_t(w)]);
          REQUIRE(batch[std::size_t(64 * g + 16 * w + j)] == expected[std::size_t(w)]);
        }
      }
    }
  }
}

TEST_CASE("values sit in the blocks as the header lays them out", "[core][rng]") {
  using bayesdrop::detail::Philox4x32;
  const std::uint64_t seed = 1234;
  std::uint64_t sm = seed;
  const std::uint64_t key = bayesdrop::detail::splitmix64(sm);
  auto word = [&](std::uint64_t b, int w) {
    return Philox4x32::block({std::uint32_t(b), std::uint32_t(b >> 32), 0, 0}, std::uint32_t(key),
                             std::uint32_t(key >> 32))[std::size_t(w)];
  };
  Rng rng(seed);
  // next_u64 takes block 0: words 1:0, then 3:2.
  CHECK(rng.next_u64() == ((std::uint64_t{word(0, 1)} << 32) | word(0, 0)));
  CHECK(rng.next_u64() == ((std::uint64_t{word(0, 3)} << 32) | word(0, 2)));
  CHECK(rng.snapshot().block == 1);
  // A fill of 100 floats takes two groups from block 1 on: value 64 g + 16 w + j is word w of block 1 + 16 g + j.
  std::vector<float> f(100);
  rng.uniform(f.data(), 100);
  CHECK(rng.snapshot().block == 1 + 32);
  for (Index i = 0; i < 100; ++i) {
    const std::uint64_t b = 1 + std::uint64_t(16 * (i / 64) + i % 16);
    REQUIRE(f[std::size_t(i)] == float((word(b, int(i % 64 / 16)) >> 8) + 1) / 16777216.0f);
  }
  // A fill of 40 doubles: value 32 g + 16 h + j joins words 2h and 2h + 1 of block 33 + 16 g + j.
  std::vector<double> d(40);
  rng.uniform(d.data(), 40);
  CHECK(rng.snapshot().block == 33 + 32);
  for (Index i = 0; i < 40; ++i) {
    const std::uint64_t b = 33 + std::uint64_t(16 * (i / 32) + i % 16);
    const int h = int(i % 32 / 16);
    const std::uint64_t bits = ((std::uint64_t{word(b, 2 * h)} << 32) | word(b, 2 * h + 1)) >> 11;
    REQUIRE(d[std::size_t(i)] == double(bits + 1) / 9007199254740992.0);
  }
  // A normal fill draws the uniforms a uniform fill would and pairs them in runs of 32.
  Rng a(seed), b(seed);
  std::vector<float> z(70), u(96);
  a.normal(z.data(), 70);
  b.uniform(u.data(), 96);  // the same two groups: the third run's u2 lies beyond the 70th value
  for (Index i = 0; i < 70; ++i) {
    const Index run = i / 32 * 32, k = i % 16;
    const double r = std::sqrt(-2.0 * std::log(double(u[std::size_t(run + k)])));
    const double t = 6.283185307179586 * (double(u[std::size_t(run + 16 + k)]) - 0.5);
    REQUIRE(double(z[std::size_t(i)]) == Approx(i % 32 < 16 ? r * std::cos(t) : r * std::sin(t)).margin(2e-5));
  }
}

TEST_CASE("a fill's values depend on their index only: a shorter fill is a prefix of a longer one", "[core][rng]") {
  for (Index n : {1, 31, 33, 2047, 2049, 70000}) {
    Rng a(21), b(21);
    a.next_u64();  // start elsewhere than block 0
    b.next_u64();
    std::vector<float> za(static_cast<std::size_t>(n)), zb(static_cast<std::size_t>(n) + 5000);
    a.normal(za.data(), n);
    b.normal(zb.data(), n + 5000);
    CHECK(std::equal(za.begin(), za.end(), zb.begin()));
    std::vector<double> ua(static_cast<std::size_t>(n)), ub(static_cast<std::size_t>(n) + 5000);
    Rng c(22), d(22);
    c.uniform(ua.data(), n);
    d.uniform(ub.data(), n + 5000);
    CHECK(std::equal(ua.begin(), ua.end(), ub.begin()));
  }
}

// --- statistical smoke tests beyond the moments ----------------------------------------------------------------------

TEMPLATE_TEST_CASE("uniforms fall evenly into 100 bins (chi-square)", "[core][rng]", float, double) {
  Rng rng(2024);
  const Index n = 1 << 20;
  constexpr int kBins = 100;
  std::vector<TestType> u(n);
  rng.uniform(u.data(), n);
  std::vector<double> counts(kBins, 0);
  for (TestType x : u) ++counts[std::min(kBins - 1, int(double(x) * kBins))];
  double chi2 = 0;
  const double expected = double(n) / kBins;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  // 99 degrees of freedom: mean 99, standard deviation sqrt(198); five of them above the mean.
  CHECK(chi2 < 99 + kSigmas * std::sqrt(198.0));
}

namespace {
// Correlation of x[i] and y[i] over n values of mean 1/2 (uniforms): its standard error is 1 / sqrt(n).
double uniform_correlation(const float* x, const float* y, Index n) {
  double sxy = 0;
  for (Index i = 0; i < n; ++i) sxy += (double(x[i]) - 0.5) * (double(y[i]) - 0.5);
  return sxy / double(n) * 12.0;  // divided by Var(U) = 1/12
}
}  // namespace

TEST_CASE("neighbouring seeds, consecutive calls and neighbouring blocks are uncorrelated", "[core][rng]") {
  const Index n = 1 << 18;
  const double bound = kSigmas / std::sqrt(double(n));
  std::vector<float> a(n), b(n);
  for (std::uint64_t seed : {0, 1, 41, 1000}) {
    Rng r1(seed), r2(seed + 1);
    r1.uniform(a.data(), n);
    r2.uniform(b.data(), n);
    CHECK(std::abs(uniform_correlation(a.data(), b.data(), n)) < bound);
    r1.uniform(b.data(), n);  // the next call of the same generator
    CHECK(std::abs(uniform_correlation(a.data(), b.data(), n)) < bound);
  }
  // Within a fill: the words of one block (lag 16), the same word of neighbouring blocks (lag 1), and the neighbouring
  // groups (lag 64).
  Rng rng(5);
  const Index m = n + 64;
  std::vector<float> c(m);
  rng.uniform(c.data(), m);
  for (Index lag : {1, 16, 32, 48, 64}) {
    CAPTURE(lag);
    CHECK(std::abs(uniform_correlation(c.data(), c.data() + lag, n)) < bound);
  }
  // The same index of neighbouring seeds' normals.
  std::vector<float> z1(n), z2(n);
  Rng(7).normal(z1.data(), n);
  Rng(8).normal(z2.data(), n);
  double s = 0;
  for (Index i = 0; i < n; ++i) s += double(z1[i]) * double(z2[i]);
  CHECK(std::abs(s / double(n)) < bound);
}

TEMPLATE_TEST_CASE("a fill with a follow-up per chunk draws the plain fill's values and visits each chunk once",
                   "[core][rng]", float, double) {
  for (const Index n : {Index(1), Index(100), Index(2048), Index(70001)}) {  // one chunk, and 35 of them
    INFO("n = " << n);
    std::vector<TestType> plain(static_cast<std::size_t>(n)), fused(static_cast<std::size_t>(n));
    std::vector<int> visits(static_cast<std::size_t>(n), 0);
    for (const bool normal : {false, true}) {
      Rng a(31), b(31);
      std::atomic<int> out_of_range{0};  // counted, not asserted: the follow-ups run on OpenMP threads
      auto then = [&](Index begin, Index length) {
        if (begin < 0 || begin + length > n) ++out_of_range;
        for (Index i = std::max<Index>(begin, 0); i < std::min(begin + length, n); ++i) {
          ++visits[std::size_t(i)];
          fused[std::size_t(i)] *= 2;  // the chunk is drawn before its follow-up runs
        }
      };
      if (normal) {
        a.normal(plain.data(), n);
        b.normal(fused.data(), n, then);
      } else {
        a.uniform(plain.data(), n);
        b.uniform(fused.data(), n, then);
      }
      CHECK(out_of_range == 0);
      Index differ = 0;
      for (Index i = 0; i < n; ++i) differ += fused[std::size_t(i)] != 2 * plain[std::size_t(i)];
      CHECK(differ == 0);
      CHECK(a.uniform_one() == b.uniform_one());  // both stand at the same place of the stream after the fill
    }
    CHECK(std::count(visits.begin(), visits.end(), 2) == n);
  }
}
