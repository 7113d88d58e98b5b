// A fast, explicitly seeded random number generator that fills whole blocks at a time, on several threads with the
// same result as on one.
//
// Why our own: the local reparameterisation trick draws ~5e7 normals per MNIST epoch, so the generator must keep up
// with the matrix products; std::*_distribution algorithms also differ between standard libraries, which would make
// seeded results differ between platforms. bayesdrop never uses std::rand, Eigen's Random() or a global generator.
//
// Engine: Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
// counter-based generator of cuRAND, JAX and PyTorch's CUDA back end. A counter-based generator has no sequential
// state to advance: block b of the stream is ten rounds of a keyed bijection (two 32 x 32 -> 64-bit products and a
// few XORs per round) applied to the counter b, four 32-bit words. Any block can be computed without the ones before
// it, so a tensor's noise can be split over threads in any way and every value stays the same: the result of a run
// does not depend on the thread count. The paper's generators pass TestU01's BigCrush.
//
// State: a 64-bit key (splitmix64 of the seed; Philox's two key words are its low and high halves) and a 64-bit block
// position. Block b's counter is (low 32 bits of b, high 32 bits of b, 0, 0).
//
// Layout of a fill. A call that fills n values takes ceil(n / V) groups of 16 consecutive blocks, starting at the
// current position, and moves the position past them (V = 64 floats or 32 doubles per group; the unused values of
// the last group are dropped). Within group g, whose first block is f = position + 16 g:
//   float value 64 g + 16 w + j  is the top 24 bits of word w of block f + j                 (w in 0..3, j in 0..15)
//   double value 32 g + 16 h + j is the top 53 bits of words 2h (high) and 2h+1 (low) of block f + j  (h in 0..1)
// as ((bits + 1) * 2^-24 or 2^-53): uniforms on (0, 1], never 0, so log(u) is always finite. Normals use the
// Box-Muller transform on the uniforms the same call would draw, in runs of 32 values: the first 16 are u1, the next
// 16 u2, and the run's values become r cos(t) then r sin(t), r = sqrt(-2 log u1), t = 2 pi (u2 - 1/2), computed with
// Eigen's vectorised log, sqrt, sin and cos on whole packets. Bernoulli draws compare those uniforms with p. Each
// value is thus a function of (key, the call's first block, its index) alone. Fills run in chunks of 2048 values
// (core/parallel.hpp's parallel_chunks), on up to Eigen::nbThreads() threads once each thread gets four chunks (a
// fill of 16,384 values on two threads); the chunks, not the threads, decide which blocks a value comes from.
//
// next_u64 (and uniform_index, uniform_one) takes one block at the position and hands out its words 1:0, then 3:2.
//
// The 16 blocks of a group are computed lane-parallel, so the compiler turns each round into a few SIMD
// instructions (vpmuludq for the products); there are no intrinsics and no other code path.
//
// The numbers of a seeded run changed once, when this generator replaced the eight lock-step xoshiro256+ streams of
// earlier versions (whose checkpoints still load: training/checkpoint.hpp).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/parallel.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

namespace detail {

/// One output of the splitmix64 sequence whose state is `x` (advances x): the seed's mixer.
inline std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Philox4x32-10: ten rounds of the paper's 4 x 32-bit bijection keyed by two 32-bit words.
struct Philox4x32 {
  using Block = std::array<std::uint32_t, 4>;
  static constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;    // the round's multipliers
  static constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;  // the key schedule's increments
  static constexpr int kRounds = 10;
  static constexpr int kLanes = 16;  // blocks of a group, computed side by side

  /// The block of `counter` under the key (k0, k1), one round after another as the paper writes it.
  static Block block(Block c, std::uint32_t k0, std::uint32_t k1) {
    for (int r = 0; r < kRounds; ++r) {
      const std::uint64_t p0 = std::uint64_t{kMul0} * c[0];
      const std::uint64_t p1 = std::uint64_t{kMul1} * c[2];
      c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k0, static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k1, static_cast<std::uint32_t>(p0)};
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    return c;
  }

