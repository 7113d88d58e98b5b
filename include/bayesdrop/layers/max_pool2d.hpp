// 2-D max pooling per channel, square window k x k, stride k (non-overlapping windows; LeNet-5 uses k = 2).
//
//   training and evaluation:  y(c, i, j) = max_{0 <= di, dj < k} x(c, k*i + di, k*j + dj)
//                             (both modes are the same; MaxPool2d has no noise or parameters)
//   backward:                 dx(argmax(c, i, j)) = dy(c, i, j), every other entry of dx is 0
//
// Shapes: input image (C, H, W), output (C, floor(H/k), floor(W/k)); rows and columns left over at the bottom
// and right edge are ignored, as with valid padding. Ties go to the first maximum in row-major window order.
// The forward pass records the argmax of every output (an input row index per output value), which the backward
// pass scatters dy to; the windows do not overlap, so each input receives at most one value.
#pragma once

#include <string>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/layer.hpp"

namespace bayesdrop {

template <class Scalar>
class MaxPool2d final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using IndexMatrix = Eigen::Matrix<Index, Eigen::Dynamic, Eigen::Dynamic>;

  /// Pools `input` images with a kernel x kernel window and stride `kernel` (default 2); the window must fit.
  explicit MaxPool2d(ImageShape input, Index kernel = 2) : input_(input), k_(kernel) {
    if (input.channels <= 0 || input.height <= 0 || input.width <= 0) {
      throw InvalidArgument("MaxPool2d: input channels, height and width must be positive, got " +
                            std::to_string(input.channels) + "x" + std::to_string(input.height) + "x" +
                            std::to_string(input.width));
    }
    if (kernel <= 0 || kernel > input.height || kernel > input.width) {
      throw InvalidArgument("MaxPool2d: the pooling window " + std::to_string(kernel) +
                            " must be positive and fit inside the " + std::to_string(input.height) + "x" +
                            std::to_string(input.width) + " image");
    }
  }

  std::string_view name() const override { return "MaxPool2d"; }
  Index input_rows() const override { return input_.size(); }
  Index output_rows() const override { return output_shape().size(); }
  const ImageShape& input_shape() const { return input_; }
  ImageShape output_shape() const { return ImageShape{input_.channels, input_.height / k_, input_.width / k_}; }
  Index kernel() const { return k_; }

  /// compact(): a MaxPool2d over the kept channels; a channel that is the constant c pools to c.
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override {
    return std::make_shared<Form>(input_, output_shape(), k_);
  }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    const Index B = x.cols(), H = input_.height, W = input_.width, Ho = H / k_, Wo = W / k_;
    y.resize(output_rows(), B);
    argmax_.resize(output_rows(), B);
    for (Index b = 0; b < B; ++b) {
      const Scalar* in = x.col(b).data();
      Scalar* out = y.col(b).data();
      Index* arg = argmax_.col(b).data();
      for (Index c = 0; c < input_.channels; ++c) {
        for (Index i = 0; i < Ho; ++i) {
          for (Index j = 0; j < Wo; ++j) {
            Index best = (c * H + k_ * i) * W + k_ * j;
            Scalar best_value = in[best];
            for (Index di = 0; di < k_; ++di) {
              const Index row = (c * H + k_ * i + di) * W + k_ * j;
              for (Index dj = 0; dj < k_; ++dj) {
                if (in[row + dj] > best_value) {
                  best_value = in[row + dj];
                  best = row + dj;
                }
              }
            }
            const Index o = (c * Ho + i) * Wo + j;
            out[o] = best_value;
            arg[o] = best;
          }
        }
      }
    }
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    if (!dx) return;
    dx->setZero(input_rows(), x.cols());
    for (Index b = 0; b < x.cols(); ++b) {
      for (Index o = 0; o < output_rows(); ++o) (*dx)(argmax_(o, b), b) = dy(o, b);  // dx(argmax) = dy
    }
  }

  /// Input row of the maximum of every output value of the last forward pass (output_rows() x B).
  const IndexMatrix& argmax() const { return argmax_; }

 private:
  struct Form : CompactForm<Scalar> {
    ImageShape in, out;
    Index k;
    Form(ImageShape i, ImageShape o, Index kernel) : in(i), out(o), k(kernel) {}
    CompactRows<Scalar> fold(CompactRows<Scalar> a, const std::string& where) override {
      const Index hw = in.height * in.width, pq = out.height * out.width;
      detail::require_uniform(a, in.channels, hw, where);
      CompactRows<Scalar> pooled{Vector<Scalar>(out.size()), Vector<Scalar>(out.size())};
      for (Index ch = 0; ch < in.channels; ++ch) {
        pooled.scale.segment(ch * pq, pq).setConstant(a.scale[ch * hw]);
        pooled.value.segment(ch * pq, pq).setConstant(a.value[ch * hw]);
      }
      return pooled;
    }
    std::vector<char> needed_inputs(const std::vector<char>& need_out, const CompactRows<Scalar>&) const override {
      const Index hw = in.height * in.width;
      std::vector<char> need(std::size_t(in.size()), 0);
      for (Index ch : detail::flagged_units(need_out, out.height * out.width)) std::fill_n(need.begin() + ch * hw, hw, 1);
      return need;
    }
    std::vector<Index> build(const std::vector<Index>& have, const std::vector<char>&,
                             std::vector<LayerPtr<Scalar>>& layers, const CompactOptions&,
                             const std::string&) const override {
      const std::vector<Index> channels = detail::units_of(have, in.height * in.width);
      layers.push_back(std::make_unique<MaxPool2d>(ImageShape{Index(channels.size()), in.height, in.width}, k));
      return detail::unit_rows(channels, out.height * out.width);
    }
  };

  ImageShape input_;
  Index k_;
  IndexMatrix argmax_;
};

}  // namespace bayesdrop
