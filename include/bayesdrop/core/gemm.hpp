// The matrix products of the layers on column-major matrices, through one product back end:
//
//   c = op(a) op(b)   or   c += op(a) op(b),   op = identity or transpose
//
// The operands are Eigen matrices or maps of column-major blocks with unit inner stride (a convolution's per-image
// patches and outputs are maps into its batch buffers). By default Eigen's `.noalias()` product, the same expression
// a layer would write itself (so the results are bit for bit Eigen's). With BAYESDROP_ONEDNN defined (CMake option of
// the same name, which also links oneDNN) products of floats run on oneDNN's matmul primitive instead: created once
// per shape, leading dimensions and thread count, with a scratchpad the object owns, so that after the first call on
// a shape no call allocates. Doubles always use Eigen.
//
// Threads: the oneDNN path runs on Eigen::nbThreads() OpenMP threads, like Eigen's own products; called inside an
// OpenMP parallel region (the convolutions' image groups, layers/im2col.hpp) it runs on the calling thread alone,
// as Eigen's products do there. Objects called from different threads at once must be different objects.
#pragma once

#include <Eigen/Core>
#include <type_traits>

#include "bayesdrop/core/types.hpp"

#ifdef BAYESDROP_ONEDNN
#include <atomic>
#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <string>
#ifdef _OPENMP
#include <omp.h>
#endif
#endif

namespace bayesdrop {

/// Whether a product's operand is used as stored or transposed.
enum class Op { none, transpose };

namespace detail {

template <Op O, class M>
decltype(auto) apply_op(const M& m) {
  if constexpr (O == Op::transpose) {
    return m.transpose();
  } else {
    return (m);  // a reference, not a copy
  }
}

/// Eigen's product: c = op(a) op(b), or c += op(a) op(b) when Accumulate.
template <class Scalar, Op OpA, Op OpB, bool Accumulate>
struct EigenProduct {
  /// A, B: Matrix<Scalar> or maps of one; C: a Matrix (resized when overwritten) or a map of the result's shape.
  template <class A, class B, class C>
  void operator()(const A& a, const B& b, C&& c) {
    if constexpr (Accumulate) {
      c.noalias() += apply_op<OpA>(a) * apply_op<OpB>(b);
    } else {
      c.noalias() = apply_op<OpA>(a) * apply_op<OpB>(b);
    }
  }
};

#ifdef BAYESDROP_ONEDNN

/// The CPU engine and an in-order stream, one each for the process.
inline dnnl::engine& onednn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}
/// One stream per thread: the convolutions' image groups execute products from several threads at once.
inline dnnl::stream& onednn_stream() {
  thread_local dnnl::stream stream(onednn_engine());
  return stream;
}

/// oneDNN matmul executions so far in this process, and how many are running now. oneDNN 2.6 allocates a few small
/// blocks with operator new inside every execution (its execution context's argument maps), which no public interface
/// avoids; tests/models/test_no_allocation.cpp tells them from the library's own allocations by these.
inline std::atomic<long>& onednn_executions() {
  static std::atomic<long> count{0};
  return count;
}
inline std::atomic<int>& onednn_executing() {
  static std::atomic<int> running{0};
  return running;
}

/// oneDNN's matmul for floats: c = op(a) op(b) (+ c). oneDNN's matmul is row-major, and a column-major matrix is the
/// row-major storage of its transpose, so it computes c^T = op(b)^T op(a)^T: src = op(b)^T, weights = op(a)^T,
/// dst = c^T, with the transposes expressed as strides (no copies). Accumulating is its sum post-op (dst += result).
template <Op OpA, Op OpB, bool Accumulate>
class OneDnnProduct {
 public:
  OneDnnProduct() = default;
  // A copy builds its own primitive on its first call: the memory objects hold the last call's pointers.
  OneDnnProduct(const OneDnnProduct&) {}
  OneDnnProduct& operator=(const OneDnnProduct&) {
    prim_ = {};
    src_ = weights_ = dst_ = scratch_ = {};
    scratch_bytes_ = 0;
    m_ = n_ = k_ = lda_ = ldb_ = ldc_ = -1;
    threads_ = 0;
    return *this;
  }