  /// The 16 blocks first .. first + 15 (counters (b mod 2^32, b / 2^32, 0, 0)) under `key`, word-major: word w of
  /// block first + j goes to out[16 w + j]. The same arithmetic as block(), written lane by lane so that a compiler
  /// can vectorise it: the portable path of batch().
  static void group(std::uint64_t key, std::uint64_t first, std::uint32_t* out) {
    alignas(64) std::uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
    for (int j = 0; j < kLanes; ++j) {
      const std::uint64_t b = first + static_cast<std::uint64_t>(j);
      c0[j] = static_cast<std::uint32_t>(b);
      c1[j] = static_cast<std::uint32_t>(b >> 32);
      c2[j] = 0;
      c3[j] = 0;
    }
    std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
    for (int r = 0; r < kRounds; ++r) {
      BAYESDROP_VECTORIZE
      for (int j = 0; j < kLanes; ++j) {
        const std::uint64_t p0 = std::uint64_t{kMul0} * c0[j];
        const std::uint64_t p1 = std::uint64_t{kMul1} * c2[j];
        const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1[j] ^ k0;
        const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3[j] ^ k1;
        c1[j] = static_cast<std::uint32_t>(p1);
        c3[j] = static_cast<std::uint32_t>(p0);
        c0[j] = n0;
        c2[j] = n2;
      }
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    for (int j = 0; j < kLanes; ++j) {
      out[j] = c0[j];
      out[kLanes + j] = c1[j];
      out[2 * kLanes + j] = c2[j];
      out[3 * kLanes + j] = c3[j];
    }
  }

  /// Groups computed together by batch(): four independent dependency chains keep the multipliers busy.
  static constexpr int kBatchGroups = 4;

  /// The kBatchGroups groups starting at block `first`: group g's words at out[64 g ..], each as group() lays them
  /// out. With AVX-512 the rounds run on 16-lane registers (vpmuludq on even and odd lanes, since GCC vectorises the
  /// portable loop with the slower 64-bit vpmullq); the result is the portable path's, bit for bit (tested).
  static void batch(std::uint64_t key, std::uint64_t first, std::uint32_t* out) {
#if defined(__AVX512F__)
    constexpr int G = kBatchGroups;
    __m512i c0[G], c1[G], c2[G], c3[G];
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    for (int g = 0; g < G; ++g) {
      // Blocks b .. b + 15 with the carry of the low word into the high word (first + j may cross 2^32).
      const std::uint64_t b = first + static_cast<std::uint64_t>(g * kLanes);
      const __m512i low = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(b))), lane);
      const __mmask16 carry = _mm512_cmplt_epu32_mask(low, lane);
      const __m512i high = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(b >> 32)));
      c0[g] = low;
      c1[g] = _mm512_mask_add_epi32(high, carry, high, _mm512_set1_epi32(1));
      c2[g] = _mm512_setzero_si512();
      c3[g] = _mm512_setzero_si512();
    }
    const __m512i m0 = _mm512_set1_epi64(kMul0), m1 = _mm512_set1_epi64(kMul1);
    constexpr __mmask16 odd = 0xAAAA;
    std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
    for (int r = 0; r < kRounds; ++r) {
      const __m512i key0 = _mm512_set1_epi32(static_cast<int>(k0)), key1 = _mm512_set1_epi32(static_cast<int>(k1));
      for (int g = 0; g < G; ++g) {
        // 32 x 32 -> 64-bit products of the even lanes, then of the odd lanes moved down; lo and hi regathered.
        const __m512i e0 = _mm512_mul_epu32(c0[g], m0), o0 = _mm512_mul_epu32(_mm512_srli_epi64(c0[g], 32), m0);
        const __m512i e1 = _mm512_mul_epu32(c2[g], m1), o1 = _mm512_mul_epu32(_mm512_srli_epi64(c2[g], 32), m1);
        const __m512i lo0 = _mm512_mask_blend_epi32(odd, e0, _mm512_slli_epi64(o0, 32));
        const __m512i hi0 = _mm512_mask_blend_epi32(odd, _mm512_srli_epi64(e0, 32), o0);
        const __m512i lo1 = _mm512_mask_blend_epi32(odd, e1, _mm512_slli_epi64(o1, 32));
        const __m512i hi1 = _mm512_mask_blend_epi32(odd, _mm512_srli_epi64(e1, 32), o1);
        c0[g] = _mm512_ternarylogic_epi32(hi1, c1[g], key0, 0x96);  // hi1 ^ c1 ^ k0
        c2[g] = _mm512_ternarylogic_epi32(hi0, c3[g], key1, 0x96);  // hi0 ^ c3 ^ k1
        c1[g] = lo1;
        c3[g] = lo0;
      }
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    for (int g = 0; g < G; ++g) {
      _mm512_storeu_si512(out + 64 * g, c0[g]);
      _mm512_storeu_si512(out + 64 * g + kLanes, c1[g]);
      _mm512_storeu_si512(out + 64 * g + 2 * kLanes, c2[g]);
      _mm512_storeu_si512(out + 64 * g + 3 * kLanes, c3[g]);
    }
#else
    for (int g = 0; g < kBatchGroups; ++g) group(key, first + static_cast<std::uint64_t>(g * kLanes), out + 64 * g);
#endif
  }
};

}  // namespace detail

