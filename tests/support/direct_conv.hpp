// Reference convolution and max pooling for the tests, written as the definitions' nested loops in double and
// independently of the layers' im2col path: padding reads as 0 (convolution) or is skipped (pooling).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "bayesdrop/layers/im2col.hpp"
#include "bayesdrop/layers/max_pool2d.hpp"

namespace bayesdrop::test {

/// out = floor((in + before + after - kernel) / stride) + 1, written out independently of Conv2dGeometry.
inline Index expected_size(Index in, Index before, Index after, Index kernel, Index stride) {
  return Index(std::floor(double(in + before + after - kernel) / double(stride))) + 1;
}

/// x(c, r, s) of image n, 0 outside the image (the zero padding).
template <class Scalar>
double pixel(const Matrix<Scalar>& x, ImageShape in, Index n, Index c, Index r, Index s) {
  if (r < 0 || r >= in.height || s < 0 || s >= in.width) return 0.0;
  return double(x((c * in.height + r) * in.width + s, n));
}

/// y(o, i, j) = b(o) + sum_{c, di, dj} W(o, (c kh + di) kw + dj) x(c, i sh + di - pt, j sw + dj - pl), with weights w
/// (Cout x C*kh*kw) and bias b (Cout x 1).
template <class Scalar>
Matrix<Scalar> direct_conv(const Matrix<Scalar>& x, const Conv2dGeometry& g, const Matrix<Scalar>& w,
                           const Matrix<Scalar>& b) {
  const ImageShape in = g.input;
  const Index kh = g.kernel_h, kw = g.kernel_w, Cout = w.rows();
  const Index Ho = expected_size(in.height, g.pad_top, g.pad_bottom, kh, g.stride_h);
  const Index Wo = expected_size(in.width, g.pad_left, g.pad_right, kw, g.stride_w);
  Matrix<Scalar> y(Cout * Ho * Wo, x.cols());
  for (Index n = 0; n < x.cols(); ++n) {
    for (Index o = 0; o < Cout; ++o) {
      for (Index i = 0; i < Ho; ++i) {
        for (Index j = 0; j < Wo; ++j) {
          double s = double(b(o, 0));
          for (Index c = 0; c < in.channels; ++c) {
            for (Index di = 0; di < kh; ++di) {
              for (Index dj = 0; dj < kw; ++dj) {
                s += double(w(o, (c * kh + di) * kw + dj)) *
                     pixel(x, in, n, c, i * g.stride_h + di - g.pad_top, j * g.stride_w + dj - g.pad_left);
              }
            }
          }
          y((o * Ho + i) * Wo + j, n) = Scalar(s);
        }
      }
    }
  }
  return y;
}

/// The valid, stride-1 convolution of a kh x kw kernel.
template <class Scalar>
Matrix<Scalar> direct_conv(const Matrix<Scalar>& x, ImageShape in, const Matrix<Scalar>& w, const Matrix<Scalar>& b,
                           Index kh, Index kw) {
  return direct_conv(x, WindowOptions{}.geometry(in, kh, kw, "direct_conv"), w, b);
}

/// The same in double for Eigen expressions (casts, constants), which template deduction does not take.
inline Matrix<double> direct_conv(const Matrix<double>& x, ImageShape in, const Matrix<double>& w,
                                  const Matrix<double>& b, Index kh, Index kw) {
  return direct_conv<double>(x, in, w, b, kh, kw);
}

/// y(c, i, j) = max of x(c, i sh + di - pt, j sw + dj - pl) over the window's pixels inside the image.
template <class Scalar>
Matrix<Scalar> direct_pool(const Matrix<Scalar>& x, ImageShape in, const MaxPool2dOptions& o) {
  const Index sh = o.stride_h.value_or(o.kernel_h), sw = o.stride_w.value_or(o.kernel_w);
  const Index Ho = expected_size(in.height, o.pad_top, o.pad_bottom, o.kernel_h, sh);
  const Index Wo = expected_size(in.width, o.pad_left, o.pad_right, o.kernel_w, sw);
  Matrix<Scalar> y(in.channels * Ho * Wo, x.cols());
  for (Index n = 0; n < x.cols(); ++n) {
    for (Index c = 0; c < in.channels; ++c) {
      for (Index i = 0; i < Ho; ++i) {
        for (Index j = 0; j < Wo; ++j) {
          Scalar m = -std::numeric_limits<Scalar>::infinity();
          for (Index di = 0; di < o.kernel_h; ++di) {
            for (Index dj = 0; dj < o.kernel_w; ++dj) {
              const Index r = i * sh + di - o.pad_top, s = j * sw + dj - o.pad_left;
              if (r >= 0 && r < in.height && s >= 0 && s < in.width) {
                m = std::max(m, x((c * in.height + r) * in.width + s, n));
              }
            }
          }
          y((c * Ho + i) * Wo + j, n) = m;
        }
      }
    }
  }
  return y;
}

}  // namespace bayesdrop::test
