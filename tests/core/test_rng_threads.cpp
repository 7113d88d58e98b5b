// The generator's counter-based fills give the same bits on any number of threads, for a whole fill and for the noise
// of the stochastic layers that draw it, and the fills do run on several threads (else the test would prove nothing).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <tuple>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bayesdrop/core/parallel.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/gaussian_dropout.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "support/threads.hpp"

using namespace bayesdrop;

namespace {

using Threads = test::ScopedThreads;

constexpr int kThreadCounts[] = {1, 2, 8};

// The number of positions where a and b differ (a count, not the values: a failure then prints one number).
template <class A>
Index differences(const A& a, const A& b) {
  REQUIRE(a.size() == b.size());
  Index n = 0;
  for (Index i = 0; i < Index(a.size()); ++i) n += a.data()[i] != b.data()[i];
  return n;
}

}  // namespace

TEST_CASE("a large fill runs on several threads", "[core][rng][threads]") {
#ifdef _OPENMP
  Threads t(8);
  int most = 0;
  parallel_chunks(Index(1) << 20, [&](Index, Index) {
#pragma omp critical
    most = std::max(most, omp_get_num_threads());
  });
  CHECK(most == 8);
#else
  SUCCEED("built without OpenMP: every fill runs on the calling thread");
#endif
}

TEMPLATE_TEST_CASE("uniform, normal and Bernoulli fills give the same bits on 1, 2 and 8 threads",
                   "[core][rng][threads]", float, double) {
  using Scalar = TestType;
  const Index n = (Index(1) << 20) + 37;  // a partial chunk and a partial group at the end
  auto draw = [&](int threads) {
    Threads t(threads);
    Rng rng(17);
    rng.next_u64();  // a position that is not block 0
    const auto size = static_cast<std::size_t>(n);
    std::vector<Scalar> u(size), z(size), b(size);
    rng.uniform(u.data(), n);
    rng.normal(z.data(), n);
    rng.bernoulli(b.data(), n, 0.3);
    return std::make_tuple(u, z, b, rng.next_u64());
  };
  const auto one = draw(1);
  for (int threads : kThreadCounts) {
    CAPTURE(threads);
    const auto many = draw(threads);
    CHECK(differences(std::get<0>(many), std::get<0>(one)) == 0);
    CHECK(differences(std::get<1>(many), std::get<1>(one)) == 0);
    CHECK(differences(std::get<2>(many), std::get<2>(one)) == 0);
    CHECK(std::get<3>(many) == std::get<3>(one));  // and the generator ends in the same state
  }
}

TEST_CASE("the stochastic layers' noise is the same on 1, 2 and 8 threads", "[core][rng][threads][layer]") {
  // A batch of 300 x 300: 90,000 values in 44 chunks, which eight threads share.
  const Index units = 300, batch = 300;
  Rng data(3);
  Matrix<float> x(units, batch);
  data.normal(x);
  BinaryDropout<float> binary(units, 0.5);
  GaussianDropout<float> gaussian(units, 0.5);
  Matrix<float> y;
  auto masks = [&](int threads) {
    Threads t(threads);
    Rng rng(41);
    binary.forward(x, y, Context::train(rng));
    gaussian.forward(x, y, Context::train(rng));
    return std::make_pair(Matrix<float>(binary.mask()), Matrix<float>(gaussian.noise()));
  };
  // Sparse VD's local reparameterisation noise, through its training output y = mu + sd o eps. Twenty inputs keep
  // the product's sum within one block of Eigen's kernel, so only the noise could make the outputs differ.
  Rng init(5);
  SparseVDLinear<float> sparse(20, units, init);
  Matrix<float> x20 = x.topRows(20);
  auto lrt = [&](int threads) {
    Threads t(threads);
    Rng rng(43);
    Matrix<float> out;
    sparse.forward(x20, out, Context::train(rng));
    return out;
  };
  const auto one = masks(1);
  const Matrix<float> lrt_one = lrt(1);
  for (int threads : kThreadCounts) {
    CAPTURE(threads);
    const auto many = masks(threads);
    CHECK(differences(many.first, one.first) == 0);
    CHECK(differences(many.second, one.second) == 0);
    CHECK(differences(lrt(threads), lrt_one) == 0);
  }
}