class Rng {
 public:
  /// Values of one group of 16 blocks (see the layout at the top of this file).
  template <class Scalar>
  static constexpr Index kGroupValues = std::is_same_v<Scalar, float> ? 64 : 32;
  static constexpr int kGroupBlocks = detail::Philox4x32::kLanes;

  /// Seeds the generator; equal seeds give equal streams on every platform.
  explicit Rng(std::uint64_t seed) { reseed(seed); }

  /// Restarts the generator as if newly constructed with `seed` (used to replay noise in gradient checks).
  void reseed(std::uint64_t seed) {
    std::uint64_t sm = seed;
    key_ = detail::splitmix64(sm);
    block_ = 0;
    buffer_ = {};
    buffered_ = 0;
  }

  /// The generator's complete state: the key, the next unused block and the next_u64 outputs drawn but not yet handed
  /// out. A generator restored from a snapshot continues with exactly the stream the original would have produced
  /// (checkpoints of a training run save it).
  struct Snapshot {
    std::uint64_t key = 0;                  ///< Philox's key words: low and high halves
    std::uint64_t block = 0;                ///< the position: the next block a draw takes
    std::array<std::uint64_t, 2> buffer{};  ///< next_u64's outputs; the last `buffered` of them not yet handed out
    int buffered = 0;                       ///< in [0, 2]
  };
  Snapshot snapshot() const { return Snapshot{key_, block_, buffer_, buffered_}; }
  /// Continues from a snapshot(); throws InvalidArgument for one that no generator can be in.
  void restore(const Snapshot& s) {
    if (s.buffered < 0 || s.buffered > 2) {
      throw InvalidArgument("Rng::restore: buffered outputs must be in [0, 2], got " + std::to_string(s.buffered));
    }
    key_ = s.key;
    block_ = s.block;
    buffer_ = s.buffer;
    buffered_ = s.buffered;
  }

  /// One uniform 64-bit integer.
  std::uint64_t next_u64() {
    if (buffered_ == 0) {
      const detail::Philox4x32::Block w = detail::Philox4x32::block(
          {static_cast<std::uint32_t>(block_), static_cast<std::uint32_t>(block_ >> 32), 0, 0},
          static_cast<std::uint32_t>(key_), static_cast<std::uint32_t>(key_ >> 32));
      ++block_;
      buffer_[0] = (std::uint64_t{w[1]} << 32) | w[0];
      buffer_[1] = (std::uint64_t{w[3]} << 32) | w[2];
      buffered_ = 2;
    }
    return buffer_[static_cast<std::size_t>(2 - buffered_--)];
  }

  /// A uniform integer in [0, n), n > 0, without modulo bias (values below 2^64 mod n are redrawn).
  std::uint64_t uniform_index(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;
    std::uint64_t x = next_u64();
    while (x < threshold) x = next_u64();
    return x % n;
  }

  /// Fills out[0..n) with uniforms on the half-open interval (0, 1]: never 0, so log(u) is always finite.
  template <class Scalar>
  void uniform(Scalar* out, Index n) {
    uniform(out, n, [](Index, Index) {});
  }

  /// Fills out[0..n) with standard normals N(0, 1). Float normals come from 24-bit uniforms, so |z| < 5.77.
  template <class Scalar>
  void normal(Scalar* out, Index n) {
    normal(out, n, [](Index, Index) {});
  }

