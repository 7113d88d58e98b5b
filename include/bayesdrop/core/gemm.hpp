// The matrix products of the layers on column-major matrices, through one product back end:
//
//   c = op(a) op(b)   or   c += op(a) op(b),   op = identity or transpose
//
// The operands are Eigen matrices or maps of column-major blocks with unit inner stride (a convolution's per-image
// patches and outputs are maps into its batch buffers). By default Eigen's `.noalias()` product on each part of the
// result (below). With BAYESDROP_ONEDNN defined (CMake option of the same name, which also links oneDNN) products of
// floats run on oneDNN's matmul primitive instead: created once per part shape and leading dimensions, with
// scratchpads the object owns, so that after the first call on a shape no call allocates. Doubles always use Eigen.
//
// Threads: Eigen's own parallel product cuts the result by the thread count and picks its depth blocking for that
// count, so the sums in each entry, and with them a run's numbers, would change with the number of threads. Both
// paths therefore cut the result themselves, into parts that depend only on the shapes (product_split), and run each
// part as a one-thread product on up to Eigen::nbThreads() OpenMP threads: every entry is summed in the same order on
// 1 or 16 threads. Called inside an OpenMP parallel region (the convolutions' image groups, layers/im2col.hpp) a
// product runs on the calling thread alone. Objects called from different threads at once must be different objects.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <type_traits>

#include "bayesdrop/core/types.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef BAYESDROP_ONEDNN
#include <atomic>
#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <string>
#include <vector>
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

}  // namespace detail

/// How a product c (m x n, depth k) is cut into parts that run on separate threads: `parts` blocks of `block` rows
/// (by_rows) or columns, the last one shorter. It depends on the shapes only, never on the thread count.
struct ProductSplit {
  bool by_rows = true;
  Index parts = 1;
  Index block = 0;
};

/// The cut of c = op(a) op(b) that both back ends use. Each part packs the operand it shares with the others again,
/// an overhead of about parts / side of the product's time, so the cut runs along c's longer side (the shared operand
/// is then the smaller one) into a power of two of parts (they share 2, 4 or 8 threads evenly), each with at least
/// kProductPartWork multiply-adds and kProductPartSide rows or columns (kProductHalfSide for a cut in two, which is
/// what lets a second thread help at all), at most kProductMaxParts. The MLP's largest
/// products (500 x 100 and 500 x 784, depth 784 and 100) get 2 and 4 parts: 8 parts of them made a 2-thread epoch 8 %
/// slower than 2 parts did (docs/benchmarks.md, "Products cut by shape").
inline constexpr Index kProductPartSide = 128;
inline constexpr Index kProductHalfSide = 32;
inline constexpr double kProductPartWork = 1 << 19;
inline constexpr Index kProductMaxParts = 16;
inline ProductSplit product_split(Index m, Index n, Index k) {
  ProductSplit s;
  s.by_rows = n <= m;
  const Index side = s.by_rows ? m : n;
  if (side <= 0) return s;  // an empty result: one empty part
  const double work = double(m) * double(n) * double(k);
  while (s.parts < kProductMaxParts && work / double(2 * s.parts) >= kProductPartWork &&
         side / (2 * s.parts) >= (s.parts == 1 ? kProductHalfSide : kProductPartSide))
    s.parts *= 2;
  s.block = (side + s.parts - 1) / s.parts;
  s.block = std::min(side, (s.block + 7) / 8 * 8);  // whole register panels (8 floats or doubles) but in the last
  s.parts = std::max<Index>(1, (side + s.block - 1) / s.block);
  return s;
}

