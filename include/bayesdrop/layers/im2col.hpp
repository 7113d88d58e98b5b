// im2col / col2im for 2-D convolutions with zero padding and stride on bayesdrop's image layout, and the two
// reorderings between "one row per output position" and "one column per image".
//
// Layout. An image batch is (C*H*W) x B with pixel (c, h, w) of image b at row (c*H + h)*W + w of column b
// (core/types.hpp). A kh x kw kernel with zero padding pt, pb (top, bottom), pl, pr (left, right) and stride sh, sw
// has Ho = floor((H + pt + pb - kh) / sh) + 1 output rows and Wo = floor((W + pl + pr - kw) / sw) + 1 output
// columns, P = Ho*Wo positions, and a patch has K = C*kh*kw values. im2col writes the patches of the whole batch as
// a (B*P) x K matrix:
//
//   cols(b*P + i*Wo + j, (c*kh + di)*kw + dj) = x((c*H + r)*W + s, b),  r = i*sh + di - pt,  s = j*sw + dj - pl
//
// and 0 where (r, s) lies in the padding (outside [0, H) x [0, W)). Valid padding and stride 1 (the default) give
// Ho = H - kh + 1, Wo = W - kw + 1 and r = i + di, s = j + dj.
//
// A convolution with weights W (C_out x K, row o = filter o, column order (c, di, dj)) is ONE matrix product
// for the batch, z = cols * W^T ((B*P) x C_out), and z(b*P + p, o) is output channel o at position p of image b.
// positions_to_images() reorders z into the image layout ((C_out*P) x B); images_to_positions() is its inverse.
// The column order of each K-block is column-major friendly: for a fixed patch entry the B*P values are
// contiguous, filled by copies of up to Wo input pixels (contiguous at stride 1).
//
// col2im is the adjoint of im2col: dx(row, b) = sum of dcols over every patch entry that read x(row, b); entries
// that read the padding have no pixel and are dropped.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <string>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

struct Conv2dGeometry;

/// Zero padding and stride of a sliding window (a convolution's kernel). Default: no padding, stride 1 (a valid
/// convolution). The setters only record; the layer that uses the options checks them against its kernel and
/// input (Conv2dGeometry::validate) and names itself in the error.
struct WindowOptions {
  Index pad_top = 0, pad_bottom = 0;  ///< zero rows added above and below the image, >= 0. Default: 0
  Index pad_left = 0, pad_right = 0;  ///< zero columns added left and right of the image, >= 0. Default: 0
  /// "same" padding: (k - 1) / 2 on every side for an odd k x k kernel, so that stride 1 keeps the image size and
  /// stride s gives ceil(H / s) rows (PyTorch's padding=(k-1)/2). Replaces the explicit padding. Default: false
  bool same = false;
  Index stride_h = 1, stride_w = 1;  ///< step between windows, >= 1. Default: 1

  /// p zero rows and columns on every side.
  WindowOptions& with_padding(Index p) { return with_padding(p, p, p, p); }
  /// ph zero rows above and below, pw zero columns left and right.
  WindowOptions& with_padding(Index ph, Index pw) { return with_padding(ph, ph, pw, pw); }
  /// Explicit padding per side.
  WindowOptions& with_padding(Index top, Index bottom, Index left, Index right) {
    pad_top = top, pad_bottom = bottom, pad_left = left, pad_right = right, same = false;
    return *this;
  }
  WindowOptions& with_same_padding() {
    pad_top = pad_bottom = pad_left = pad_right = 0, same = true;
    return *this;
  }
  WindowOptions& with_stride(Index s) { return with_stride(s, s); }
  WindowOptions& with_stride(Index sh, Index sw) {
    stride_h = sh, stride_w = sw;
    return *this;
  }

  /// The geometry of a kernel_h x kernel_w kernel over `input` with this padding and stride, validated; throws
  /// InvalidArgument naming `who` for bad geometry (see Conv2dGeometry::validate) and for "same" padding with an
  /// even kernel.
  inline Conv2dGeometry geometry(ImageShape input, Index kernel_h, Index kernel_w, const char* who) const;
};