  /// uniform(out, n), then then(begin, length) on each chunk of values [begin, begin + length) right after it is
  /// drawn, on the thread that drew it, while the chunk (at most kParallelChunk values) is in L1 cache: a layer's use
  /// of its noise fused into the draw instead of a pass over memory after it. then must touch only that range of its
  /// arrays. The values are those of uniform(out, n) on any thread count.
  template <class Scalar, class Then>
  void uniform(Scalar* out, Index n, Then&& then) {
    static_assert(std::is_floating_point_v<Scalar>, "Rng::uniform needs float or double");
    if (n <= 0) return;
    const std::uint64_t first = reserve<Scalar>(n);
    const std::uint64_t key = key_;
    for_chunks(n, [&](Index begin, Index length) {
      uniform_run(key, first + blocks_before<Scalar>(begin), out + begin, length);
      then(begin, length);
    });
  }
  /// normal(out, n) with then(begin, length) on each chunk right after it is drawn, as uniform(out, n, then).
  template <class Scalar, class Then>
  void normal(Scalar* out, Index n, Then&& then) {
    static_assert(std::is_floating_point_v<Scalar>, "Rng::normal needs float or double");
    if (n <= 0) return;
    const std::uint64_t first = reserve<Scalar>(n);
    const std::uint64_t key = key_;
    for_chunks(n, [&](Index begin, Index length) {
      normal_run(key, first + blocks_before<Scalar>(begin), out + begin, length);
      then(begin, length);
    });
  }

  /// Fills out[0..n) with Bernoulli draws: 1 with probability p_one, else 0. p_one must be in [0, 1].
  template <class Scalar>
  void bernoulli(Scalar* out, Index n, double p_one) {
    if (!(p_one >= 0 && p_one <= 1)) {
      throw InvalidArgument("Rng::bernoulli: probability must be in [0, 1], got " + std::to_string(p_one));
    }
    if (n <= 0) return;
    const std::uint64_t first = reserve<Scalar>(n);
    const std::uint64_t key = key_;
    // u is uniform on (0, 1], so P(u <= p) = p exactly at the generator's resolution, including p = 0 and p = 1.
    const Scalar p = Scalar(p_one);
    for_chunks(n, [&](Index begin, Index length) {
      Scalar* o = out + begin;
      uniform_run(key, first + blocks_before<Scalar>(begin), o, length);
      for (Index k = 0; k < length; ++k) o[k] = o[k] <= p ? Scalar(1) : Scalar(0);
    });
  }

  /// Fills a whole Eigen matrix or array with uniforms on (0, 1].
  template <class Derived>
  void uniform(Eigen::DenseBase<Derived>& m) {
    static_assert(Derived::IsRowMajor == 0 || Derived::IsVectorAtCompileTime, "contiguous column-major expected");
    uniform(m.derived().data(), m.size());
  }
  /// Fills a whole Eigen matrix or array with standard normals.
  template <class Derived>
  void normal(Eigen::DenseBase<Derived>& m) {
    normal(m.derived().data(), m.size());
  }
  /// Fills a whole Eigen matrix or array with Bernoulli(p_one) draws as 0 and 1.
  template <class Derived>
  void bernoulli(Eigen::DenseBase<Derived>& m, double p_one) {
    bernoulli(m.derived().data(), m.size(), p_one);
  }

  /// One uniform on (0, 1].
  template <class Scalar = double>
  Scalar uniform_one() {
    const std::uint64_t x = next_u64();
    if constexpr (std::is_same_v<Scalar, float>) {
      return static_cast<float>((x >> 40) + 1u) * (1.0f / 16777216.0f);
    } else {
      return static_cast<double>((x >> 11) + 1u) * (1.0 / 9007199254740992.0);
    }
  }

 private:
  // Takes the groups of a fill of n values; returns its first block.
  template <class Scalar>
  std::uint64_t reserve(Index n) {
    constexpr Index V = kGroupValues<Scalar>;
    const std::uint64_t first = block_;
    const auto groups = static_cast<std::uint64_t>((n + V - 1) / V);
    block_ += groups * kGroupBlocks;
    return first;
  }
  // Blocks of a fill before its value `begin`, a multiple of the group's values.
  template <class Scalar>
  static std::uint64_t blocks_before(Index begin) {
    return static_cast<std::uint64_t>(begin / kGroupValues<Scalar>) * kGroupBlocks;
  }

  // Chunks per thread before a fill starts threads. Measured on 1 and 2 threads (AMD EPYC, beside other jobs): uniform
  // float fills of 8,192 / 16,384 / 32,768 values took 2.15 / 3.80 / 7.26 us on one thread and 1.70 / 2.36 / 4.46 us
  // on two; normals cost four to eight times as much per value, so they gain more.
  static constexpr Index kFillChunksPerThread = 4;

