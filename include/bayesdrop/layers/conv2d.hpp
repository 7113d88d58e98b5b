// 2-D convolution (cross-correlation, as in every deep-learning library) with zero padding and stride; by default
// valid padding and stride 1.
//
//   training and evaluation:  y(o, i, j) = b(o) + sum_{c, di, dj} W(o, (c*kh + di)*kw + dj) x(c, i*sh + di - pt,
//                                                                                             j*sw + dj - pl)
//                             with x = 0 in the padding (both modes are the same; Conv2d has no noise)
//   computed per image b:     cols_b = im2col(x_b) (P x K),  y_b = cols_b W^T + b (P x C_out: column b of y as is)
//   backward:                 dz_b = column b of dy (P x C_out);  dW += sum_b dz_b^T cols_b;  db += sums of dz_b;
//                             dx_b = col2im(dz_b W)
//
// Shapes: input image (C_in, H, W), output image (C_out, Ho, Wo) with Ho = floor((H + pt + pb - kh) / sh) + 1 and
// Wo = floor((W + pl + pr - kw) / sw) + 1 (H - kh + 1, W - kw + 1 by default), both stored one image per column
// (core/types.hpp). Parameters: weight W (C_out x C_in*kh*kw; row o is filter o, flattened channel, row, column),
// bias b (C_out x 1), initialised by Conv2dOptions::init with fan_in = C_in*kh*kw, fan_out = C_out*kh*kw (Glorot
// uniform by default, Lasagne's and Keras's conv default) and zero.
//
// Speed: per-image products in cache, no reorder pass, images split over the threads in groups (layers/im2col.hpp);
// the products on the library's back end (core/gemm.hpp: Eigen, or oneDNN's matmul for floats); the patches and the
// groups' scratch and products are members, so after the first batch nothing is allocated.
#pragma once

#include <string>
#include <vector>

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/init.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/layers/im2col.hpp"

namespace bayesdrop {

struct Conv2dOptions {
  Init init =
      Init::glorot_uniform();  ///< weight initialiser (fans C_in*kh*kw and C_out*kh*kw). Default: Glorot uniform
  bool bias = true;            ///< learn one additive bias per output channel. Default: true
  WindowOptions window;        ///< zero padding and stride (layers/im2col.hpp). Default: valid, stride 1

  Conv2dOptions& with_init(Init i) {
    init = i;
    return *this;
  }
  Conv2dOptions& with_bias(bool b) {
    bias = b;
    return *this;
  }
  Conv2dOptions& with_window(WindowOptions w) {
    window = w;
    return *this;
  }
  /// p zero rows and columns on every side.
  Conv2dOptions& with_padding(Index p) {
    window.with_padding(p);
    return *this;
  }
  /// ph zero rows above and below, pw zero columns left and right.
  Conv2dOptions& with_padding(Index ph, Index pw) {
    window.with_padding(ph, pw);
    return *this;
  }
  Conv2dOptions& with_padding(Index top, Index bottom, Index left, Index right) {
    window.with_padding(top, bottom, left, right);
    return *this;
  }
  /// (k - 1) / 2 on every side of an odd kernel: stride 1 keeps the image size.
  Conv2dOptions& with_same_padding() {
    window.with_same_padding();
    return *this;
  }
  Conv2dOptions& with_stride(Index s) {
    window.with_stride(s);
    return *this;
  }
  Conv2dOptions& with_stride(Index sh, Index sw) {
    window.with_stride(sh, sw);
    return *this;
  }
};

template <class Scalar>
class Conv2d final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// A kernel_h x kernel_w kernel over `input` images, producing `out_channels` channels, with the padding and
  /// stride of options.window (throws InvalidArgument for geometry without an output position).
  Conv2d(ImageShape input, Index out_channels, Index kernel_h, Index kernel_w, Rng& rng, Conv2dOptions options = {})
      : geometry_(checked(options.window.geometry(input, kernel_h, kernel_w, "Conv2d"), out_channels)),
        weight_("weight", ParamRole::weight, out_channels, geometry_.patch_size()),
        bias_("bias", ParamRole::bias, out_channels, 1),
        has_bias_(options.bias) {
    initialize(weight_.value, geometry_.patch_size(), out_channels * kernel_h * kernel_w, options.init, rng);
  }
  /// A square kernel x kernel kernel.
  Conv2d(ImageShape input, Index out_channels, Index kernel, Rng& rng, Conv2dOptions options = {})
      : Conv2d(input, out_channels, kernel, kernel, rng, options) {}

  std::string_view name() const override { return "Conv2d"; }

