// The MNIST trainer's picture of what a pruned model reads: the input pixels it keeps, over the mean digit, as PNG.
//
// An image, not a chart: written pixel by pixel with stb_image_write from libstb-dev. The charts (training curves,
// units kept per layer, reliability, rotated digits) are drawn by scripts/plot.py from the JSON reports.
// Debian compiles stb's implementations into libstb.so (pkg-config stb: -lstb; CMake target stb::stb of examples/
// and tests/), so no translation unit here defines STB_IMAGE_WRITE_IMPLEMENTATION. With a vendored single-header
// stb instead, define it in exactly one .cpp.
#pragma once

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "../common/outputs.hpp"
#include "bayesdrop/bayesdrop.hpp"

namespace trainer {

/// An 8-bit RGB colour.
struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};
inline bool operator==(Rgb a, Rgb b) {
  return a.r == b.r && a.g == b.g && a.b == b.b;
}

/// The colours of the pictures, public so that tests and captions can refer to them.
namespace palette {
inline constexpr Rgb tint{255, 176, 46};  ///< kept pixels over a background digit (amber)
}  // namespace palette

namespace picture_parts {

/// An RGB image in memory, row-major from the top, as stb_image_write wants it.
struct Canvas {
  int width, height;
  std::vector<std::uint8_t> rgb;