  /// A, B: Matrix<float> or maps of one (unit inner stride, any outer stride); C: a Matrix (resized when overwritten)
  /// or a map that already has the result's shape.
  template <class A, class B, class C>
  void operator()(const A& a, const B& b, C&& c) {
    using CType = std::decay_t<C>;
    static_assert(std::is_same_v<typename A::Scalar, float> && std::is_same_v<typename B::Scalar, float> &&
                      std::is_same_v<typename CType::Scalar, float>,
                  "bayesdrop gemm: the oneDNN product is for floats");
    static_assert(A::InnerStrideAtCompileTime == 1 && B::InnerStrideAtCompileTime == 1 &&
                      CType::InnerStrideAtCompileTime == 1 && !(A::Flags & Eigen::RowMajorBit) &&
                      !(B::Flags & Eigen::RowMajorBit) && !(CType::Flags & Eigen::RowMajorBit),
                  "bayesdrop gemm: operands must be column-major with unit inner stride");
    const Index m = OpA == Op::none ? a.rows() : a.cols();
    const Index k = OpA == Op::none ? a.cols() : a.rows();
    const Index n = OpB == Op::none ? b.cols() : b.rows();
    if ((OpB == Op::none ? b.rows() : b.cols()) != k) throw std::invalid_argument("bayesdrop gemm: inner sizes differ");
    if constexpr (!Accumulate && std::is_same_v<CType, Matrix<float>>) {
      c.resize(m, n);
    } else if (c.rows() != m || c.cols() != n) {
      throw std::invalid_argument("bayesdrop gemm: the result has the wrong shape");
    }
    if (m == 0 || n == 0) return;
    if (k == 0) {
      if constexpr (!Accumulate) c.setZero();
      return;
    }
#ifdef _OPENMP
    // Inside a parallel region (the convolutions' image groups) the product runs on this thread alone.
    const int threads = omp_in_parallel() ? 1 : Eigen::nbThreads();
#else
    const int threads = 1;
#endif
    const Index lda = a.outerStride(), ldb = b.outerStride(), ldc = c.outerStride();
    if (!prim_ || m != m_ || n != n_ || k != k_ || lda != lda_ || ldb != ldb_ || ldc != ldc_ || threads != threads_)
      create(m, n, k, lda, ldb, ldc, threads);
    src_.set_data_handle(const_cast<float*>(b.data()));
    weights_.set_data_handle(const_cast<float*>(a.data()));
    dst_.set_data_handle(c.data());
    // The C interface takes a plain array of arguments; the C++ one builds an unordered_map (an allocation) per call.
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, src_.get()},
                                    {DNNL_ARG_WEIGHTS, weights_.get()},
                                    {DNNL_ARG_DST, dst_.get()},
                                    {DNNL_ARG_SCRATCHPAD, scratch_.get()}};
    const int nargs = scratch_bytes_ > 0 ? 4 : 3;
#ifdef _OPENMP
    const int saved = omp_get_max_threads();  // oneDNN runs on the calling thread's OpenMP team size
    if (saved != threads) omp_set_num_threads(threads);
#endif
    ++onednn_executing();
    const dnnl_status_t status = dnnl_primitive_execute(prim_.get(), onednn_stream().get(), nargs, args);
    --onednn_executing();
    ++onednn_executions();
#ifdef _OPENMP
    if (saved != threads) omp_set_num_threads(saved);
#endif
    if (status != dnnl_success)
      throw std::runtime_error("bayesdrop gemm: oneDNN matmul failed, status " + std::to_string(int(status)));
  }

 private:
  using dims = dnnl::memory::dims;
  using dt = dnnl::memory::data_type;

  /// The row-major view of op(x)^T, where x (rows x cols) is column-major with columns ld apart: x^T as stored, or x
  /// with swapped strides.
  static dnnl::memory::desc transposed_view(Op op, Index rows, Index cols, Index ld) {
    if (op == Op::none) return {dims{cols, rows}, dt::f32, dims{ld, 1}};
    return {dims{rows, cols}, dt::f32, dims{1, ld}};
  }

  void create(Index m, Index n, Index k, Index lda, Index ldb, Index ldc, int threads) {
    dnnl::engine& engine = onednn_engine();
    // a is m x k (or k x m stored), b is k x n (or n x k stored); c^T is n x m row-major.
    const auto a_md = transposed_view(OpA, OpA == Op::none ? m : k, OpA == Op::none ? k : m, lda);  // op(a)^T: k x m
    const auto b_md = transposed_view(OpB, OpB == Op::none ? k : n, OpB == Op::none ? n : k, ldb);  // op(b)^T: n x k
    const dnnl::memory::desc c_md(dims{n, m}, dt::f32, dims{ldc, 1});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if constexpr (Accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.f);
      attr.set_post_ops(ops);
    }
