// PNG pictures for the MNIST trainer: which input pixels a pruned model keeps, and kept versus total per layer.
//
// Written with stb_image_write from libstb-dev. Debian compiles stb's implementations into libstb.so (pkg-config
// stb: -lstb; CMake target stb::stb of examples/ and tests/), so no translation unit here defines
// STB_IMAGE_WRITE_IMPLEMENTATION. With a vendored single-header stb instead, define it in exactly one .cpp.
// stb has no font: numbers and labels are drawn with the tiny 3x5 bitmap font below (digits, A-Z, a few signs).
#pragma once

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "../common/outputs.hpp"
#include "bayesdrop/core/error.hpp"

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
inline constexpr Rgb kept{31, 119, 180};    ///< kept bars (matplotlib's default blue)
inline constexpr Rgb total{210, 210, 210};  ///< total bars
inline constexpr Rgb paper{255, 255, 255};  ///< chart background
inline constexpr Rgb ink{50, 50, 50};       ///< text and axis
inline constexpr Rgb tint{255, 176, 46};    ///< kept pixels over a background digit (amber)
}  // namespace palette

namespace pictures_detail {

/// Rows of a 3x5 glyph, 3 bits each, most significant bit on the left; nullptr for characters it does not have.
inline const std::uint8_t* glyph(char c) {
  struct G {
    char c;
    std::uint8_t rows[5];
  };
  static const G font[] = {
      {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}}, {'3', {7, 1, 7, 1, 7}},
      {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}}, {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}},
      {'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 7}}, {'A', {2, 5, 7, 5, 5}}, {'B', {6, 5, 6, 5, 6}},
      {'C', {3, 4, 4, 4, 3}}, {'D', {6, 5, 5, 5, 6}}, {'E', {7, 4, 6, 4, 7}}, {'F', {7, 4, 6, 4, 4}},
      {'G', {3, 4, 5, 5, 3}}, {'H', {5, 5, 7, 5, 5}}, {'I', {7, 2, 2, 2, 7}}, {'J', {1, 1, 1, 5, 2}},
      {'K', {5, 5, 6, 5, 5}}, {'L', {4, 4, 4, 4, 7}}, {'M', {5, 7, 7, 5, 5}}, {'N', {6, 5, 5, 5, 5}},
      {'O', {2, 5, 5, 5, 2}}, {'P', {6, 5, 6, 4, 4}}, {'Q', {2, 5, 5, 6, 3}}, {'R', {6, 5, 6, 5, 5}},
      {'S', {3, 4, 2, 1, 6}}, {'T', {7, 2, 2, 2, 2}}, {'U', {5, 5, 5, 5, 7}}, {'V', {5, 5, 5, 5, 2}},
      {'W', {5, 5, 7, 7, 5}}, {'X', {5, 5, 2, 5, 5}}, {'Y', {5, 5, 2, 2, 2}}, {'Z', {7, 1, 2, 4, 7}},
      {'.', {0, 0, 0, 0, 2}}, {'-', {0, 0, 7, 0, 0}}, {'+', {0, 2, 7, 2, 0}}, {'%', {5, 1, 2, 4, 5}},
      {'/', {1, 1, 2, 4, 4}}, {':', {0, 2, 0, 2, 0}}, {'_', {0, 0, 0, 0, 7}}, {'(', {1, 2, 2, 2, 1}},
      {')', {4, 2, 2, 2, 4}}, {'=', {0, 7, 0, 7, 0}},
  };
  if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
  for (const G& g : font) {
    if (g.c == c) return g.rows;
  }
  return nullptr;  // spaces and unknown characters stay blank
}

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
  /// Width in pixels of `s` in the 3x5 font at `scale` (4 * scale per character, no trailing gap).
  static int text_width(const std::string& s, int scale) { return s.empty() ? 0 : int(s.size()) * 4 * scale - scale; }
  void text(int x, int y, const std::string& s, int scale, Rgb c) {
    for (char ch : s) {
      if (const std::uint8_t* rows = glyph(ch)) {
        for (int r = 0; r < 5; ++r) {
          for (int col = 0; col < 3; ++col) {
            if (rows[r] & (4 >> col)) fill_rect(x + col * scale, y + r * scale, scale, scale, c);
          }
        }
      }
      x += 4 * scale;
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

inline std::string format_value(double v) {
  char buf[32];
  if ((v == std::floor(v) || v >= 100) && v < 1e15) {  // counts, or expected counts large enough to round
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

}  // namespace pictures_detail

/// Writes the input-pixel mask of a pruned model as a 28x28 PNG, each pixel a scale x scale square (nearest).
/// keep: 784 values, row by row, in [0, 1] (1 = kept, white; 0 = pruned, black; fractions are grey levels).
/// Throws bayesdrop::InvalidArgument for a wrong size or scale (1..64) or a path that cannot be written.
inline void write_pixel_mask_png(const std::string& path, const std::vector<float>& keep, int scale = 8) {
  pictures_detail::check_pixels(keep, "keep");
  pictures_detail::write_28x28(path, scale, [&](int i) {
    return pictures_detail::mix(Rgb{0, 0, 0}, Rgb{255, 255, 255}, pictures_detail::unit(keep[i]));
  });
}

/// As above, over a background image (e.g. the mean training digit; 784 values, scaled so its brightest pixel is
/// 1): pruned pixels show the background as dim grey, kept pixels are amber (palette::tint), brighter where the
/// background is bright, so the mask reads against the shape of the digits.
inline void write_pixel_mask_png(const std::string& path, const std::vector<float>& keep,
                                 const std::vector<float>& background, int scale = 8) {
  using namespace pictures_detail;
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

/// Writes a bar chart PNG with one pair of bars per layer: total (light grey) and kept (blue), on one linear scale.
/// Above each pair the kept percentage, below it the label and "kept/total". Labels use a 3x5 font of digits, A-Z
/// (lower case drawn as upper case) and . - + % / : _ ( ) =; other characters are left blank.
/// Throws bayesdrop::InvalidArgument for empty or unequal lists, negative or non-finite values, or a path that
/// cannot be written.
inline void write_bar_chart_png(const std::string& path, const std::vector<std::string>& labels,
                                const std::vector<double>& kept, const std::vector<double>& total) {
  using namespace pictures_detail;
  const std::size_t n = labels.size();
  if (n == 0 || kept.size() != n || total.size() != n) {
    throw bayesdrop::InvalidArgument("write_bar_chart_png: need one label, kept and total value per layer, got " +
                                     std::to_string(labels.size()) + " labels, " + std::to_string(kept.size()) +
                                     " kept and " + std::to_string(total.size()) + " total values");
  }
  double vmax = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!(std::isfinite(kept[i]) && std::isfinite(total[i]) && kept[i] >= 0 && total[i] >= 0)) {
      throw bayesdrop::InvalidArgument("write_bar_chart_png: values must be finite and non-negative; layer '" +
                                       labels[i] + "' has kept " + std::to_string(kept[i]) + ", total " +
                                       std::to_string(total[i]));
    }
    vmax = std::max({vmax, kept[i], total[i]});
  }

  const int s = 2, line = 5 * s, margin = 16, bar = 28, gap = 4, plot_h = 160;
  std::vector<std::string> pct(n), counts(n);
  int group = 2 * bar + gap;
  for (std::size_t i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", total[i] > 0 ? 100.0 * kept[i] / total[i] : 0.0);
    pct[i] = total[i] > 0 ? buf : "-";
    counts[i] = format_value(kept[i]) + "/" + format_value(total[i]);
    group = std::max({group, Canvas::text_width(labels[i], s), Canvas::text_width(counts[i], s)});
  }
  group += 24;  // space between groups

  const int plot_top = margin + line + 6, base = plot_top + plot_h;
  const int legend_y = base + 8 + 2 * (line + 6) + 6;
  const int legend_w = 2 * (line + 6) + Canvas::text_width("total", s) + 16 + Canvas::text_width("kept", s);
  Canvas img(2 * margin + std::max(int(n) * group, legend_w), legend_y + line + margin, palette::paper);
  auto height = [&](double v) {  // at least a pixel for any non-zero value, so that "kept 3 of 235200" shows
    return vmax > 0 ? std::max(v > 0 ? 1 : 0, int(std::lround(plot_h * v / vmax))) : 0;
  };
  auto centred = [&](int centre, int y, const std::string& t) {
    img.text(centre - Canvas::text_width(t, s) / 2, y, t, s, palette::ink);
  };
  for (std::size_t i = 0; i < n; ++i) {
    const int centre = margin + int(i) * group + group / 2, left = centre - bar - gap / 2;
    img.fill_rect(left, base - height(total[i]), bar, height(total[i]), palette::total);
    img.fill_rect(left + bar + gap, base - height(kept[i]), bar, height(kept[i]), palette::kept);
    centred(centre, margin, pct[i]);
    centred(centre, base + 8, labels[i]);
    centred(centre, base + 8 + line + 6, counts[i]);
  }
  img.fill_rect(margin / 2, base, img.width - margin, 2, palette::ink);  // the axis, under the bars
  // Legend: a swatch and a word for each colour.
  img.fill_rect(margin, legend_y, line, line, palette::total);
  img.text(margin + line + 6, legend_y, "total", s, palette::ink);
  const int second = margin + line + 6 + Canvas::text_width("total", s) + 16;
  img.fill_rect(second, legend_y, line, line, palette::kept);
  img.text(second + line + 6, legend_y, "kept", s, palette::ink);
  img.save(path);
}

}  // namespace trainer