  Canvas(int w, int h, Rgb fill) : width(w), height(h), rgb(std::size_t(w) * std::size_t(h) * 3) {
    fill_rect(0, 0, w, h, fill);
  }
  void set(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    std::uint8_t* p = &rgb[(std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3];
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }
  void fill_rect(int x0, int y0, int w, int h, Rgb c) {
    for (int y = y0; y < y0 + h; ++y) {
      for (int x = x0; x < x0 + w; ++x) set(x, y, c);
    }
  }
  // Encoded in memory, then written with every step checked (stb's own file writer ignores write errors).
  void save(const std::string& path) const {
    std::string png;
    auto append = [](void* out, void* data, int size) {
      static_cast<std::string*>(out)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
    };
    if (!stbi_write_png_to_func(append, &png, width, height, 3, rgb.data(), width * 3)) {
      throw bayesdrop::InvalidArgument("cannot encode the picture '" + path + "'");
    }
    try {
      outputs::write_file(path, png, "--pictures");
    } catch (const bayesdrop::DataError& e) {
      throw bayesdrop::InvalidArgument(std::string(e.what()) + "; check that its directory exists and is writable");
    }
  }
};

inline std::uint8_t to_byte(double v) {
  return std::uint8_t(std::lround(std::clamp(v, 0.0, 255.0)));
}
inline Rgb mix(Rgb a, Rgb b, double t) {  // (1 - t) a + t b
  return {to_byte(a.r + t * (b.r - a.r)), to_byte(a.g + t * (b.g - a.g)), to_byte(a.b + t * (b.b - a.b))};
}
/// [0, 1], with NaN as 0: keep fractions and pixel intensities from a model may be anything.
inline double unit(float v) {
  return v > 0 ? std::min(double(v), 1.0) : 0.0;
}

inline void check_pixels(const std::vector<float>& v, const char* what) {
  if (v.size() != 784) {
    throw bayesdrop::InvalidArgument(std::string("write_pixel_mask_png: ") + what +
                                     " must hold 784 values (28 x 28 pixels, row by row), got " +
                                     std::to_string(v.size()));
  }
}

/// Paints each of the 28 x 28 pixels as a scale x scale square of colour(i) and saves the PNG.
template <class ColourOf>
void write_28x28(const std::string& path, int scale, ColourOf colour) {
  if (scale < 1 || scale > 64) {
    throw bayesdrop::InvalidArgument("write_pixel_mask_png: scale must be in 1..64, got " + std::to_string(scale));
  }
  Canvas img(28 * scale, 28 * scale, Rgb{});
  for (int i = 0; i < 784; ++i) img.fill_rect((i % 28) * scale, (i / 28) * scale, scale, scale, colour(i));
  img.save(path);
}

}  // namespace picture_parts

/// Writes the input-pixel mask of a pruned model as a 28x28 PNG, each pixel a scale x scale square (nearest).
/// keep: 784 values, row by row, in [0, 1] (1 = kept, white; 0 = pruned, black; fractions are grey levels).
/// Throws bayesdrop::InvalidArgument for a wrong size or scale (1..64) or a path that cannot be written.
inline void write_pixel_mask_png(const std::string& path, const std::vector<float>& keep, int scale = 8) {
  picture_parts::check_pixels(keep, "keep");
  picture_parts::write_28x28(path, scale, [&](int i) {
    return picture_parts::mix(Rgb{0, 0, 0}, Rgb{255, 255, 255}, picture_parts::unit(keep[i]));
  });
}

/// As above, over a background image (e.g. the mean training digit; 784 values, scaled so its brightest pixel is
/// 1): pruned pixels show the background as dim grey, kept pixels are amber (palette::tint), brighter where the
/// background is bright, so the mask reads against the shape of the digits.
inline void write_pixel_mask_png(const std::string& path, const std::vector<float>& keep,
                                 const std::vector<float>& background, int scale = 8) {
  using namespace picture_parts;
  check_pixels(keep, "keep");
  check_pixels(background, "background");
  double top = 0;
  for (float v : background) top = std::max(top, unit(v));
  const double norm = top > 0 ? 1.0 / top : 0.0;
  write_28x28(path, scale, [&](int i) {
    const double bg = unit(background[i]) * norm;
    const Rgb pruned = mix(Rgb{0, 0, 0}, Rgb{120, 120, 120}, bg);
    const Rgb kept = mix(Rgb{0, 0, 0}, palette::tint, 0.45 + 0.55 * bg);
    return mix(pruned, kept, unit(keep[i]));
  });
}

namespace bd = bayesdrop;

/// Per input pixel, 1 if the model still reads it: every gate in front of the first weight layer keeps it, and for
/// a sparse VD first layer some weight on it is left. Empty when the first weight layer is a convolution (every
/// pixel feeds a filter).
template <class Scalar>
std::vector<float> input_keep_mask(const bd::Sequential<Scalar>& model) {
  const bd::Index pixels = model.input_rows();
  std::vector<float> keep(std::size_t(pixels), 1.0f);
  for (bd::Index i = 0; i < model.size(); ++i) {
    const auto& layer = model.layer(i);
    if (const auto* gate = dynamic_cast<const bd::Gate<Scalar>*>(&layer)) {
      if (gate->units() != pixels) return {};
      const auto scale = gate->eval_scale();
      for (bd::Index k = 0; k < pixels; ++k) keep[std::size_t(k)] *= scale[k] != Scalar(0) ? 1.0f : 0.0f;
      continue;
    }
    if (const auto* svd = dynamic_cast<const bd::SparseVDLinear<Scalar>*>(&layer)) {
      const auto w = svd->eval_weight();
      for (bd::Index k = 0; k < pixels; ++k)
        keep[std::size_t(k)] *= (w.col(k).array() != Scalar(0)).any() ? 1.0f : 0.0f;
      return keep;
    }
    if (layer.sparsity().weights > 0) {
      if (layer.sparsity().units_in != pixels) return {};  // a convolution reads channels, not pixels
      return keep;
    }
  }
  return keep;
}

/// Writes input_pixels.png into `dir` (created if needed) when the model reads the 28 x 28 pixels directly, and
/// returns the paths written (none for a model whose first weight layer is a convolution).
template <class Scalar>
std::vector<std::string> write_pictures(const bd::Sequential<Scalar>& model, const bd::Dataset<Scalar>& train,
                                        const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw bd::InvalidArgument("--pictures: cannot create the folder '" + dir + "': " + ec.message());
  const std::vector<float> keep = input_keep_mask(model);
  if (keep.size() != 784 || train.images.rows() != 784) return {};
  const bd::Vector<Scalar> mean = train.images.rowwise().mean();
  std::vector<float> background(keep.size());
  for (std::size_t k = 0; k < keep.size(); ++k) background[k] = float(mean[bd::Index(k)]);
  const std::string path = dir + "/input_pixels.png";
  write_pixel_mask_png(path, keep, background);
  return {path};
}

}  // namespace trainer