#ifdef _OPENMP
    const int saved = omp_get_max_threads();  // the primitive splits its work for this many threads
    if (saved != threads) omp_set_num_threads(threads);
#endif
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(b_md, a_md, c_md), attr, engine);
    prim_ = dnnl::matmul(pd);
#ifdef _OPENMP
    if (saved != threads) omp_set_num_threads(saved);
#endif
    src_ = dnnl::memory(b_md, engine, DNNL_MEMORY_NONE);
    weights_ = dnnl::memory(a_md, engine, DNNL_MEMORY_NONE);
    dst_ = dnnl::memory(c_md, engine, DNNL_MEMORY_NONE);
    scratch_bytes_ = pd.scratchpad_desc().get_size();
    scratch_ = dnnl::memory(pd.scratchpad_desc(), engine);  // oneDNN allocates it here, once
    m_ = m, n_ = n, k_ = k, lda_ = lda, ldb_ = ldb, ldc_ = ldc, threads_ = threads;
  }

  dnnl::matmul prim_;
  dnnl::memory src_, weights_, dst_, scratch_;
  std::size_t scratch_bytes_ = 0;
  Index m_ = -1, n_ = -1, k_ = -1, lda_ = -1, ldb_ = -1, ldc_ = -1;
  int threads_ = 0;
};

template <class Scalar, Op OpA, Op OpB, bool Accumulate>
struct DefaultProduct {
  using type = EigenProduct<Scalar, OpA, OpB, Accumulate>;
};
template <Op OpA, Op OpB, bool Accumulate>
struct DefaultProduct<float, OpA, OpB, Accumulate> {
  using type = OneDnnProduct<OpA, OpB, Accumulate>;
};

#else

template <class Scalar, Op OpA, Op OpB, bool Accumulate>
struct DefaultProduct {
  using type = EigenProduct<Scalar, OpA, OpB, Accumulate>;
};

#endif

}  // namespace detail

/// One product shape of a layer, c = op(a) op(b) (or c += op(a) op(b) when Accumulate), on the library's back end:
/// Eigen by default, oneDNN for floats when BAYESDROP_ONEDNN is defined. Call it as `product(a, b, c)` with matrices
/// or column-major maps; a Matrix c is resized when overwritten, a map must have the result's shape, and c must
/// already have it when accumulated into. c must not alias a or b.
/// A layer keeps one object per product it computes, so that the oneDNN primitive made for a shape is reused.
template <class Scalar, Op OpA, Op OpB, bool Accumulate>
using Product = typename detail::DefaultProduct<Scalar, OpA, OpB, Accumulate>::type;

/// y = W x (a dense layer's forward, before the bias).
template <class Scalar>
using ForwardProduct = Product<Scalar, Op::none, Op::none, false>;
/// dW += dy x^T (its weight gradient).
template <class Scalar>
using WeightGradProduct = Product<Scalar, Op::none, Op::transpose, true>;
/// dx = W^T dy (its input gradient).
template <class Scalar>
using InputGradProduct = Product<Scalar, Op::transpose, Op::none, false>;
/// H = dy x^T, overwritten (the input-gate shortcut's weight gradient).
template <class Scalar>
using OuterProduct = Product<Scalar, Op::none, Op::transpose, false>;

/// The name of the product back end compiled in: "onednn" or "eigen".
inline constexpr const char* product_backend() {
#ifdef BAYESDROP_ONEDNN
  return "onednn";
#else
  return "eigen";
#endif
}

}  // namespace bayesdrop
