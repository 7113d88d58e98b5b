// 2-D max pooling per channel: a kh x kw window moved by a stride (by default the window size: non-overlapping
// windows; LeNet-5 uses 2x2 with stride 2, AlexNet-style overlapping pooling 3x3 with stride 2), optionally padded.
//
//   training and evaluation:  y(c, i, j) = max over the window's pixels x(c, i*sh + di - pt, j*sw + dj - pl),
//                             0 <= di < kh, 0 <= dj < kw, inside the image (padding never wins, as in PyTorch)
//                             (both modes are the same; MaxPool2d has no noise or parameters)
//   backward:                 dx(argmax(c, i, j)) += dy(c, i, j), every other entry of dx is 0
//
// Shapes: input image (C, H, W), output (C, Ho, Wo) with Ho = floor((H + pt + pb - kh) / sh) + 1 and
// Wo = floor((W + pl + pr - kw) / sw) + 1, which is (C, floor(H/k), floor(W/k)) for the default k x k window with
// stride k; rows and columns left over at the bottom and right edge are ignored. Padding must be smaller than the
// window on each side, so that every window holds a pixel. Ties go to the first maximum in row-major window order.
// The forward pass records the argmax of every output (an input row index per output value), which the backward
// pass scatters dy to; with overlapping windows an input can be the maximum of several outputs and receives the sum.
#pragma once

#include <algorithm>
#include <optional>
#include <string>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/layers/im2col.hpp"

namespace bayesdrop {

struct MaxPool2dOptions {
  Index kernel_h = 2, kernel_w = 2;  ///< window height and width, >= 1. Default: 2x2
  /// Step between windows, >= 1. Default: unset = the window size (non-overlapping windows)
  std::optional<Index> stride_h, stride_w;
  Index pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;  ///< ignored border, 0 <= pad < window. Default: 0

  MaxPool2dOptions& with_kernel(Index k) { return with_kernel(k, k); }
  MaxPool2dOptions& with_kernel(Index kh, Index kw) {
    kernel_h = kh, kernel_w = kw;
    return *this;
  }
  MaxPool2dOptions& with_stride(Index s) { return with_stride(s, s); }
  MaxPool2dOptions& with_stride(Index sh, Index sw) {
    stride_h = sh, stride_w = sw;
    return *this;
  }
  /// p padded rows and columns on every side.
  MaxPool2dOptions& with_padding(Index p) { return with_padding(p, p, p, p); }
  /// ph rows above and below, pw columns left and right.
  MaxPool2dOptions& with_padding(Index ph, Index pw) { return with_padding(ph, ph, pw, pw); }
  MaxPool2dOptions& with_padding(Index top, Index bottom, Index left, Index right) {
    pad_top = top, pad_bottom = bottom, pad_left = left, pad_right = right;
    return *this;
  }

  /// The window geometry over `input`; throws InvalidArgument naming `who` and the numbers for a non-positive
  /// window or stride, negative padding, padding not smaller than the window, or a window larger than the padded
  /// image.
  Conv2dGeometry geometry(ImageShape input, const char* who) const {
    const std::string w(who);
    if (kernel_h <= 0 || kernel_w <= 0) {
      throw InvalidArgument(w + ": the pooling window must be positive, got " + std::to_string(kernel_h) + "x" +
                            std::to_string(kernel_w));
    }
    Conv2dGeometry g{input, kernel_h, kernel_w, pad_top, pad_bottom, pad_left, pad_right};
    g.stride_h = stride_h.value_or(kernel_h);
    g.stride_w = stride_w.value_or(kernel_w);
    g.validate(who);
    if (pad_top >= kernel_h || pad_bottom >= kernel_h || pad_left >= kernel_w || pad_right >= kernel_w) {
      throw InvalidArgument(w + ": padding (top " + std::to_string(pad_top) + ", bottom " + std::to_string(pad_bottom) +
                            ", left " + std::to_string(pad_left) + ", right " + std::to_string(pad_right) +
                            ") must be smaller than the " + std::to_string(kernel_h) + "x" + std::to_string(kernel_w) +
                            " window, or a window could hold no pixel");
    }
    return g;
  }
};

template <class Scalar>
class MaxPool2d final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  using IndexMatrix = Eigen::Matrix<Index, Eigen::Dynamic, Eigen::Dynamic>;

  /// Pools `input` images with a kernel x kernel window and stride `kernel` (default 2); the window must fit.
  explicit MaxPool2d(ImageShape input, Index kernel = 2) : MaxPool2d(input, MaxPool2dOptions{}.with_kernel(kernel)) {}
  /// Pools `input` images with the window, stride and padding of `options`.
  MaxPool2d(ImageShape input, MaxPool2dOptions options)
      : options_(options), geometry_(options.geometry(input, "MaxPool2d")) {}

  std::string_view name() const override { return "MaxPool2d"; }
  Index input_rows() const override { return geometry_.input.size(); }
  Index output_rows() const override { return output_shape().size(); }
  const ImageShape& input_shape() const { return geometry_.input; }
  ImageShape output_shape() const { return geometry_.output(geometry_.input.channels); }
  /// Window height (the window is square unless set otherwise in the options).
  Index kernel() const { return geometry_.kernel_h; }
  const MaxPool2dOptions& options() const { return options_; }
  /// Window, padding and stride (kernel_h x kernel_w, strides resolved).
  const Conv2dGeometry& geometry() const { return geometry_; }