/// Shape of a 2-D convolution: the input image, the kernel, the zero padding and the stride.
struct Conv2dGeometry {
  ImageShape input;    ///< channels, height, width of one input image
  Index kernel_h = 1;  ///< kernel height, 1 <= kernel_h <= pad_top + input.height + pad_bottom
  Index kernel_w = 1;  ///< kernel width, 1 <= kernel_w <= pad_left + input.width + pad_right
  Index pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;  ///< zero padding per side, >= 0
  Index stride_h = 1, stride_w = 1;                                ///< >= 1

  /// Ho = floor((H + pt + pb - kh) / sh) + 1.
  Index output_height() const { return (input.height + pad_top + pad_bottom - kernel_h) / stride_h + 1; }
  /// Wo = floor((W + pl + pr - kw) / sw) + 1.
  Index output_width() const { return (input.width + pad_left + pad_right - kernel_w) / stride_w + 1; }
  /// Output positions per channel, P = Ho * Wo.
  Index positions() const { return output_height() * output_width(); }
  /// Values in one patch, K = C * kh * kw (the columns of im2col, the fan-in of one filter).
  Index patch_size() const { return input.channels * kernel_h * kernel_w; }
  /// The output image shape for `channels` output channels.
  ImageShape output(Index channels) const { return ImageShape{channels, output_height(), output_width()}; }
  /// True when any side is padded.
  bool padded() const { return pad_top > 0 || pad_bottom > 0 || pad_left > 0 || pad_right > 0; }
  /// The padding and stride as options (explicit padding), e.g. to rebuild the layer on fewer channels.
  WindowOptions window() const {
    return WindowOptions{}.with_padding(pad_top, pad_bottom, pad_left, pad_right).with_stride(stride_h, stride_w);
  }

  /// Throws InvalidArgument, naming `who` and the numbers, unless the image is non-empty, the padding is
  /// non-negative, the stride positive and the kernel positive and no larger than the padded image.
  void validate(const char* who) const {
    const std::string w(who);
    if (input.channels <= 0 || input.height <= 0 || input.width <= 0) {
      throw InvalidArgument(w + ": input channels, height and width must be positive, got " +
                            std::to_string(input.channels) + "x" + std::to_string(input.height) + "x" +
                            std::to_string(input.width));
    }
    if (pad_top < 0 || pad_bottom < 0 || pad_left < 0 || pad_right < 0) {
      throw InvalidArgument(w + ": padding must be >= 0 on every side, got top " + std::to_string(pad_top) +
                            ", bottom " + std::to_string(pad_bottom) + ", left " + std::to_string(pad_left) +
                            ", right " + std::to_string(pad_right));
    }
    if (stride_h <= 0 || stride_w <= 0) {
      throw InvalidArgument(w + ": the stride must be >= 1, got " + std::to_string(stride_h) + "x" +
                            std::to_string(stride_w));
    }
    const Index ph = input.height + pad_top + pad_bottom, pw = input.width + pad_left + pad_right;
    if (kernel_h <= 0 || kernel_w <= 0 || kernel_h > ph || kernel_w > pw) {
      throw InvalidArgument(w + ": the kernel " + std::to_string(kernel_h) + "x" + std::to_string(kernel_w) +
                            " must be positive and fit inside the " + std::to_string(input.height) + "x" +
                            std::to_string(input.width) + " image padded to " + std::to_string(ph) + "x" +
                            std::to_string(pw) +
                            " (no output position otherwise); pad the image or use a "
                            "smaller kernel");
    }
  }
};

inline Conv2dGeometry WindowOptions::geometry(ImageShape input, Index kernel_h, Index kernel_w, const char* who) const {
  Conv2dGeometry g{input, kernel_h, kernel_w, pad_top, pad_bottom, pad_left, pad_right, stride_h, stride_w};
  if (same) {
    if (kernel_h % 2 == 0 || kernel_w % 2 == 0) {
      throw InvalidArgument(std::string(who) + ": \"same\" padding needs an odd kernel, got " +
                            std::to_string(kernel_h) + "x" + std::to_string(kernel_w) +
                            "; pad explicitly per side with with_padding(top, bottom, left, right)");
    }
    g.pad_top = g.pad_bottom = (kernel_h - 1) / 2;
    g.pad_left = g.pad_right = (kernel_w - 1) / 2;
  }
  g.validate(who);
  return g;
}

