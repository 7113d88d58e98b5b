// The uncertainty example's digit rotation (examples/uncertainty/rotation.hpp): bilinear, about the centre, zero fill.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "rotation.hpp"

namespace bd = bayesdrop;

namespace {

// An asymmetric 28 x 28 pattern: every pixel a different value, so any wrong mapping shows.
bd::Matrix<float> pattern(bd::Index columns = 1) {
  bd::Matrix<float> m(784, columns);
  for (bd::Index j = 0; j < columns; ++j) {
    for (bd::Index i = 0; i < 784; ++i) m(i, j) = float((i * 37 + j * 11) % 101) / 100.0f;
  }
  return m;
}

float pixel(const bd::Matrix<float>& m, int row, int col) {
  return m(row * 28 + col, 0);
}

}  // namespace

TEST_CASE("rotating by 0 degrees is the identity", "[examples][rotation]") {
  const bd::Matrix<float> x = pattern(3);
  const bd::Matrix<float> y = uncertainty::rotate_images(x, 28, 28, 0.0);
  CHECK(y == x);  // cos 0 = 1 and sin 0 = 0 exactly: every pixel samples itself with weight 1
}

TEST_CASE("four quarter turns give the image back", "[examples][rotation]") {
  const bd::Matrix<float> x = pattern();
  bd::Matrix<float> y = x;
  for (int k = 0; k < 4; ++k) y = uncertainty::rotate_images(y, 28, 28, 90.0);
  // About the centre 13.5, a quarter turn maps the pixel grid onto itself: only cos(90°) ~ 6e-17 of rounding, which
  // at the border mixes in at most that much of the zero fill.
  CHECK((y - x).cwiseAbs().maxCoeff() < 1e-5f);
}

TEST_CASE("a quarter turn is counter-clockwise as displayed", "[examples][rotation]") {
  bd::Matrix<float> x = bd::Matrix<float>::Zero(784, 1);
  x(0 * 28 + 20, 0) = 1;  // top row, right of centre
  const bd::Matrix<float> y = uncertainty::rotate_images(x, 28, 28, 90.0);
  // Counter-clockwise, the top edge goes to the left edge and "right of centre" to "above centre": (row 7, col 0).
  CHECK(pixel(y, 7, 0) == Approx(1.0f).margin(1e-6));
  CHECK(y.sum() == Approx(1.0f).margin(1e-5));
}

TEST_CASE("a half turn flips an asymmetric pattern both ways", "[examples][rotation]") {
  const bd::Matrix<float> x = pattern();
  const bd::Matrix<float> y = uncertainty::rotate_images(x, 28, 28, 180.0);
  float worst = 0;
  for (int r = 0; r < 28; ++r) {
    for (int c = 0; c < 28; ++c) worst = std::max(worst, std::abs(pixel(y, r, c) - pixel(x, 27 - r, 27 - c)));
  }
  CHECK(worst < 1e-5f);
}

TEST_CASE("an oblique angle interpolates, keeps the centre and fills the corners with zeros", "[examples][rotation]") {
  const bd::Matrix<float> ones = bd::Matrix<float>::Ones(784, 1);
  const bd::Matrix<float> y = uncertainty::rotate_images(ones, 28, 28, 45.0);
  CHECK(pixel(y, 0, 0) == 0.0f);  // the corners come from outside the image
  CHECK(pixel(y, 27, 27) == 0.0f);
  CHECK(pixel(y, 13, 13) == Approx(1.0f));  // the middle stays inside
  CHECK(y.minCoeff() >= 0.0f);
  CHECK(y.maxCoeff() <= 1.0f + 1e-6f);  // bilinear weights sum to 1: no overshoot
}

TEST_CASE("rotate_images rejects columns that are not height x width images", "[examples][rotation]") {
  CHECK_THROWS_AS(uncertainty::rotate_images<float>(bd::Matrix<float>::Zero(100, 1), 28, 28, 15.0), bd::ShapeError);
}