  // Calls fn(begin, length) over chunks of kParallelChunk values (a multiple of both groups' values), on several
  // threads for a large n. Which blocks a value comes from depends on its chunk's start only.
  template <class Fn>
  static void for_chunks(Index n, Fn&& fn) {
    static_assert(kParallelChunk % 64 == 0, "chunks must hold whole groups");
    parallel_chunks(n, fn, kFillChunksPerThread);
  }

  // The uniforms of `length` values (at most kParallelChunk) whose first is the first of the group at block `first`.
  template <class Scalar>
  static void uniform_run(std::uint64_t key, std::uint64_t first, Scalar* out, Index length) {
    constexpr Index kBatchValues = kGroupValues<Scalar> * detail::Philox4x32::kBatchGroups;
    alignas(64) std::uint32_t w[64 * detail::Philox4x32::kBatchGroups];
    for (Index i = 0; i < length; i += kBatchValues, first += kGroupBlocks * detail::Philox4x32::kBatchGroups) {
      detail::Philox4x32::batch(key, first, w);
      convert(w, out + i, std::min(kBatchValues, length - i));
    }
  }

  // The first m uniforms of a batch's words w (layout at the top of this file).
  static void convert(const std::uint32_t* w, float* out, Index m) {
    constexpr float scale = 1.0f / 16777216.0f;  // 2^-24
    BAYESDROP_VECTORIZE
    for (Index k = 0; k < m; ++k) out[k] = static_cast<float>(static_cast<std::int32_t>((w[k] >> 8) + 1u)) * scale;
  }
  static void convert(const std::uint32_t* w, double* out, Index m) {
    constexpr double scale = 1.0 / 9007199254740992.0;  // 2^-53
    constexpr Index L = kGroupBlocks;
    // Values s .. s + 15 (s a multiple of 16) join the words at 2 s + j (high) and 2 s + 16 + j (low).
    for (Index s = 0; s < m; s += L) {
      const std::uint32_t* high = w + 2 * s;
      const Index count = std::min(L, m - s);
      BAYESDROP_VECTORIZE
      for (Index j = 0; j < count; ++j) {
        const std::uint64_t bits = ((std::uint64_t{high[j]} << 32) | high[L + j]) >> 11;
        out[s + j] = static_cast<double>(static_cast<std::int64_t>(bits + 1u)) * scale;
      }
    }
  }

  // The normals of `length` values (at most kParallelChunk) whose first is the first of the group at block `first`.
  template <class Scalar>
  static void normal_run(std::uint64_t key, std::uint64_t first, Scalar* out, Index length) {
    constexpr int kRun = 32, kHalf = 16;  // Box-Muller runs: 16 u1, then 16 u2
    const Index padded = (length + kRun - 1) / kRun * kRun;
    alignas(64) Scalar u[kParallelChunk];
    uniform_run(key, first, u, padded);
    using Half = Eigen::Array<Scalar, kHalf, Eigen::Dynamic>;
    using HalfMap = Eigen::Map<Half, Eigen::Unaligned, Eigen::OuterStride<kRun>>;
    constexpr Scalar two_pi = Scalar(6.283185307179586476925286766559);
    const Index runs = padded / kRun;
    HalfMap r(u, kHalf, runs), t(u + kHalf, kHalf, runs);
    // The angle is shifted to [-pi, pi) where Eigen's sin and cos are most accurate; that only flips signs, which
    // keeps the distribution.
    r = (Scalar(-2) * r.log()).sqrt();
    t = two_pi * (t - Scalar(0.5));
    if (padded == length) {
      HalfMap(out, kHalf, runs) = r * t.cos();
      HalfMap(out + kHalf, kHalf, runs) = r * t.sin();
    } else {  // the call's last chunk ends inside a run: the same packets, written to the stack, then copied
      alignas(64) Scalar z[kParallelChunk];
      HalfMap(z, kHalf, runs) = r * t.cos();
      HalfMap(z + kHalf, kHalf, runs) = r * t.sin();
      std::copy(z, z + length, out);
    }
  }

  std::uint64_t key_ = 0;
  std::uint64_t block_ = 0;
  std::array<std::uint64_t, 2> buffer_{};
  int buffered_ = 0;
};

}  // namespace bayesdrop
