// im2col / col2im for 2-D convolutions with zero padding and stride on bayesdrop's image layout, one image at a
// time, and the image groups the convolution layers split a batch into.
//
// Layout. An image batch is (C*H*W) x B with pixel (c, h, w) of image b at row (c*H + h)*W + w of column b
// (core/types.hpp). A kh x kw kernel with zero padding pt, pb (top, bottom), pl, pr (left, right) and stride sh, sw
// has Ho = floor((H + pt + pb - kh) / sh) + 1 output rows and Wo = floor((W + pl + pr - kw) / sw) + 1 output
// columns, P = Ho*Wo positions, and a patch has K = C*kh*kw values. The patches of image b form a P x K matrix:
//
//   cols_b(i*Wo + j, (c*kh + di)*kw + dj) = x((c*H + r)*W + s, b),  r = i*sh + di - pt,  s = j*sw + dj - pl
//
// and 0 where (r, s) lies in the padding (outside [0, H) x [0, W)). Valid padding and stride 1 (the default) give
// Ho = H - kh + 1, Wo = W - kw + 1 and r = i + di, s = j + dj. im2col() stacks them as the whole batch's (B*P) x K
// matrix (row b*P + p); the layers use im2col_image(), one contiguous P x K block per image.
//
// Why per image. With weights W (C_out x K, row o = filter o, column order (c, di, dj)), image b's output is
// z_b = cols_b W^T, P x C_out column-major: exactly column b of the output batch (row o*P + p). So the product
// writes the output in place, with no reorder pass between "one row per position" and "one column per image";
// backward reads dy's column b as dz_b in place too: dW += dz_b^T cols_b, d cols_b = dz_b W. One image's patches
// (125 KiB at LeNet-5's second convolution) stay in cache between im2col and the product, and between the product
// and col2im. Images are split over the threads in groups (for_image_groups), each with its own gradient sums.
//
// col2im is the adjoint of im2col: dx(row, b) = sum of dcols over every patch entry that read x(row, b); entries
// that read the padding have no pixel and are dropped.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <string>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/gemm.hpp"
#include "bayesdrop/core/parallel.hpp"
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
/// offset = (kernel column) - (left padding). Output columns outside the range read the padding. Stride 1 needs no
/// division (four integer divisions per patch column were a third of im2col's time at LeNet-5's shapes).
inline void inside_range(Index size, Index out, Index stride, Index offset, Index& first, Index& last) {
  if (stride == 1) {
    first = offset >= 0 ? 0 : -offset;
    last = offset > size - 1 ? 0 : std::min(out, size - offset);
  } else {
    first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;                       // j*stride + offset >= 0
    last = offset > size - 1 ? 0 : std::min(out, (size - 1 - offset) / stride + 1);  // j*stride + offset <= size - 1
  }
  first = std::min(first, last);
}

/// d[j] = s[j * stride] for j < n: one output row of a patch column (n = its window columns inside the image,
/// LeNet-5's 8 and 24), as a plain loop that vectorises for stride 1: Eigen's dynamic-size copy of a block whose
/// columns are shorter than its packet of 16 floats copied them one float at a time.
template <class Scalar>
inline void copy_row(const Scalar* __restrict s, Index stride, Index n, Scalar* __restrict d) {
  if (stride == 1) {
    BAYESDROP_VECTORIZE
    for (Index j = 0; j < n; ++j) d[j] = s[j];
  } else {
    for (Index j = 0; j < n; ++j) d[j] = s[j * stride];
  }
}
/// d[j * stride] += s[j] for j < n (col2im's row).
template <class Scalar>
inline void add_row(const Scalar* __restrict s, Index stride, Index n, Scalar* __restrict d) {
  if (stride == 1) {
    BAYESDROP_VECTORIZE
    for (Index j = 0; j < n; ++j) d[j] += s[j];
  } else {
    for (Index j = 0; j < n; ++j) d[j * stride] += s[j];
  }
}

