// 2-D convolution (zero padding and stride as Conv2d's, by default valid and 1) with sparse variational dropout on
// every weight (Molchanov, Ashukha & Vetrov 2017): w = theta + sigma eps per weight, log-uniform prior, weights with
// log alpha >= 3 pruned.
//
// @inproceedings{molchanov2017variational,
//   title     = {Variational Dropout Sparsifies Deep Neural Networks},
//   author    = {Molchanov, Dmitry and Ashukha, Arsenii and Vetrov, Dmitry},
//   booktitle = {Proceedings of the 34th International Conference on Machine Learning},
//   pages     = {2498--2507},
//   year      = {2017}
// }
//
//   training (local reparameterisation trick, per output value):
//     mu = conv(x, theta_m) + b,  var = conv(x o x, S),  y = mu + sqrt(var + 1e-8) o eps,  eps ~ N(0, 1) per output
//     value and example; with im2col: mu = cols theta_m^T, var = (cols o cols) S^T (layers/im2col.hpp)
//     theta_m = theta, or theta masked where log alpha >= 3 with train_mask (the scripts' train_clip=True);
//     S = exp(clip(log alpha)) o theta^2 (default, the authors' code) or exp(log sigma^2) (SparseVDVariance::sigma2)
//   evaluation (deterministic):  y = conv(x, theta o 1[log alpha < 3]) + b
//   KL:  sum over weights of KL(log alpha),  -KL(la) ~= k1 sigmoid(k2 + k3 la) - 0.5 log1p(exp(-la)) - k1
//        log alpha = clip(log sigma^2 - log(theta^2 + 1e-8), -8, 8)        (math/kl_sparse_vd.hpp)
//
// Shapes: input image (C_in, H, W), output (C_out, Ho, Wo) as for Conv2d (H - kh + 1, W - kw + 1 without padding and
// stride), one image per column; padded entries of the patches are 0 in both products. Parameters (the
// Conv2d weight shape; defaults and their sources in layers/sparse_vd_options.hpp):
//   theta       (C_out x C_in*kh*kw, role weight): Glorot uniform, fans C_in*kh*kw and C_out*kh*kw (the authors' conv
//               layer ignores its W=init.Normal() argument and keeps Lasagne's GlorotUniform).
//   log_sigma2  (same shape, role noise): -10.
//   bias        (C_out x 1, role bias): zero, added to the sampled pre-activation.
//
// Sparsity: weights kept = log alpha < 3; units are channels: active_in = input channels with a kept weight,
// active_outputs() = output channels with a kept weight.
#pragma once

#include <string>

#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/layers/conv2d.hpp"
#include "bayesdrop/layers/im2col.hpp"
#include "bayesdrop/layers/sparse_vd_options.hpp"
#include "bayesdrop/layers/sparse_vd_posterior.hpp"

namespace bayesdrop {

template <class Scalar>
class SparseVDConv2d final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// A kernel_h x kernel_w kernel over `input` images, producing `out_channels` channels, with the zero padding and
  /// stride of `window` (layers/im2col.hpp; throws InvalidArgument for geometry without an output position).
  SparseVDConv2d(ImageShape input, Index out_channels, Index kernel_h, Index kernel_w, Rng& rng,
                 const SparseVDOptions& options = {}, WindowOptions window = {})
      : geometry_(checked(window.geometry(input, kernel_h, kernel_w, "SparseVDConv2d"), out_channels)),
        post_(out_channels, geometry_.patch_size(), geometry_.patch_size(), out_channels * kernel_h * kernel_w,
              validated(options), Init::glorot_uniform(), rng) {}
  /// A square kernel x kernel kernel.
  SparseVDConv2d(ImageShape input, Index out_channels, Index kernel, Rng& rng, const SparseVDOptions& options = {},
                 WindowOptions window = {})
      : SparseVDConv2d(input, out_channels, kernel, kernel, rng, options, window) {}