namespace detail {

/// The output columns [first, last) of a window row whose input column j*stride + offset lies inside [0, size):
/// offset = (kernel column) - (left padding). Output columns outside the range read the padding.
inline void inside_range(Index size, Index out, Index stride, Index offset, Index& first, Index& last) {
  first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;                       // j*stride + offset >= 0
  last = offset > size - 1 ? 0 : std::min(out, (size - 1 - offset) / stride + 1);  // j*stride + offset <= size - 1
  first = std::min(first, last);
}

}  // namespace detail

/// cols = the patches of every image of x, (B*P) x K (see the layout above). x is (C*H*W) x B.
template <class Scalar>
void im2col(const Matrix<Scalar>& x, const Conv2dGeometry& g, Matrix<Scalar>& cols) {
  detail::require_rows(x, static_cast<long>(g.input.size()), "im2col", "images");
  const Index B = x.cols(), H = g.input.height, W = g.input.width, Ho = g.output_height(), Wo = g.output_width();
  const Index P = Ho * Wo, sh = g.stride_h, sw = g.stride_w;
  cols.resize(B * P, g.patch_size());
  using Row = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using Strided = Eigen::Map<const Row, 0, Eigen::InnerStride<>>;
  for (Index c = 0; c < g.input.channels; ++c) {
    for (Index di = 0; di < g.kernel_h; ++di) {
      for (Index dj = 0; dj < g.kernel_w; ++dj) {
        Scalar* dst = cols.col((c * g.kernel_h + di) * g.kernel_w + dj).data();
        Index j0, j1;  // output columns [j0, j1) read pixels, the others the left and right padding
        detail::inside_range(W, Wo, sw, dj - g.pad_left, j0, j1);
        for (Index b = 0; b < B; ++b) {
          const Scalar* image = x.col(b).data() + c * H * W;
          for (Index i = 0; i < Ho; ++i) {
            Scalar* out = dst + b * P + i * Wo;
            const Index r = i * sh + di - g.pad_top;  // input row of this window row
            if (r < 0 || r >= H) {
              Eigen::Map<Row>(out, Wo).setZero();
              continue;
            }
            std::fill(out, out + j0, Scalar(0));
            std::fill(out + j1, out + Wo, Scalar(0));
            if (j1 == j0) continue;
            const Scalar* src = image + r * W + j0 * sw + dj - g.pad_left;
            if (sw == 1) {
              Eigen::Map<Row>(out + j0, j1 - j0) = Eigen::Map<const Row>(src, j1 - j0);
            } else {
              Eigen::Map<Row>(out + j0, j1 - j0) = Strided(src, j1 - j0, Eigen::InnerStride<>(sw));
            }
          }
        }
      }
    }
  }
}

/// dx = col2im(dcols): overwritten with the sum, per input pixel, of the dcols entries its patches read.
/// dcols is (B*P) x K; dx becomes (C*H*W) x B.
template <class Scalar>
void col2im(const Matrix<Scalar>& dcols, const Conv2dGeometry& g, Matrix<Scalar>& dx) {
  const Index H = g.input.height, W = g.input.width, Ho = g.output_height(), Wo = g.output_width();
  const Index P = Ho * Wo, sh = g.stride_h, sw = g.stride_w;
  if (dcols.cols() != g.patch_size() || dcols.rows() % P != 0) {
    throw ShapeError("col2im: expected patches with " + std::to_string(g.patch_size()) + " columns and a multiple of " +
                     std::to_string(P) + " rows, got " + detail::shape_string(dcols.rows(), dcols.cols()));
  }
  const Index B = dcols.rows() / P;
  dx.setZero(g.input.size(), B);
  using Row = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using Strided = Eigen::Map<Row, 0, Eigen::InnerStride<>>;
  for (Index c = 0; c < g.input.channels; ++c) {
    for (Index di = 0; di < g.kernel_h; ++di) {
      for (Index dj = 0; dj < g.kernel_w; ++dj) {
        const Scalar* src = dcols.col((c * g.kernel_h + di) * g.kernel_w + dj).data();
        Index j0, j1;  // entries outside [j0, j1) read the padding: no pixel receives them
        detail::inside_range(W, Wo, sw, dj - g.pad_left, j0, j1);
        if (j1 == j0) continue;
        for (Index b = 0; b < B; ++b) {
          Scalar* image = dx.col(b).data() + c * H * W;
          for (Index i = 0; i < Ho; ++i) {
            const Index r = i * sh + di - g.pad_top;
            if (r < 0 || r >= H) continue;
            Scalar* dst = image + r * W + j0 * sw + dj - g.pad_left;
            const Eigen::Map<const Row> from(src + b * P + i * Wo + j0, j1 - j0);
            if (sw == 1) {
              Eigen::Map<Row>(dst, j1 - j0) += from;
            } else {
              Strided(dst, j1 - j0, Eigen::InnerStride<>(sw)) += from;
            }
          }
        }
      }
    }
  }
}