/// Calls fn(k, i0, i1, j0, j1, first) for every patch entry k = (c*kh + di)*kw + dj, in that order, where
/// [i0, i1) x [j0, j1) are the window positions whose pixel lies inside the image (the others read the padding;
/// the range is empty when none does) and `first` is the offset in the image of the pixel that position (i0, j0)
/// reads: row r = i*sh + di - pt, column s = j*sw + dj - pl of channel c, rows sh*W apart, columns sw apart.
template <class Fn>
void for_patch_entries(const Conv2dGeometry& g, Fn&& fn) {
  const Index H = g.input.height, W = g.input.width, Ho = g.output_height(), Wo = g.output_width();
  for (Index c = 0; c < g.input.channels; ++c) {
    for (Index di = 0; di < g.kernel_h; ++di) {
      Index i0, i1;
      inside_range(H, Ho, g.stride_h, di - g.pad_top, i0, i1);
      for (Index dj = 0; dj < g.kernel_w; ++dj) {
        Index j0, j1;
        inside_range(W, Wo, g.stride_w, dj - g.pad_left, j0, j1);
        const bool any = i1 > i0 && j1 > j0;
        const Index first =
            any ? (c * H + i0 * g.stride_h + di - g.pad_top) * W + j0 * g.stride_w + dj - g.pad_left : 0;
        fn((c * g.kernel_h + di) * g.kernel_w + dj, i0, i1, j0, j1, first);
      }
    }
  }
}

/// The patches of one image: cols(p, k) = dst[k*ld + p] for p < P, k < K (the layout above, image b alone); `image`
/// points to its C*H*W pixels. ld >= P is the distance between columns: P for a contiguous P x K block, B*P for
/// image b's rows of the whole batch's (B*P) x K matrix. Column k viewed as Wo x Ho is a strided window of the
/// image, copied row by row.
template <class Scalar>
void im2col_image(const Scalar* image, const Conv2dGeometry& g, Scalar* dst, Index ld) {
  const Index Ho = g.output_height(), Wo = g.output_width(), row_step = g.stride_h * g.input.width;
  for_patch_entries(g, [&](Index k, Index i0, Index i1, Index j0, Index j1, Index first) {
    Scalar* col = dst + k * ld;
    if (i0 > 0 || i1 < Ho || j0 > 0 || j1 < Wo) std::fill(col, col + Ho * Wo, Scalar(0));  // the padding reads 0
    const Scalar* from = image + first;
    Scalar* to = col + i0 * Wo + j0;
    for (Index i = i0; i < i1; ++i, from += row_step, to += Wo) copy_row(from, g.stride_w, j1 - j0, to);
  });
}

/// The adjoint of im2col_image: image (C*H*W values) = the sum, per pixel, of the dcols entries that read it, with
/// dcols(p, k) = src[k*ld + p], added in the order of k. The image is overwritten.
template <class Scalar>
void col2im_image(const Scalar* src, Index ld, const Conv2dGeometry& g, Scalar* image) {
  const Index Wo = g.output_width(), row_step = g.stride_h * g.input.width;
  std::fill(image, image + g.input.size(), Scalar(0));
  // entries outside [i0, i1) x [j0, j1) read the padding: no pixel receives them
  for_patch_entries(g, [&](Index k, Index i0, Index i1, Index j0, Index j1, Index first) {
    Scalar* to = image + first;
    const Scalar* from = src + k * ld + i0 * Wo + j0;
    for (Index i = i0; i < i1; ++i, to += row_step, from += Wo) add_row(from, g.stride_w, j1 - j0, to);
  });
}

}  // namespace detail