  std::string_view name() const override { return "SparseVDConv2d"; }
  Index input_rows() const override { return geometry_.input.size(); }
  Index output_rows() const override { return out_channels() * geometry_.positions(); }
  Index out_channels() const { return post_.theta.value.rows(); }
  const ImageShape& input_shape() const { return geometry_.input; }
  ImageShape output_shape() const { return geometry_.output(out_channels()); }
  const Conv2dGeometry& geometry() const { return geometry_; }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    const Index P = geometry_.positions();
    const Scalar* bias_values = post_.has_bias() ? post_.bias.value.data() : nullptr;
    im2col(x, geometry_, cols_);
    if (!ctx.training()) {
      zmu_.noalias() = cols_ * post_.prepare_eval().transpose();  // conv(x, theta o mask)
      positions_to_images(zmu_, P, y, bias_values);
      return;
    }
    Rng& rng = this->training_rng(ctx);
    post_.prepare_train();
    zmu_.noalias() = cols_ * post_.mean_weight().transpose();  // mu = conv(x, theta_m)
    colsq_ = cols_.array().square();
    zvar_.noalias() = colsq_ * post_.variance_weight().transpose();  // var = conv(x o x, S)
    eps_.resize(zmu_.rows(), zmu_.cols());
    rng.normal(eps_);
    // y = mu + sqrt(var + 1e-8) o eps + b, reordered from positions to images in the same pass
    const Index B = x.cols(), C = out_channels();
    y.resize(output_rows(), B);
    const Scalar e = Scalar(kSparseVDVarianceEpsilon);
    for (Index j = 0; j < B; ++j) {
      for (Index c = 0; c < C; ++c) {
        const Scalar bias_c = bias_values ? bias_values[c] : Scalar(0);
        y.col(j).segment(c * P, P).array() =
            zmu_.col(c).segment(j * P, P).array() +
            (zvar_.col(c).segment(j * P, P).array() + e).sqrt() * eps_.col(c).segment(j * P, P).array() + bias_c;
      }
    }
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    const Index P = geometry_.positions();
    images_to_positions(dy, out_channels(), P, dz_);  // d loss / d mu, one row per output position
    // d loss / d var = dy o eps / (2 sd)
    dzvar_ = dz_.array() * eps_.array() * (Scalar(0.5) / (zvar_.array() + Scalar(kSparseVDVarianceEpsilon)).sqrt());
    if (post_.has_bias()) post_.bias.grad.col(0) += dz_.colwise().sum().transpose();
    if (post_.masks_mean_gradient()) {
      g_mean_.noalias() = dz_.transpose() * cols_;  // d loss / d theta_m = dz^T cols
    } else {
      post_.theta.grad.noalias() += dz_.transpose() * cols_;
    }
    g_var_.noalias() = dzvar_.transpose() * colsq_;  // d loss / d S = dvar^T (cols o cols)
    post_.accumulate_gradients(post_.masks_mean_gradient() ? &g_mean_ : nullptr, g_var_);
    if (dx) {
      // d cols = dz theta_m + 2 cols o (dvar S), then dx = col2im(d cols)
      detail::multiply_row_blocks(dzvar_, post_.variance_weight(), dcols_, false);
      dcols_.array() *= Scalar(2) * cols_.array();
      detail::multiply_row_blocks(dz_, post_.mean_weight(), dcols_, true);
      col2im(dcols_, geometry_, *dx);
    }
  }

  std::vector<Parameter<Scalar>*> parameters() override {
    if (post_.has_bias()) return {&post_.theta, &post_.log_sigma2, &post_.bias};
    return {&post_.theta, &post_.log_sigma2};
  }
  Scalar kl() const override { return post_.kl(); }
  void kl_backward(Scalar coeff) override { post_.kl_backward(coeff); }

  /// units_in = input channels, active_in = input channels with a kept weight; weights and kept weights.
  SparsityStats sparsity() const override {
    return SparsityStats{geometry_.input.channels, post_.active_column_groups(geometry_.kernel_h * geometry_.kernel_w),
                         post_.theta.value.size(), post_.kept_weights(),
                         post_.theta.value.rows(), post_.active_rows(),
                         geometry_.positions(),    post_.has_bias() ? post_.theta.value.rows() : 0};
  }
  /// Output channels that still have a kept weight.
  std::int64_t active_outputs() const { return post_.active_rows(); }

  /// log alpha = clip(log sigma^2 - log(theta^2 + 1e-8), -8, 8) at the current parameters (C_out x C_in*kh*kw).
  MatrixType log_alpha() const { return post_.log_alpha(); }
  /// The filters the evaluation forward uses: theta with pruned entries set to zero.
  /// compact(): the evaluation weights' kept block as a dense Conv2d.
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override {
    return Conv2d<Scalar>::compact_conv_form(geometry_, eval_weight(), has_bias(), post_.bias.value);
  }

  MatrixType eval_weight() const { return post_.kept().select(post_.theta.value.array(), Scalar(0)).matrix(); }

  Parameter<Scalar>& theta() { return post_.theta; }
  Parameter<Scalar>& log_sigma2() { return post_.log_sigma2; }
  Parameter<Scalar>& bias() { return post_.bias; }
  const Parameter<Scalar>& theta() const { return post_.theta; }
  const Parameter<Scalar>& log_sigma2() const { return post_.log_sigma2; }
  const Parameter<Scalar>& bias() const { return post_.bias; }
  bool has_bias() const { return post_.has_bias(); }
  const SparseVDOptions& options() const { return post_.options(); }
  /// Masks the weights of log alpha >= threshold in training too (the authors' train_clip), from the next forward.
  void set_train_mask(bool m) { post_.set_train_mask(m); }

 private:
  static Conv2dGeometry checked(Conv2dGeometry g, Index out_channels) {
    if (out_channels <= 0) {
      throw InvalidArgument("SparseVDConv2d: out_channels must be positive, got " + std::to_string(out_channels));
    }
    return g;
  }
  static const SparseVDOptions& validated(const SparseVDOptions& o) {
    o.validate("SparseVDConv2d");
    return o;
  }

  Conv2dGeometry geometry_;
  detail::SparseVDPosterior<Scalar> post_;
  MatrixType cols_, colsq_, zmu_, zvar_, eps_, dz_, dzvar_, g_mean_, g_var_, dcols_;
};

}  // namespace bayesdrop