  /// A Conv2d over `input` images with the given weights (out_channels x C_in*kernel_h*kernel_w), padding and
  /// stride and, if `bias`, the bias b (compact() builds its layers so).
  static std::unique_ptr<Conv2d> with_weights(ImageShape input, Index kernel_h, Index kernel_w, const MatrixType& w,
                                              const Vector<Scalar>& b, bool bias, const WindowOptions& window = {}) {
    Rng rng(0);  // the constructor draws initial weights; they are overwritten
    auto conv = std::make_unique<Conv2d>(input, w.rows(), kernel_h, kernel_w, rng,
                                         Conv2dOptions{}.with_init(Init::zeros()).with_bias(bias).with_window(window));
    conv->weight_.value = w;
    if (bias) conv->bias_.value.col(0) = b;
    return conv;
  }
  /// compact(): the kept input and output channels as a smaller Conv2d.
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override {
    return compact_conv_form(geometry_, weight_.value, has_bias_, bias_.value);
  }
  /// The compact form of a convolution with these effective weights (also SparseVDConv2d's).
  static std::shared_ptr<CompactForm<Scalar>> compact_conv_form(const Conv2dGeometry& g, MatrixType w, bool has_bias,
                                                                const MatrixType& bias) {
    CompactWeights<Scalar> c = dense_compact_weights<Scalar>(std::move(w), has_bias, bias);
    c.image = true;
    c.in_spatial = g.input.height * g.input.width;
    c.out_spatial = g.positions();
    c.block = g.kernel_h * g.kernel_w;
    c.padded = g.padded();
    return std::make_shared<WeightForm<Scalar>>(
        std::move(c), [g](const MatrixType& w, const Vector<Scalar>& b, bool bias, const CompactOptions&) {
          const ImageShape in{w.cols() / (g.kernel_h * g.kernel_w), g.input.height, g.input.width};
          return LayerPtr<Scalar>(with_weights(in, g.kernel_h, g.kernel_w, w, b, bias, g.window()));
        });
  }
  Index input_rows() const override { return geometry_.input.size(); }
  Index output_rows() const override { return weight_.value.rows() * geometry_.positions(); }
  const ImageShape& input_shape() const { return geometry_.input; }
  ImageShape output_shape() const { return geometry_.output(weight_.value.rows()); }
  const Conv2dGeometry& geometry() const { return geometry_; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    const Index B = x.cols(), P = geometry_.positions(), K = geometry_.patch_size(), C = weight_.value.rows();
    const bool keep = ctx.training();  // backward needs the patches; evaluation builds each in a cached scratch
    if (keep) cols_.resize(P, K * B);
    y.resize(C * P, B);
    detail::for_image_groups(B, [&](Index k, Index first, Index last) {
      Scratch& s = groups_[std::size_t(k)];
      if (!keep) s.cols.resize(P, K);
      for (Index b = first; b < last; ++b) {
        Eigen::Map<MatrixType> cols(keep ? cols_.data() + b * P * K : s.cols.data(), P, K);
        Eigen::Map<MatrixType> z(y.col(b).data(), P, C);  // column b of y, one column per output channel
        detail::im2col_image(x.col(b).data(), geometry_, cols.data(), P);
        s.forward(cols, weight_.value, z);  // z_b = cols_b W^T
        if (has_bias_) z.rowwise() += bias_.value.col(0).transpose();
      }
    });
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    const Index B = x.cols(), P = geometry_.positions(), K = geometry_.patch_size(), C = weight_.value.rows();
    if (dx) dx->resize(geometry_.input.size(), B);
    detail::for_image_groups(B, [&](Index k, Index first, Index last) {
      Scratch& s = groups_[std::size_t(k)];
      s.dw.setZero(C, K);
      s.db.setZero(C);
      for (Index b = first; b < last; ++b) {
        const Eigen::Map<const MatrixType> dz(dy.col(b).data(), P, C), cols(cols_.data() + b * P * K, P, K);
        s.weight_grad(dz, cols, s.dw);                          // dW = sum_b dz_b^T cols_b
        if (has_bias_) s.db += dz.colwise().sum().transpose();  // db = sum over positions and images
        if (dx) {
          s.input_grad(dz, weight_.value, s.dcols);  // d cols_b = dz_b W
          detail::col2im_image(s.dcols.data(), P, geometry_, dx->col(b).data());
        }
      }
    });
    // the groups' sums in group order: the same result for any thread count
    for (Index k = 0; k < std::min(B, detail::kImageGroups); ++k) {
      weight_.grad += groups_[std::size_t(k)].dw;
      if (has_bias_) bias_.grad.col(0) += groups_[std::size_t(k)].db;
    }
  }

  std::vector<Parameter<Scalar>*> parameters() override {
    if (has_bias_) return {&weight_, &bias_};
    return {&weight_};
  }
  /// Input units are the input channels; every weight is active.
  SparsityStats sparsity() const override {
    const auto w = weight_.value.size();
    const Index c = weight_.value.rows();
    return SparsityStats{geometry_.input.channels, geometry_.input.channels, w, w, c, c,
                         geometry_.positions(),    has_bias_ ? c : 0};
  }

  Parameter<Scalar>& weight() { return weight_; }
  Parameter<Scalar>& bias() { return bias_; }
  const Parameter<Scalar>& weight() const { return weight_; }
  const Parameter<Scalar>& bias() const { return bias_; }
  bool has_bias() const { return has_bias_; }

 private:
  static Conv2dGeometry checked(Conv2dGeometry g, Index out_channels) {
    if (out_channels <= 0) {
      throw InvalidArgument("Conv2d: out_channels must be positive, got " + std::to_string(out_channels));
    }
    return g;
  }

  Conv2dGeometry geometry_;
  Parameter<Scalar> weight_;
  Parameter<Scalar> bias_;
  bool has_bias_;
  using Scratch = detail::ImageGroupScratch<Scalar>;
  MatrixType cols_;  // the patches of the last training batch, image b in columns [b*K, (b+1)*K): P x (K*B)
  std::vector<Scratch> groups_ = std::vector<Scratch>(std::size_t(detail::kImageGroups));
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(Conv2d)

}  // namespace bayesdrop
