// im2col / col2im for valid, stride-1 2-D convolutions on bayesdrop's image layout, and the two reorderings
// between "one row per output position" and "one column per image".
//
// Layout. An image batch is (C*H*W) x B with pixel (c, h, w) of image b at row (c*H + h)*W + w of column b
// (core/types.hpp). With a kh x kw kernel the output has P = Ho*Wo positions, Ho = H - kh + 1, Wo = W - kw + 1,
// and a patch has K = C*kh*kw values. im2col writes the patches of the whole batch as a (B*P) x K matrix:
//
//   cols(b*P + i*Wo + j, (c*kh + di)*kw + dj) = x((c*H + i + di)*W + j + dj, b)
//
// so a convolution with weights W (C_out x K, row o = filter o, column order (c, di, dj)) is ONE matrix product
// for the batch, z = cols * W^T ((B*P) x C_out), and z(b*P + p, o) is output channel o at position p of image b.
// positions_to_images() reorders z into the image layout ((C_out*P) x B); images_to_positions() is its inverse.
// The column order of each K-block is column-major friendly: for a fixed patch entry the B*P values are
// contiguous, filled by copies of Wo contiguous input pixels.
//
// col2im is the adjoint of im2col: dx(row, b) = sum of dcols over every patch entry that read x(row, b).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <string>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

/// Shape of a valid, stride-1 convolution: the input image and the kernel.
struct Conv2dGeometry {
  ImageShape input;   ///< channels, height, width of one input image
  Index kernel_h = 1;  ///< kernel height, 1 <= kernel_h <= input.height
  Index kernel_w = 1;  ///< kernel width, 1 <= kernel_w <= input.width

  Index output_height() const { return input.height - kernel_h + 1; }
  Index output_width() const { return input.width - kernel_w + 1; }
  /// Output positions per channel, P = Ho * Wo.
  Index positions() const { return output_height() * output_width(); }
  /// Values in one patch, K = C * kh * kw (the columns of im2col, the fan-in of one filter).
  Index patch_size() const { return input.channels * kernel_h * kernel_w; }
  /// The output image shape for `channels` output channels.
  ImageShape output(Index channels) const { return ImageShape{channels, output_height(), output_width()}; }

  /// Throws InvalidArgument, naming `who`, unless the image is non-empty and the kernel fits inside it.
  void validate(const char* who) const {
    if (input.channels <= 0 || input.height <= 0 || input.width <= 0) {
      throw InvalidArgument(std::string(who) + ": input channels, height and width must be positive, got " +
                            std::to_string(input.channels) + "x" + std::to_string(input.height) + "x" +
                            std::to_string(input.width));
    }
    if (kernel_h <= 0 || kernel_w <= 0 || kernel_h > input.height || kernel_w > input.width) {
      throw InvalidArgument(std::string(who) + ": the kernel " + std::to_string(kernel_h) + "x" +
                            std::to_string(kernel_w) + " must be positive and fit inside the " +
                            std::to_string(input.height) + "x" + std::to_string(input.width) +
                            " image (valid padding, stride 1)");
    }
  }
};

/// cols = the patches of every image of x, (B*P) x K (see the layout above). x is (C*H*W) x B.
template <class Scalar>
void im2col(const Matrix<Scalar>& x, const Conv2dGeometry& g, Matrix<Scalar>& cols) {
  detail::require_rows(x, static_cast<long>(g.input.size()), "im2col", "images");
  const Index B = x.cols(), H = g.input.height, W = g.input.width, Ho = g.output_height(), Wo = g.output_width();
  const Index P = Ho * Wo;
  cols.resize(B * P, g.patch_size());
  using Row = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  for (Index c = 0; c < g.input.channels; ++c) {
    for (Index di = 0; di < g.kernel_h; ++di) {
      for (Index dj = 0; dj < g.kernel_w; ++dj) {
        Scalar* dst = cols.col((c * g.kernel_h + di) * g.kernel_w + dj).data();
        for (Index b = 0; b < B; ++b) {
          const Scalar* src = x.col(b).data() + (c * H + di) * W + dj;
          for (Index i = 0; i < Ho; ++i) {
            Eigen::Map<Row>(dst + b * P + i * Wo, Wo) = Eigen::Map<const Row>(src + i * W, Wo);
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
  const Index P = Ho * Wo;
  if (dcols.cols() != g.patch_size() || dcols.rows() % P != 0) {
    throw ShapeError("col2im: expected patches with " + std::to_string(g.patch_size()) + " columns and a multiple of " +
                     std::to_string(P) + " rows, got " + detail::shape_string(dcols.rows(), dcols.cols()));
  }
  const Index B = dcols.rows() / P;
  dx.setZero(g.input.size(), B);
  using Row = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  for (Index c = 0; c < g.input.channels; ++c) {
    for (Index di = 0; di < g.kernel_h; ++di) {
      for (Index dj = 0; dj < g.kernel_w; ++dj) {
        const Scalar* src = dcols.col((c * g.kernel_h + di) * g.kernel_w + dj).data();
        for (Index b = 0; b < B; ++b) {
          Scalar* dst = dx.col(b).data() + (c * H + di) * W + dj;
          for (Index i = 0; i < Ho; ++i) {
            Eigen::Map<Row>(dst + i * W, Wo) += Eigen::Map<const Row>(src + b * P + i * Wo, Wo);
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
