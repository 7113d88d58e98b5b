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
//     value and example (drawn as one (C_out*P) x B matrix, the layout of y); per image b with im2col:
//     mu_b = cols_b theta_m^T, var_b = (cols_b o cols_b) S^T, both P x C_out, i.e. column b of y as is
//     (layers/im2col.hpp)
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
#include <vector>

#include "bayesdrop/core/instantiation.hpp"
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
    const Index B = x.cols(), P = geometry_.positions(), K = geometry_.patch_size(), C = out_channels();
    const bool train = ctx.training();
    y.resize(C * P, B);
    if (!train) {
      const MatrixType& w = post_.prepare_eval();
      detail::for_image_groups(B, [&](Index k, Index first, Index last) {
        Scratch& s = groups_[std::size_t(k)];
        s.cols.resize(P, K);
        for (Index b = first; b < last; ++b) {
          Eigen::Map<MatrixType> z(y.col(b).data(), P, C);
          detail::im2col_image(x.col(b).data(), geometry_, s.cols.data(), P);
          s.forward(s.cols, w, z);  // conv(x, theta o mask), in column b of y
          add_bias(z);
        }
      });
      return;
    }
    Rng& rng = this->training_rng(ctx);
    post_.prepare_train();
    const MatrixType& wm = post_.mean_weight();
    const auto wv = post_.variance_weight();  // a Map: no copy
    cols_.resize(P, K * B);
    eps_.resize(C * P, B);  // in y's layout, drawn before the threads start: the same noise for any thread count
    rng.normal(eps_);
    sd_.resize(C * P, B);
    const Scalar e = Scalar(kSparseVDVarianceEpsilon);
    detail::for_image_groups(B, [&](Index k, Index first, Index last) {
      Scratch& s = groups_[std::size_t(k)];
      for (Index b = first; b < last; ++b) {
        Eigen::Map<MatrixType> cols(cols_.data() + b * P * K, P, K), y_b(y.col(b).data(), P, C);
        Eigen::Map<MatrixType> sd(sd_.col(b).data(), P, C);
        detail::im2col_image(x.col(b).data(), geometry_, cols.data(), P);
        s.forward(cols, wm, y_b);  // mu = conv(x, theta_m)
        s.cols = cols.array().square();
        s.forward(s.cols, wv, sd);  // var = conv(x o x, S)
        sd = (sd.array() + e).sqrt();
        // y = mu + sqrt(var + 1e-8) o eps + b
        y_b.array() += sd.array() * Eigen::Map<const MatrixType>(eps_.col(b).data(), P, C).array();
        add_bias(y_b);
      }
    });
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    const Index B = x.cols(), P = geometry_.positions(), K = geometry_.patch_size(), C = out_channels();
    const MatrixType& wm = post_.mean_weight();
    const auto wv = post_.variance_weight();  // a Map: no copy
    if (dx) dx->resize(geometry_.input.size(), B);
    detail::for_image_groups(B, [&](Index k, Index first, Index last) {
      Scratch& s = groups_[std::size_t(k)];
      s.dw.setZero(C, K);
      s.dw2.setZero(C, K);
      s.db.setZero(C);
      for (Index b = first; b < last; ++b) {
        using ConstMap = Eigen::Map<const MatrixType>;
        const ConstMap dz(dy.col(b).data(), P, C), cols(cols_.data() + b * P * K, P, K);  // dz = d loss / d mu
        const ConstMap eps(eps_.col(b).data(), P, C), sd(sd_.col(b).data(), P, C);
        s.dz2 = dz.array() * eps.array() * (Scalar(0.5) / sd.array());  // d loss / d var = dy o eps / (2 sd)
        s.db += dz.colwise().sum().transpose();
        s.weight_grad(dz, cols, s.dw);  // d loss / d theta_m = sum_b dz_b^T cols_b
        s.cols = cols.array().square();
        s.weight_grad(s.dz2, s.cols, s.dw2);  // d loss / d S = sum_b dvar_b^T (cols_b o cols_b)
        if (dx) {
          // d cols = dz theta_m + 2 cols o (dvar S), then dx = col2im(d cols)
          s.input_grad(s.dz2, wv, s.dcols);
          s.dcols.array() *= Scalar(2) * cols.array();
          s.input_grad_add(dz, wm, s.dcols);
          detail::col2im_image(s.dcols.data(), P, geometry_, dx->col(b).data());
        }
      }
    });
    g_mean_.setZero(C, K);
    g_var_.setZero(C, K);
    // the groups' sums in group order: the same result for any thread count
    for (Index k = 0; k < std::min(B, detail::kImageGroups); ++k) {
      const Scratch& s = groups_[std::size_t(k)];
      g_mean_ += s.dw;
      g_var_ += s.dw2;
      if (post_.has_bias()) post_.bias.grad.col(0) += s.db;
    }
    if (!post_.masks_mean_gradient()) post_.theta.grad += g_mean_;
    post_.accumulate_gradients(post_.masks_mean_gradient() ? &g_mean_ : nullptr, g_var_);
  }

  std::vector<Parameter<Scalar>*> parameters() override {
    if (post_.has_bias()) return {&post_.theta, &post_.log_sigma2, &post_.bias};
    return {&post_.theta, &post_.log_sigma2};
  }
  bool has_kl() const override { return true; }
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
  bool set_train_mask(bool m) override {
    post_.set_train_mask(m);
    return true;
  }

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

  void add_bias(Eigen::Map<MatrixType>& z) const {
    if (post_.has_bias()) z.rowwise() += post_.bias.value.col(0).transpose();
  }

  using Scratch = detail::ImageGroupScratch<Scalar>;
  Conv2dGeometry geometry_;
  detail::SparseVDPosterior<Scalar> post_;
  MatrixType cols_;  // the patches of the last training batch, image b in columns [b*K, (b+1)*K): P x (K*B)
  MatrixType eps_;   // the noise of the last training forward, (C_out*P) x B as y
  MatrixType sd_;    // its sqrt(var + 1e-8), (C_out*P) x B
  MatrixType g_mean_, g_var_;
  std::vector<Scratch> groups_ = std::vector<Scratch>(std::size_t(detail::kImageGroups));
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(SparseVDConv2d)

}  // namespace bayesdrop
