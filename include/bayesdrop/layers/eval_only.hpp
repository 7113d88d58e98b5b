// Layers that only exist in compacted models (models/compact.hpp): they evaluate, they do not train.
//
//   SelectRows   y = x(indices, :)        keeps some features (input pixels, or the features a pruned gate left in
//                                          the middle of a network), in the order given
//   SparseLinear y = W x + b, W sparse    an Eigen::SparseMatrix (row-major), for a sparse VD layer whose kept weights
//                                          are too few for a dense product to pay off
//
// Neither has Parameters: compact() folds the gates' scales into the weights, so training this model would train
// something other than the original. forward in Mode::train and backward() throw InvalidArgument saying so.
#pragma once

#include <Eigen/SparseCore>
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"

namespace bayesdrop {
namespace detail {
/// The error of every eval-only layer asked to train.
[[noreturn]] inline void throw_eval_only(std::string_view layer, const char* what) {
  throw InvalidArgument(std::string(layer) + ": " + what +
                        " is not available; compact models are for inference; train the original model");
}
}  // namespace detail

/// y = x(indices, :): row i of y is row indices[i] of x. Evaluation only.
template <class Scalar>
class SelectRows final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// Keeps rows `indices` (each in [0, input_rows), any order) of an input with `input_rows` rows; at least one.
  SelectRows(Index input_rows, std::vector<Index> indices) : in_(input_rows), idx_(std::move(indices)) {
    if (in_ <= 0 || idx_.empty()) {
      throw InvalidArgument("SelectRows: need a positive input size and at least one row to keep, got " +
                            std::to_string(in_) + " and " + std::to_string(idx_.size()));
    }
    for (Index r : idx_) {
      if (r < 0 || r >= in_) {
        throw InvalidArgument("SelectRows: row " + std::to_string(r) + " is outside an input of " +
                              std::to_string(in_) + " rows");
      }
    }
  }

  std::string_view name() const override { return "SelectRows"; }
  Index input_rows() const override { return in_; }
  Index output_rows() const override { return Index(idx_.size()); }
  /// The kept rows of the input, in output order.
  const std::vector<Index>& indices() const { return idx_; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    if (ctx.training()) detail::throw_eval_only(name(), "Mode::train");
    this->check_input(x);
    y.resize(output_rows(), x.cols());
    const Index n = output_rows();
    for (Index b = 0; b < x.cols(); ++b) {
      const Scalar* in = x.col(b).data();
      Scalar* out = y.col(b).data();
      for (Index i = 0; i < n; ++i) out[i] = in[idx_[std::size_t(i)]];
    }
  }
  void backward(const MatrixType&, const MatrixType&, MatrixType*) override {
    detail::throw_eval_only(name(), "backward()");
  }

 private:
  Index in_;
  std::vector<Index> idx_;
};

/// y = W x + b with W stored as a row-major Eigen::SparseMatrix. Evaluation only.
template <class Scalar>
class SparseLinear final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  /// Row-major: each output row's nonzeros are contiguous (see forward() for the product).
  using SparseMatrixType = Eigen::SparseMatrix<Scalar, Eigen::RowMajor>;

  /// The weights (out x in, compressed here) and the bias (out entries, or empty for none).
  SparseLinear(SparseMatrixType weight, Vector<Scalar> bias) : weight_(std::move(weight)), bias_(std::move(bias)) {
    if (weight_.rows() <= 0 || weight_.cols() <= 0) {
      throw InvalidArgument("SparseLinear: the weight matrix must be non-empty, got " +
                            detail::shape_string(weight_.rows(), weight_.cols()));
    }
    if (bias_.size() != 0 && bias_.size() != weight_.rows()) {
      throw ShapeError("SparseLinear: the bias has " + std::to_string(bias_.size()) + " entries for " +
                       std::to_string(weight_.rows()) + " outputs");
    }
    weight_.makeCompressed();
  }

  std::string_view name() const override { return "SparseLinear"; }
  Index input_rows() const override { return weight_.cols(); }
  Index output_rows() const override { return weight_.rows(); }
  const SparseMatrixType& weight() const { return weight_; }
  /// The bias, or an empty vector when the layer has none.
  const Vector<Scalar>& bias() const { return bias_; }
  /// Stored weights (nonzeros).
  Index nonzeros() const { return weight_.nonZeros(); }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    if (ctx.training()) detail::throw_eval_only(name(), "Mode::train");
    this->check_input(x);
    // Eigen's sparse x column-major dense product gathers one scalar per nonzero per example (no SIMD): 1.3 ms for a
    // 300 x 784 layer at 1 % density and batch 1000, 13 ms at 10 %, against 3.6 ms dense. With a ROW-major right
    // side it instead adds v * (input row j) to output row i for every nonzero (i, j), a SIMD axpy over the
    // examples. So blocks of kBlock examples are transposed into row-major buffers (L2-sized: in x 64 floats) and
    // back: 1.1 ms at 1 %, 2.5 ms at 10 % (bench_compact BM_DensitySweep, 1 thread, float).
    y.resize(output_rows(), x.cols());
    xt_.resize(input_rows(), kBlock);
    yt_.resize(output_rows(), kBlock);
    for (Index b = 0; b < x.cols(); b += kBlock) {
      const Index n = std::min(kBlock, x.cols() - b);
      xt_.leftCols(n) = x.middleCols(b, n);
      yt_.leftCols(n).noalias() = weight_ * xt_.leftCols(n);
      y.middleCols(b, n) = yt_.leftCols(n);
    }
    if (bias_.size() != 0) y.colwise() += bias_;
  }
  void backward(const MatrixType&, const MatrixType&, MatrixType*) override {
    detail::throw_eval_only(name(), "backward()");
  }

  /// As a dense layer would report it: weights = in x out, active weights = the nonzeros (so summarize() of a
  /// compact model counts nonzeros + biases as its kept parameters).
  SparsityStats sparsity() const override {
    Index active_in = 0;
    Vector<Scalar> used = Vector<Scalar>::Zero(input_rows());
    Index active_out = 0;
    for (Index r = 0; r < weight_.outerSize(); ++r) {
      bool any = false;
      for (typename SparseMatrixType::InnerIterator it(weight_, r); it; ++it) {
        if (it.value() != Scalar(0)) any = true, used[it.col()] = Scalar(1);
      }
      active_out += any ? 1 : 0;
    }
    active_in = Index((used.array() != Scalar(0)).count());
    return SparsityStats{
        input_rows(), active_in, input_rows() * output_rows(), weight_.nonZeros(), output_rows(), active_out, 1,
        bias_.size()};
  }

 private:
  /// Examples per transposed block.
  static constexpr Index kBlock = 64;
  using RowMajorMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  SparseMatrixType weight_;
  Vector<Scalar> bias_;
  RowMajorMatrix xt_, yt_;  // one block of the input and the output, examples along the rows
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(SelectRows)
BAYESDROP_EXTERN_CLASS_TEMPLATE(SparseLinear)

}  // namespace bayesdrop
