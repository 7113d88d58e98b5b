// Line charts for bayesdrop-uncertainty: the reliability diagram and the rotated-digit curves, as PNG.
//
// Built on the MNIST trainer's stb canvas and 3x5 bitmap font (examples/mnist/pictures.hpp) rather than a plotting
// library, so the examples keep one small dependency (libstb-dev). Each picture is a row of panels with axes,
// three ticks per axis, straight line segments between points and square markers, and a legend underneath.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../mnist/pictures.hpp"

namespace uncertainty {

using trainer::Rgb;

/// Colours of the two predictors in every picture (matplotlib's first two, as the trainer's blue).
namespace colours {
inline constexpr Rgb deterministic = trainer::palette::kept;  ///< blue
inline constexpr Rgb mc{255, 127, 14};                        ///< orange
inline constexpr Rgb reference{170, 170, 170};                ///< the diagonal of perfect calibration
inline constexpr Rgb grid{235, 235, 235};
}  // namespace colours

/// One curve: points (x[i], y[i]) joined in order. Non-finite points are skipped (and break the line).
struct Series {
  std::string label;
  Rgb colour;
  std::vector<double> x, y;
};

/// One panel: a title, axis ranges and labels, its curves; `diagonal` draws y = x (for reliability diagrams).
struct Panel {
  std::string title, x_label;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  std::vector<Series> series;
  bool diagonal = false;
};

/// The smallest of 1, 2, 2.5, 5 times a power of ten that is >= v (> 0): a round upper end for an axis, so that the
/// middle tick is round too. Returns 1 for v <= 0 or non-finite v (an all-zero curve still gets an axis).
inline double nice_ceiling(double v) {
  if (!(v > 0) || !std::isfinite(v)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * p >= v * (1 - 1e-12)) return m * p;
  }
  return 10 * p;
}

namespace plots_detail {

using trainer::pictures_detail::Canvas;

inline std::string tick(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

/// A straight segment `thick` pixels wide: one square per step along the longer axis (DDA); enough for charts.
inline void segment(Canvas& img, double x0, double y0, double x1, double y1, Rgb c, int thick = 2) {
  const int steps = std::max(1, int(std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)))));
  for (int i = 0; i <= steps; ++i) {
    const double t = double(i) / steps;
    img.fill_rect(int(std::lround(x0 + t * (x1 - x0))) - thick / 2, int(std::lround(y0 + t * (y1 - y0))) - thick / 2,
                  thick, thick, c);
  }
}

constexpr int kScale = 2, kLine = 5 * kScale;                   // font scale and text height
constexpr int kPlotW = 300, kPlotH = 220;                       // plot area of one panel
constexpr int kLeft = 48, kTop = 2 * kLine + 10, kBottom = 40;  // room for y ticks, title, x ticks and label
constexpr int kPanelW = kLeft + kPlotW + 24, kPanelH = kTop + kPlotH + kBottom;

inline void draw_panel(Canvas& img, int ox, int oy, const Panel& p) {
  const int left = ox + kLeft, top = oy + kTop, bottom = top + kPlotH;
  const double xr = p.x_max > p.x_min ? p.x_max - p.x_min : 1, yr = p.y_max > p.y_min ? p.y_max - p.y_min : 1;
  auto px = [&](double x) { return left + (x - p.x_min) / xr * kPlotW; };
  auto py = [&](double y) { return bottom - (y - p.y_min) / yr * kPlotH; };
  const auto ink = trainer::palette::ink;

  img.text(left + (kPlotW - Canvas::text_width(p.title, kScale)) / 2, oy + 4, p.title, kScale, ink);
  for (int i = 0; i <= 2; ++i) {  // ticks at both ends and the middle, with light grid lines
    const double xv = p.x_min + xr * i / 2, yv = p.y_min + yr * i / 2;
    const int x = int(std::lround(px(xv))), y = int(std::lround(py(yv)));
    if (i > 0) {
      img.fill_rect(x, top, 1, kPlotH, colours::grid);
      img.fill_rect(left, y, kPlotW, 1, colours::grid);
    }
    const std::string xs = tick(xv), ys = tick(yv);
    img.fill_rect(x, bottom, 1, 5, ink);
    img.text(x - Canvas::text_width(xs, kScale) / 2, bottom + 8, xs, kScale, ink);
    img.fill_rect(left - 5, y, 5, 1, ink);
    img.text(left - 8 - Canvas::text_width(ys, kScale), y - kLine / 2, ys, kScale, ink);
  }
  img.text(left + (kPlotW - Canvas::text_width(p.x_label, kScale)) / 2, bottom + 8 + kLine + 6, p.x_label, kScale, ink);
  if (p.diagonal)
    segment(img, px(std::max(p.x_min, p.y_min)), py(std::max(p.x_min, p.y_min)), px(std::min(p.x_max, p.y_max)),
            py(std::min(p.x_max, p.y_max)), colours::reference, 1);
  img.fill_rect(left, top, 2, kPlotH + 1, ink);  // the axes, over the grid
  img.fill_rect(left, bottom, kPlotW, 2, ink);

  for (const Series& s : p.series) {
    bool have_previous = false;
    double prev_x = 0, prev_y = 0;
    for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        have_previous = false;
        continue;
      }
      // Clamped to the panel so that a value beyond the axis shows at its edge rather than over a neighbour.
      const double x = std::clamp(px(s.x[i]), double(left), double(left + kPlotW));
      const double y = std::clamp(py(s.y[i]), double(top), double(bottom));
      if (have_previous) segment(img, prev_x, prev_y, x, y, s.colour);
      img.fill_rect(int(std::lround(x)) - 3, int(std::lround(y)) - 3, 7, 7, s.colour);
      prev_x = x, prev_y = y, have_previous = true;
    }
  }
}

}  // namespace plots_detail

/// Writes `panels` side by side into one PNG at `path`, with a legend of the first panel's series (the panels are
/// expected to share them) underneath. Labels use the 3x5 font (digits, A-Z, . - + % / : _ ( ) =).
/// Throws bayesdrop::InvalidArgument for no panels or a path that cannot be written.
inline void write_panels_png(const std::string& path, const std::vector<Panel>& panels) {
  using plots_detail::Canvas;
  using namespace plots_detail;
  if (panels.empty()) throw bayesdrop::InvalidArgument("write_panels_png: nothing to draw (no panels)");
  const int legend_y = kPanelH + 8, margin = 12;
  Canvas img(2 * margin + int(panels.size()) * kPanelW, legend_y + kLine + 2 * margin, trainer::palette::paper);
  for (std::size_t i = 0; i < panels.size(); ++i) draw_panel(img, margin + int(i) * kPanelW, margin, panels[i]);
  int x = margin + kLeft;
  for (const Series& s : panels.front().series) {
    img.fill_rect(x, margin + legend_y, kLine, kLine, s.colour);
    img.text(x + kLine + 6, margin + legend_y, s.label, kScale, trainer::palette::ink);
    x += kLine + 6 + Canvas::text_width(s.label, kScale) + 24;
  }
  img.save(path);
}

}  // namespace uncertainty