namespace detail {

/// What both back ends take as an operand: a column-major matrix or map whose columns are contiguous.
template <class M>
inline constexpr bool kColumnMajorUnitStride = M::InnerStrideAtCompileTime == 1 && !(M::Flags & Eigen::RowMajorBit);

/// part(p) for every part p of a product: on min(Eigen::nbThreads(), max(parts, team)) OpenMP threads when that is
/// more than one, else (one thread allowed, or inside a parallel region already) on the calling thread.
template <class Fn>
void run_parts(Index parts, Index team, Fn&& part) {
#ifdef _OPENMP
  const int threads = omp_in_parallel() ? 1 : int(std::min<Index>(Eigen::nbThreads(), std::max(parts, team)));
  if (threads > 1) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (Index p = 0; p < parts; ++p) part(p);
    return;
  }
#else
  (void)team;
#endif
  for (Index p = 0; p < parts; ++p) part(p);
}

/// Eigen's product: c = op(a) op(b), or c += op(a) op(b) when Accumulate, cut as product_split says.
template <class Scalar, Op OpA, Op OpB, bool Accumulate>
struct EigenProduct {
  /// A, B: Matrix<Scalar> or maps of one (unit inner stride, any outer stride); C: a Matrix (resized when
  /// overwritten) or a map that already has the result's shape.
  template <class A, class B, class C>
  void operator()(const A& a, const B& b, C&& c) {
    using CType = std::decay_t<C>;
    static_assert(kColumnMajorUnitStride<A> && kColumnMajorUnitStride<B> && kColumnMajorUnitStride<CType>,
                  "bayesdrop gemm: operands must be column-major with unit inner stride");
    if constexpr (!Accumulate && std::is_same_v<CType, Matrix<Scalar>>) {
      c.resize(OpA == Op::none ? a.rows() : a.cols(), OpB == Op::none ? b.cols() : b.rows());
    }
    run(a.data(), a.rows(), a.cols(), a.outerStride(), b.data(), b.rows(), b.cols(), b.outerStride(), c.data(),
        c.rows(), c.cols(), c.outerStride());
  }

 private:
  // Every operand and every part becomes a map of one type, so that a translation unit compiles Eigen's product once
  // per (Scalar, OpA, OpB, Accumulate) instead of once per operand type and cut direction (each costs ~1.5 s and
  // ~150 MB of compile, scripts/compile-cost.sh).
  using ConstMap = Eigen::Map<const Matrix<Scalar>, 0, Eigen::OuterStride<>>;
  using MutableMap = Eigen::Map<Matrix<Scalar>, 0, Eigen::OuterStride<>>;

  static void run(const Scalar* a, Index a_rows, Index a_cols, Index lda, const Scalar* b, Index b_rows, Index b_cols,
                  Index ldb, Scalar* c, Index c_rows, Index c_cols, Index ldc) {
    const Index m = OpA == Op::none ? a_rows : a_cols, k = OpA == Op::none ? a_cols : a_rows;
    const Index n = OpB == Op::none ? b_cols : b_rows;
    eigen_assert((OpB == Op::none ? b_rows : b_cols) == k && c_rows == m && c_cols == n);
    (void)c_rows, (void)c_cols;
    const ProductSplit split = product_split(m, n, k);
    const Index side = split.by_rows ? m : n;
    auto part = [&](Index p) {
      const Index first = p * split.block, len = std::min(split.block, side - first);
      if (split.by_rows) {  // rows [first, first + len) of op(a) and of c
        const ConstMap part_a = OpA == Op::none ? ConstMap(a + first, len, k, Eigen::OuterStride<>(lda))
                                                : ConstMap(a + first * lda, k, len, Eigen::OuterStride<>(lda));
        assign(part_a, ConstMap(b, b_rows, b_cols, Eigen::OuterStride<>(ldb)),
               MutableMap(c + first, len, n, Eigen::OuterStride<>(ldc)));
      } else {  // columns [first, first + len) of op(b) and of c
        const ConstMap part_b = OpB == Op::none ? ConstMap(b + first * ldb, k, len, Eigen::OuterStride<>(ldb))
                                                : ConstMap(b + first, len, k, Eigen::OuterStride<>(ldb));
        assign(ConstMap(a, a_rows, a_cols, Eigen::OuterStride<>(lda)), part_b,
               MutableMap(c + first * ldc, m, len, Eigen::OuterStride<>(ldc)));
      }
    };
    // Inside a region of more than one thread Eigen runs a product on the calling thread, with the blocking of one
    // thread; outside, with more than one thread allowed, it would cut the product by the thread count. So even a
    // product of one part runs inside a region (of two threads, one idle) when threads are allowed.
    run_parts(split.parts, 2, part);
  }