/// cols = the patches of every image of x, (B*P) x K (see the layout above). x is (C*H*W) x B.
template <class Scalar>
void im2col(const Matrix<Scalar>& x, const Conv2dGeometry& g, Matrix<Scalar>& cols) {
  detail::require_rows(x, static_cast<long>(g.input.size()), "im2col", "images");
  const Index B = x.cols(), P = g.positions();
  cols.resize(B * P, g.patch_size());
  for (Index b = 0; b < B; ++b) detail::im2col_image(x.col(b).data(), g, cols.data() + b * P, B * P);
}

/// dx = col2im(dcols): overwritten with the sum, per input pixel, of the dcols entries its patches read.
/// dcols is (B*P) x K; dx becomes (C*H*W) x B.
template <class Scalar>
void col2im(const Matrix<Scalar>& dcols, const Conv2dGeometry& g, Matrix<Scalar>& dx) {
  const Index P = g.positions();
  if (dcols.cols() != g.patch_size() || dcols.rows() % P != 0) {
    throw ShapeError("col2im: expected patches with " + std::to_string(g.patch_size()) + " columns and a multiple of " +
                     std::to_string(P) + " rows, got " + detail::shape_string(dcols.rows(), dcols.cols()));
  }
  const Index B = dcols.rows() / P;
  dx.resize(g.input.size(), B);
  for (Index b = 0; b < B; ++b) detail::col2im_image(dcols.data() + b * P, B * P, g, dx.col(b).data());
}

namespace detail {

/// Image groups of a batch in the convolutions' passes (for_image_groups). Fixed, so that the order in which the
/// groups' weight gradients are summed, and so the result, does not depend on the thread count; several per thread,
/// so that a thread slowed by other work on its core hands its share to the others.
inline constexpr Index kImageGroups = 16;

/// Calls fn(group, first, last) for the images [first, last) of each of min(B, kImageGroups) contiguous groups of a
/// batch of B, the groups handed out one at a time to Eigen::nbThreads() OpenMP threads. fn must write only to its
/// group's slots and images. Inside a group, the products run on the calling thread (Eigen does not nest its
/// threads, and core/gemm.hpp's oneDNN products run single-threaded inside a parallel region) and are one image's:
/// small, with operands that stay in cache (the patches of one image of LeNet-5's second convolution are 64 x 500
/// floats, 125 KiB).
template <class Fn>
void for_image_groups(Index batch, Fn&& fn) {
  const Index groups = std::min(batch, kImageGroups);
#ifdef _OPENMP
  const int threads = int(std::min<Index>(groups, Eigen::nbThreads()));
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1)
#endif
  for (Index k = 0; k < groups; ++k) fn(k, k * batch / groups, (k + 1) * batch / groups);
}

/// Per-group buffers of the convolutions: gradient sums over the group's images, one image's scratch, and the
/// per-image products on the library's back end (core/gemm.hpp), one set per group because the groups run on
/// several threads at once (each oneDNN product object keeps its primitive and the last call's operands).
template <class Scalar>
struct ImageGroupScratch {
  Product<Scalar, Op::none, Op::transpose, false> forward;     ///< z_b = cols_b W^T
  Product<Scalar, Op::transpose, Op::none, true> weight_grad;  ///< dW += dz_b^T cols_b
  Product<Scalar, Op::none, Op::none, false> input_grad;       ///< d cols_b = dz_b W
  Product<Scalar, Op::none, Op::none, true> input_grad_add;    ///< d cols_b += dz_b W (sparse VD's second path)
  Matrix<Scalar> dw, dw2;  ///< weight gradient sums, C_out x K (dw2: the variance path's, SparseVDConv2d)
  Vector<Scalar> db;       ///< bias gradient sum, C_out
  Matrix<Scalar> cols;     ///< one image's patches (evaluation) or their squares, P x K
  Matrix<Scalar> dcols;    ///< d loss / d patches of one image, P x K
  Matrix<Scalar> dz2;      ///< d loss / d variance of one image's outputs, P x C_out (SparseVDConv2d)
};

}  // namespace detail
}  // namespace bayesdrop
