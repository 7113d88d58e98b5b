// Gaussian dropout: multiplicative N(1, alpha) noise on features or on convolution channels, alpha fixed.
//
// @article{srivastava2014dropout,
//   title   = {Dropout: A Simple Way to Prevent Neural Networks from Overfitting},
//   author  = {Srivastava, Nitish and Hinton, Geoffrey and Krizhevsky, Alex and Sutskever, Ilya and
//              Salakhutdinov, Ruslan},
//   journal = {Journal of Machine Learning Research},
//   volume  = {15},
//   pages   = {1929--1958},
//   year    = {2014},
//   note    = {Section 10: multiplicative Gaussian noise}
// }
// @inproceedings{wang2013fast,
//   title     = {Fast Dropout Training},
//   author    = {Wang, Sida and Manning, Christopher},
//   booktitle = {Proceedings of the 30th International Conference on Machine Learning},
//   year      = {2013}
// }
//
//   training:    y = x * z,   z = 1 + sqrt(alpha) * eps,  eps ~ N(0, 1) per example and per unit
//                (for a channel gate: per example and per channel, shared by the channel's H*W values)
//   evaluation:  y = x        (E[z] = 1; deterministic, no noise drawn)
//   backward:    dx = dy * z  (the cached z, units x B)
//   KL:          0 (alpha is fixed, not learned)
//
// alpha = p / (1 - p), where p is the drop probability of the binary dropout being replaced (0 <= p < 1), so that
// the noise has the variance of inverted binary dropout: p = 0.5 gives alpha = 1, p = 0.2 gives alpha = 0.25.
// GaussianDropoutOptions sets either p or alpha (alpha >= 0, finite). With alpha = 0 the layer is the identity in
// both modes and draws no noise. This is Kingma et al.'s "Gaussian dropout A"; type B (independent weight noise)
// is VariationalLinear with a fixed alpha.
//
// No parameters. Every unit is active: n_active() == units().
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/parallel.hpp"
#include "bayesdrop/layers/gate.hpp"

namespace bayesdrop {

/// The noise level of GaussianDropout, given as a drop rate p or directly as the variance alpha.
struct GaussianDropoutOptions {
  double alpha = 1.0;  ///< variance of the multiplicative noise, >= 0. Default: 1 (p = 0.5)

  /// alpha = p / (1 - p) from the drop rate of the binary dropout it replaces; 0 <= p < 1.
  GaussianDropoutOptions& with_p(double p) {
    if (!(p >= 0.0 && p < 1.0)) {
      throw InvalidArgument("GaussianDropoutOptions: the drop probability p must be in [0, 1), got " +
                            std::to_string(p) + " (the noise variance is alpha = p / (1 - p))");
    }
    alpha = p / (1.0 - p);
    return *this;
  }
  /// The variance of the noise directly; alpha >= 0 and finite.
  GaussianDropoutOptions& with_alpha(double a) {
    if (!(a >= 0.0) || !std::isfinite(a)) {
      throw InvalidArgument("GaussianDropoutOptions: alpha (the noise variance) must be finite and >= 0, got " +
                            std::to_string(a));
    }
    alpha = a;
    return *this;
  }
  /// The equivalent drop rate p = alpha / (1 + alpha).
  double p() const { return alpha / (1.0 + alpha); }
};

template <class Scalar>
class GaussianDropout final : public Gate<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// Gaussian dropout on `units` features with alpha = p / (1 - p), 0 <= p < 1.
  GaussianDropout(Index units, double p) : GaussianDropout(units, GaussianDropoutOptions{}.with_p(p)) {}
  /// Gaussian dropout on `units` features with the options' alpha.
  GaussianDropout(Index units, GaussianDropoutOptions options) : Gate<Scalar>(units, "GaussianDropout") {
    set_options(options);
  }
  /// Gaussian dropout on whole channels of a channels x height x width image, alpha = p / (1 - p).
  GaussianDropout(ImageShape image, double p) : GaussianDropout(image, GaussianDropoutOptions{}.with_p(p)) {}
  GaussianDropout(ImageShape image, GaussianDropoutOptions options) : Gate<Scalar>(image, "GaussianDropout") {
    set_options(options);
  }

  std::string_view name() const override { return "GaussianDropout"; }

  /// Variance of the multiplicative noise.
  double alpha() const { return alpha_; }
  /// The equivalent drop rate alpha / (1 + alpha).
  double p() const { return alpha_ / (1.0 + alpha_); }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    if (!ctx.training() || alpha_ == 0.0) {
      y = x;
      return;
    }
    Rng& rng = this->training_rng(ctx);
    const Scalar s = Scalar(std::sqrt(alpha_));
    z_.resize(this->units(), x.cols());
    if (this->spatial() == 1) {  // one pass: each chunk of eps becomes z and the output while in cache
      y.resize(x.rows(), x.cols());
      Scalar* z = z_.data();
      const Scalar* xs = x.data();
      Scalar* ys = y.data();
      rng.normal(z, z_.size(), [&](Index begin, Index length) {  // eps
        BAYESDROP_VECTORIZE
        for (Index i = begin; i < begin + length; ++i) {
          z[i] = Scalar(1) + s * z[i];  // z = 1 + sqrt(alpha) eps
          ys[i] = xs[i] * z[i];         // y = x * z
        }
      });
    } else {
      rng.normal(z_);
      z_.array() = Scalar(1) + s * z_.array();
      this->scale_per_example(x, z_, y);
    }
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    if (!dx) return;
    if (alpha_ == 0.0) {
      *dx = dy;
      return;
    }
    if (this->spatial() == 1) {
      dx->resize(dy.rows(), dy.cols());
      const Scalar* g = dy.data();
      const Scalar* z = z_.data();
      Scalar* d = dx->data();
      parallel_chunks(dy.size(), [&](Index begin, Index length) {
        BAYESDROP_VECTORIZE
        for (Index i = begin; i < begin + length; ++i) d[i] = g[i] * z[i];  // dx = dy * z
      });
    } else {
      this->scale_per_example(dy, z_, *dx);
    }
  }

  Index n_active() const override { return this->units(); }

  /// The multiplicative noise z of the most recent training forward (units x B).
  const MatrixType& noise() const { return z_; }

 private:
  void set_options(const GaussianDropoutOptions& o) {
    GaussianDropoutOptions{}.with_alpha(o.alpha);  // validates an options struct filled in by hand
    alpha_ = o.alpha;
  }

  double alpha_ = 1.0;
  MatrixType z_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(GaussianDropout)

}  // namespace bayesdrop