  /// compact(): a MaxPool2d with the same window over the kept channels; a channel that is the constant c pools to c
  /// (padding never wins the maximum).
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override {
    return std::make_shared<Form>(geometry_.input, output_shape(), options_);
  }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    const Index B = x.cols();
    y.resize(output_rows(), B);
    argmax_.resize(output_rows(), B);
    detail::for_image_groups(B, [&](Index, Index first, Index last) {
      for (Index b = first; b < last; ++b) pool_image(x.col(b).data(), y.col(b).data(), argmax_.col(b).data());
    });
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    if (!dx) return;
    dx->resize(input_rows(), x.cols());
    detail::for_image_groups(x.cols(), [&](Index, Index first, Index last) {
      for (Index b = first; b < last; ++b) {
        // dx(argmax) += dy: overlapping windows can share their maximum
        dx->col(b).setZero();
        for (Index o = 0; o < output_rows(); ++o) (*dx)(argmax_(o, b), b) += dy(o, b);
      }
    });
  }

  /// Input row of the maximum of every output value of the last forward pass (output_rows() x B).
  const IndexMatrix& argmax() const { return argmax_; }

 private:
  /// One image: out = the window maxima of `in`, arg = their input rows.
  void pool_image(const Scalar* in, Scalar* out, Index* arg) const {
    const Conv2dGeometry& g = geometry_;
    const Index H = g.input.height, W = g.input.width, Ho = g.output_height(), Wo = g.output_width();
    if (g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 && !g.padded()) {
      pool_image_2x2(in, out, arg);  // LeNet's pooling, without the general loop's branches
      return;
    }
    for (Index c = 0; c < g.input.channels; ++c) {
      for (Index i = 0; i < Ho; ++i) {
        // the window's rows inside the image; non-empty because the padding is smaller than the window
        const Index r0 = std::max<Index>(i * g.stride_h - g.pad_top, 0);
        const Index r1 = std::min<Index>(i * g.stride_h - g.pad_top + g.kernel_h, H);
        for (Index j = 0; j < Wo; ++j) {
          const Index s0 = std::max<Index>(j * g.stride_w - g.pad_left, 0);
          const Index s1 = std::min<Index>(j * g.stride_w - g.pad_left + g.kernel_w, W);
          Index best = (c * H + r0) * W + s0;
          Scalar best_value = in[best];
          for (Index r = r0; r < r1; ++r) {
            const Index row = (c * H + r) * W;
            for (Index s = s0; s < s1; ++s) {
              if (in[row + s] > best_value) {
                best_value = in[row + s];
                best = row + s;
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

  /// pool_image for 2x2 windows with stride 2 and no padding: the four candidates in row-major order, a later one
  /// winning only when strictly larger (ties to the first, as the general loop), as selects the compiler vectorises.
  void pool_image_2x2(const Scalar* in, Scalar* out, Index* arg) const {
    const Index H = geometry_.input.height, W = geometry_.input.width;
    const Index Ho = geometry_.output_height(), Wo = geometry_.output_width();
    for (Index c = 0; c < geometry_.input.channels; ++c) {
      for (Index i = 0; i < Ho; ++i) {
        const Index top = (c * H + 2 * i) * W, bottom = top + W;
        Scalar* o = out + (c * Ho + i) * Wo;
        Index* a = arg + (c * Ho + i) * Wo;
        for (Index j = 0; j < Wo; ++j) {
          Scalar best = in[top + 2 * j];
          Index at = top + 2 * j;
          const Index cand[3] = {top + 2 * j + 1, bottom + 2 * j, bottom + 2 * j + 1};
          for (Index n : cand) {
            const bool larger = in[n] > best;
            best = larger ? in[n] : best;
            at = larger ? n : at;
          }
          o[j] = best;
          a[j] = at;
        }
      }
    }
  }

  struct Form : CompactForm<Scalar> {
    ImageShape in, out;
    MaxPool2dOptions options;
    Form(ImageShape i, ImageShape o, MaxPool2dOptions opt) : in(i), out(o), options(opt) {}
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
      for (Index ch : detail::flagged_units(need_out, out.height * out.width))
        std::fill_n(need.begin() + ch * hw, hw, 1);
      return need;
    }
    std::vector<Index> build(const std::vector<Index>& have, const std::vector<char>&,
                             std::vector<LayerPtr<Scalar>>& layers, const CompactOptions&,
                             const std::string&) const override {
      const std::vector<Index> channels = detail::units_of(have, in.height * in.width);
      layers.push_back(std::make_unique<MaxPool2d>(ImageShape{Index(channels.size()), in.height, in.width}, options));
      return detail::unit_rows(channels, out.height * out.width);
    }
  };

  MaxPool2dOptions options_;
  Conv2dGeometry geometry_;
  IndexMatrix argmax_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(MaxPool2d)

}  // namespace bayesdrop
