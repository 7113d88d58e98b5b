// Rotating digits, the classic probe of predictive uncertainty (Gal & Ghahramani 2016, figure of a rotated "1"):
// as a digit turns away from how it was seen in training, a model should lose accuracy AND say so.
//
// Bilinear interpolation about the image centre with zero fill, nothing more: MNIST digits sit on a black (0)
// background, so zero fill adds no edge, and bilinear keeps the ink's total roughly constant, which nearest-
// neighbour sampling (holes and doubled pixels at odd angles) would not.
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/types.hpp"

namespace uncertainty {

namespace bd = bayesdrop;

/// Rotates one height x width image stored row by row (pixel (row r, column c) at src[r * width + c]) by `degrees`,
/// counter-clockwise as displayed (rows running down), about the centre ((width - 1) / 2, (height - 1) / 2), and
/// writes it to dst (same layout, must not alias src). Each output pixel samples the input at the inversely rotated
/// position with bilinear interpolation; positions outside the image read 0.
///
/// Because the centre lies on the pixel grid's symmetry point, multiples of 90 degrees map pixels onto pixels: for
/// square images they are exact permutations up to rounding of cos/sin (~1e-16), which the tests rely on.
template <class Scalar>
void rotate_image(const Scalar* src, Scalar* dst, int height, int width, double degrees) {
  const double pi = std::acos(-1.0);
  const double a = degrees * pi / 180.0, c = std::cos(a), s = std::sin(a);
  const double cx = 0.5 * (width - 1), cy = 0.5 * (height - 1);
  auto at = [&](int r, int col) -> double {
    return (r < 0 || col < 0 || r >= height || col >= width) ? 0.0 : double(src[r * width + col]);
  };
  for (int r = 0; r < height; ++r) {
    for (int col = 0; col < width; ++col) {
      // Inverse mapping, so that every output pixel gets exactly one value: the source is the output's offset from
      // the centre turned by -degrees on screen, which in these y-down coordinates is the matrix [c -s; s c].
      const double dx = col - cx, dy = r - cy;
      const double sx = cx + c * dx - s * dy;
      const double sy = cy + s * dx + c * dy;
      const double fx = std::floor(sx), fy = std::floor(sy);
      const int x0 = int(fx), y0 = int(fy);
      const double tx = sx - fx, ty = sy - fy;
      const double v = (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x0 + 1)) +
                       ty * ((1 - tx) * at(y0 + 1, x0) + tx * at(y0 + 1, x0 + 1));
      dst[r * width + col] = Scalar(v);
    }
  }
}

/// Rotates every column of `images` (one height x width image per column, row by row, as load_mnist stores them)
/// by `degrees`; see rotate_image. Throws bayesdrop::ShapeError when the columns do not hold height * width pixels.
template <class Scalar>
bd::Matrix<Scalar> rotate_images(const bd::Matrix<Scalar>& images, int height, int width, double degrees) {
  if (height < 1 || width < 1 || images.rows() != bd::Index(height) * bd::Index(width)) {
    throw bd::ShapeError("rotate_images: columns of " + std::to_string(images.rows()) + " pixels cannot be " +
                         std::to_string(height) + " x " + std::to_string(width) + " images");
  }
  bd::Matrix<Scalar> out(images.rows(), images.cols());
  for (bd::Index j = 0; j < images.cols(); ++j)
    rotate_image(images.col(j).data(), out.col(j).data(), height, width, degrees);
  return out;
}

}  // namespace uncertainty