/// y(c*P + p, b) = z(b*P + p, c) (+ bias(c) when bias is given): from one row per output position to one column
/// per image. z is (B*P) x C; y becomes (C*P) x B. `bias`, if not null, points to C values.
template <class Scalar>
void positions_to_images(const Matrix<Scalar>& z, Index positions, Matrix<Scalar>& y, const Scalar* bias = nullptr) {
  if (positions <= 0 || z.rows() % positions != 0) {
    throw ShapeError("positions_to_images: " + std::to_string(z.rows()) + " rows are not a whole number of images of " +
                     std::to_string(positions) + " positions");
  }
  const Index P = positions, B = z.rows() / P, C = z.cols();
  y.resize(C * P, B);
  for (Index b = 0; b < B; ++b) {
    for (Index c = 0; c < C; ++c) {
      if (bias) {
        y.col(b).segment(c * P, P).array() = z.col(c).segment(b * P, P).array() + bias[c];
      } else {
        y.col(b).segment(c * P, P) = z.col(c).segment(b * P, P);
      }
    }
  }
}

/// z(b*P + p, c) = y(c*P + p, b): the inverse of positions_to_images. y is (C*P) x B; z becomes (B*P) x C.
template <class Scalar>
void images_to_positions(const Matrix<Scalar>& y, Index channels, Index positions, Matrix<Scalar>& z) {
  detail::require_rows(y, static_cast<long>(channels * positions), "images_to_positions", "images");
  const Index P = positions, B = y.cols(), C = channels;
  z.resize(B * P, C);
  for (Index c = 0; c < C; ++c) {
    for (Index b = 0; b < B; ++b) z.col(c).segment(b * P, P) = y.col(b).segment(c * P, P);
  }
}

namespace detail {

/// Rows per block in multiply_row_blocks().
inline constexpr Index kProductRowBlock = 512;

/// dst = lhs * rhs, or dst += lhs * rhs when `accumulate`, computed in blocks of kProductRowBlock rows.
/// For a tall lhs with a small inner dimension (the (B*P) x C_out gradients of a convolution times its weights) Eigen
/// packs the left operand in one block of all its rows: 1.3 MB at LeNet-5's second convolution, above the 1 MiB
/// EIGEN_STACK_ALLOCATION_LIMIT, so every call would allocate on the heap. Row blocks keep it on the stack.
template <class Scalar, class Rhs>
void multiply_row_blocks(const Matrix<Scalar>& lhs, const Eigen::MatrixBase<Rhs>& rhs, Matrix<Scalar>& dst,
                         bool accumulate) {
  if (!accumulate) dst.resize(lhs.rows(), rhs.cols());
  for (Index r = 0; r < lhs.rows(); r += kProductRowBlock) {
    const Index len = std::min(kProductRowBlock, lhs.rows() - r);
    if (accumulate) {
      dst.middleRows(r, len).noalias() += lhs.middleRows(r, len) * rhs;
    } else {
      dst.middleRows(r, len).noalias() = lhs.middleRows(r, len) * rhs;
    }
  }
}

}  // namespace detail
}  // namespace bayesdrop
