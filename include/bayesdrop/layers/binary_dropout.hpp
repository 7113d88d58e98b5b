// Binary (Bernoulli) dropout with inverted scaling, on features or on convolution channels.
//
// @article{srivastava2014dropout,
//   title   = {Dropout: A Simple Way to Prevent Neural Networks from Overfitting},
//   author  = {Srivastava, Nitish and Hinton, Geoffrey and Krizhevsky, Alex and Sutskever, Ilya and
//              Salakhutdinov, Ruslan},
//   journal = {Journal of Machine Learning Research},
//   volume  = {15},
//   pages   = {1929--1958},
//   year    = {2014}
// }
//
//   training:    y = x * m / (1 - p),   m ~ Bernoulli(1 - p) drawn per example and per unit
//                (for a channel gate: per example and per channel, shared by the channel's H*W values)
//   evaluation:  y = x                  (deterministic; no noise drawn)
//   backward:    dx = dy * m / (1 - p)  (the cached scaled mask, units x B)
//   KL:          0 (no posterior, no parameters)
//
// p is the probability of DROPPING a unit, as in PyTorch and the sparse VD authors' DenseBinaryDropOut;
// Srivastava's p is the keep probability 1 - p. Valid: 0 <= p < 1. With p = 0 the layer is the identity in both
// modes and draws no noise (a training Context needs no Rng then). The inverted scaling 1 / (1 - p) makes
// E[y] = x in training, so evaluation needs no rescaling.
//
// No parameters. Every unit is active: n_active() == units(). A Bernoulli draw is m = [u <= 1 - p] with u uniform
// on (0, 1] from the Context's generator (the convention of Rng::bernoulli).
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/parallel.hpp"
#include "bayesdrop/layers/gate.hpp"

namespace bayesdrop {

template <class Scalar>
class BinaryDropout final : public Gate<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// Dropout on `units` features, each dropped with probability p (0 <= p < 1).
  BinaryDropout(Index units, double p) : Gate<Scalar>(units, "BinaryDropout") { set_p(p); }
  /// Dropout of whole channels of a channels x height x width image, each dropped with probability p.
  BinaryDropout(ImageShape image, double p) : Gate<Scalar>(image, "BinaryDropout") { set_p(p); }

  std::string_view name() const override { return "BinaryDropout"; }

  /// The drop probability.
  double p() const { return p_; }
  /// Changes the drop probability; throws InvalidArgument unless 0 <= p < 1.
  void set_p(double p) {
    if (!(p >= 0.0 && p < 1.0)) {
      throw InvalidArgument("BinaryDropout: the drop probability p must be in [0, 1), got " + std::to_string(p) +
                            " (p is the probability of DROPPING a unit; the keep probability is 1 - p; "
                            "p = 0 turns dropout off)");
    }
    p_ = p;
  }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    if (!ctx.training() || p_ == 0.0) {
      y = x;
      return;
    }
    Rng& rng = this->training_rng(ctx);
    const Scalar keep = Scalar(1.0 - p_);
    const Scalar scale = Scalar(1.0 / (1.0 - p_));
    mask_.resize(this->units(), x.cols());
    if (this->spatial() == 1) {  // one pass: each chunk of u becomes the mask and the output while in cache
      y.resize(x.rows(), x.cols());
      Scalar* m = mask_.data();
      const Scalar* xs = x.data();
      Scalar* ys = y.data();
      rng.uniform(m, mask_.size(), [&](Index begin, Index length) {  // u on (0, 1]
        BAYESDROP_VECTORIZE
        for (Index i = begin; i < begin + length; ++i) {
          m[i] = Scalar(m[i] <= keep) * scale;  // m / (1 - p), m = [u <= 1 - p]
          ys[i] = xs[i] * m[i];                 // y = x * m / (1 - p)
        }
      });
    } else {
      rng.uniform(mask_);
      mask_.array() = (mask_.array() <= keep).template cast<Scalar>() * scale;
      this->scale_per_example(x, mask_, y);
    }
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    if (!dx) return;
    if (p_ == 0.0) {
      *dx = dy;
      return;
    }
    if (this->spatial() == 1) {
      dx->resize(dy.rows(), dy.cols());
      const Scalar* g = dy.data();
      const Scalar* m = mask_.data();
      Scalar* d = dx->data();
      parallel_chunks(dy.size(), [&](Index begin, Index length) {
        BAYESDROP_VECTORIZE
        for (Index i = begin; i < begin + length; ++i) d[i] = g[i] * m[i];  // dx = dy * m / (1 - p)
      });
    } else {
      this->scale_per_example(dy, mask_, *dx);
    }
  }

  Index n_active() const override { return this->units(); }

  /// The scaled mask m / (1 - p) of the most recent training forward (units x B, entries 0 or 1 / (1 - p)).
  const MatrixType& mask() const { return mask_; }

 private:
  double p_ = 0.5;
  MatrixType mask_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(BinaryDropout)

}  // namespace bayesdrop
