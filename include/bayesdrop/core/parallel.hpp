// Element-wise passes over large tensors, split into cache-sized chunks and over Eigen's OpenMP threads.
//
// Eigen parallelises its matrix products but not coefficient-wise work; the optimisers' updates and the per-weight
// passes of the weight-noise layers (log alpha, its exponential, the KL gradient: a few transcendental functions per
// weight per step) would otherwise run on one core while the others wait for the next product.
#pragma once

#include <Eigen/Core>
#include <algorithm>

#include "bayesdrop/core/types.hpp"

/// In front of an element-wise loop whose pointers do not overlap: asks the compiler to vectorise it even where it
/// cannot prove that (the aliasing checks of a loop over seven arrays make GCC give up and keep it scalar).
#if defined(_OPENMP)
#define BAYESDROP_VECTORIZE _Pragma("omp simd")
#elif defined(__clang__)
#define BAYESDROP_VECTORIZE _Pragma("clang loop vectorize(enable)")
#elif defined(__GNUC__)
#define BAYESDROP_VECTORIZE _Pragma("GCC ivdep")
#else
#define BAYESDROP_VECTORIZE
#endif

namespace bayesdrop {

namespace detail {
/// The default per-thread guard of parallel_chunks: nothing.
struct NoThreadGuard {};
}  // namespace detail

/// Elements per chunk of parallel_chunks: a chunk-sized scratch array (8 KiB of floats) lives on the stack.
inline constexpr Index kParallelChunk = 2048;

/// Calls fn(first, length) for consecutive chunks of n elements, small enough (kParallelChunk) that one chunk's values
/// stay in L1 cache between the statements of fn: several passes then cost about as much as one fused loop. Chunks run
/// on up to Eigen::nbThreads() OpenMP threads when each thread gets at least `chunks_per_thread` of them (below that,
/// starting the threads costs more than it saves; the default suits a few flops per element), so fn must touch only
/// the elements of its own chunk. Each thread constructs one Guard for the duration (e.g. a floating-point mode). The
/// split does not depend on the thread count, so results are the same for any count.
template <class Guard = detail::NoThreadGuard, class Fn>
void parallel_chunks(Index n, Fn&& fn, Index chunks_per_thread = 16) {
  constexpr Index kChunk = kParallelChunk;
  const Index chunks = (n + kChunk - 1) / kChunk;
  (void)chunks_per_thread;  // without OpenMP every chunk runs on the calling thread
#ifdef _OPENMP
  const int threads = int(std::clamp<Index>(chunks / std::max<Index>(chunks_per_thread, 1), 1, Eigen::nbThreads()));
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
  {
    [[maybe_unused]] Guard guard;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (Index c = 0; c < chunks; ++c) fn(c * kChunk, std::min(kChunk, n - c * kChunk));
  }
}

/// Calls fn(k) for every k in [0, n), on Eigen::nbThreads() OpenMP threads (static schedule) when n >= min_parallel
/// and on the calling thread otherwise: for per-unit work that costs as much as a small matrix product per unit
/// (SBP's truncated-normal quantities). fn must write only to the slots of its own k; the result does not depend
/// on the thread count.
template <class Fn>
void parallel_for(Index n, Index min_parallel, Fn&& fn) {
#ifdef _OPENMP
  const int threads = n >= min_parallel ? Eigen::nbThreads() : 1;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (Index k = 0; k < n; ++k) fn(k);
#else
  (void)min_parallel;
  for (Index k = 0; k < n; ++k) fn(k);
#endif
}

}  // namespace bayesdrop