  static void assign(const ConstMap& a, const ConstMap& b, MutableMap c) {
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
/// As on the Eigen path, c is cut as product_split says and each part is one one-thread execution, so that the sums
/// do not depend on the thread count; the parts have at most two shapes (the last may be shorter), each with its
/// primitive, and every part its own memory objects and scratchpad, because parts run on several threads at once.
template <Op OpA, Op OpB, bool Accumulate>
class OneDnnProduct {
 public:
  OneDnnProduct() = default;
  // A copy builds its own primitives on its first call: the memory objects hold the last call's pointers.
  OneDnnProduct(const OneDnnProduct&) {}
  OneDnnProduct& operator=(const OneDnnProduct&) {
    shapes_[0] = shapes_[1] = {};
    parts_.clear();
    m_ = n_ = k_ = lda_ = ldb_ = ldc_ = -1;
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
    static_assert(kColumnMajorUnitStride<A> && kColumnMajorUnitStride<B> && kColumnMajorUnitStride<CType>,
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
    const Index lda = a.outerStride(), ldb = b.outerStride(), ldc = c.outerStride();
    if (m != m_ || n != n_ || k != k_ || lda != lda_ || ldb != ldb_ || ldc != ldc_) create(m, n, k, lda, ldb, ldc);
    const Index side = split_.by_rows ? m : n;
    float* const pa = const_cast<float*>(a.data());
    float* const pb = const_cast<float*>(b.data());
    float* const pc = c.data();
    auto part = [&](Index p) {
      const Index first = p * split_.block;
      const Index len = std::min(split_.block, side - first);
      // The part's rows of op(a) and of c (by_rows), or its columns of op(b) and of c.
      float* const part_a = !split_.by_rows ? pa : OpA == Op::none ? pa + first : pa + first * lda;
      float* const part_b = split_.by_rows ? pb : OpB == Op::none ? pb + first * ldb : pb + first;
      float* const part_c = split_.by_rows ? pc + first : pc + first * ldc;
      execute(shapes_[len == split_.block ? 0 : 1], parts_[std::size_t(p)], part_a, part_b, part_c);
    };
    run_parts(split_.parts, 1, part);
  }

 private:
  using dims = dnnl::memory::dims;
  using dt = dnnl::memory::data_type;

  /// One shape of part: its primitive and the descriptions its memory objects are made from.
  struct Shape {
    dnnl::matmul prim;
    dnnl::memory::desc a_md, b_md, c_md, scratch_md;
    std::size_t scratch_bytes = 0;
  };
  /// One part's memory objects (their data handles are set on every call) and scratchpad.
  struct PartMemory {
    dnnl::memory src, weights, dst, scratch;
  };

  /// The row-major view of op(x)^T, where x (rows x cols) is column-major with columns ld apart: x^T as stored, or x
  /// with swapped strides.
  static dnnl::memory::desc transposed_view(Op op, Index rows, Index cols, Index ld) {
    if (op == Op::none) return {dims{cols, rows}, dt::f32, dims{ld, 1}};
    return {dims{rows, cols}, dt::f32, dims{1, ld}};
  }

  /// The primitive of a part with pm rows and pn columns of c, made for one thread.
  static Shape make_shape(Index pm, Index pn, Index k, Index lda, Index ldb, Index ldc) {
    dnnl::engine& engine = onednn_engine();
    Shape s;
    // a is pm x k (or k x pm stored), b is k x pn (or pn x k stored); c^T is pn x pm row-major.
    s.a_md = transposed_view(OpA, OpA == Op::none ? pm : k, OpA == Op::none ? k : pm, lda);  // op(a)^T: k x pm
    s.b_md = transposed_view(OpB, OpB == Op::none ? k : pn, OpB == Op::none ? pn : k, ldb);  // op(b)^T: pn x k
    s.c_md = dnnl::memory::desc(dims{pn, pm}, dt::f32, dims{ldc, 1});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if constexpr (Accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.f);
      attr.set_post_ops(ops);
    }
#ifdef _OPENMP
    const int saved = omp_get_max_threads();  // the primitive splits its work for this many threads: one
    if (saved != 1) omp_set_num_threads(1);
#endif
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(s.b_md, s.a_md, s.c_md), attr, engine);
    s.prim = dnnl::matmul(pd);
#ifdef _OPENMP
    if (saved != 1) omp_set_num_threads(saved);
#endif
    s.scratch_md = pd.scratchpad_desc();
    s.scratch_bytes = s.scratch_md.get_size();
    return s;
  }

  void create(Index m, Index n, Index k, Index lda, Index ldb, Index ldc) {
    split_ = product_split(m, n, k);
    const Index side = split_.by_rows ? m : n;
    const Index last = side - (split_.parts - 1) * split_.block;
    const Index block = split_.block;
    shapes_[0] = split_.by_rows ? make_shape(block, n, k, lda, ldb, ldc) : make_shape(m, block, k, lda, ldb, ldc);
    if (last != block) {
      shapes_[1] = split_.by_rows ? make_shape(last, n, k, lda, ldb, ldc) : make_shape(m, last, k, lda, ldb, ldc);
    }
    dnnl::engine& engine = onednn_engine();
    parts_.clear();
    for (Index p = 0; p < split_.parts; ++p) {
      const Shape& s = shapes_[p == split_.parts - 1 && last != block ? 1 : 0];
      PartMemory mem;
      mem.src = dnnl::memory(s.b_md, engine, DNNL_MEMORY_NONE);
      mem.weights = dnnl::memory(s.a_md, engine, DNNL_MEMORY_NONE);
      mem.dst = dnnl::memory(s.c_md, engine, DNNL_MEMORY_NONE);
      mem.scratch = dnnl::memory(s.scratch_md, engine);  // oneDNN allocates it here, once
      parts_.push_back(mem);
    }
    m_ = m, n_ = n, k_ = k, lda_ = lda, ldb_ = ldb, ldc_ = ldc;
  }

  /// One part on the calling thread: c_part = op(a_part) op(b_part) (+ c_part).
  static void execute(const Shape& s, PartMemory& mem, float* a, float* b, float* c) {
    mem.src.set_data_handle(b);
    mem.weights.set_data_handle(a);
    mem.dst.set_data_handle(c);
    // The C interface takes a plain array of arguments; the C++ one builds an unordered_map (an allocation) per call.
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, mem.src.get()},
                                    {DNNL_ARG_WEIGHTS, mem.weights.get()},
                                    {DNNL_ARG_DST, mem.dst.get()},
                                    {DNNL_ARG_SCRATCHPAD, mem.scratch.get()}};
    const int nargs = s.scratch_bytes > 0 ? 4 : 3;
#ifdef _OPENMP
    const int saved = omp_get_max_threads();  // oneDNN runs on the calling thread's OpenMP team size: one
    if (saved != 1) omp_set_num_threads(1);
#endif
    ++onednn_executing();
    const dnnl_status_t status = dnnl_primitive_execute(s.prim.get(), onednn_stream().get(), nargs, args);
    --onednn_executing();
    ++onednn_executions();
#ifdef _OPENMP
    if (saved != 1) omp_set_num_threads(saved);
#endif
    if (status != dnnl_success)
      throw std::runtime_error("bayesdrop gemm: oneDNN matmul failed, status " + std::to_string(int(status)));
  }

  ProductSplit split_;
  Shape shapes_[2];  // the parts' shape, and the last part's when it is shorter
  std::vector<PartMemory> parts_;
  Index m_ = -1, n_ = -1, k_ = -1, lda_ = -1, ldb_ = -1, ldc_ = -1;
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
