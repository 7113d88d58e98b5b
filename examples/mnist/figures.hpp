// The trainer's pictures of what a model pruned: the input pixels it still reads, over the mean digit, and the
// active inputs of every weight layer as a bar chart.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "bayesdrop/bayesdrop.hpp"
#include "pictures.hpp"

namespace trainer {

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
      for (bd::Index k = 0; k < pixels; ++k) keep[std::size_t(k)] *= (w.col(k).array() != Scalar(0)).any() ? 1.0f : 0.0f;
      return keep;
    }
    if (layer.sparsity().weights > 0) {
      if (layer.sparsity().units_in != pixels) return {};  // a convolution reads channels, not pixels
      return keep;
    }
  }
  return keep;
}

/// Writes input_pixels.png (when the model reads pixels directly) and active_units.png into `dir` (created if
/// needed) and returns the paths written.
template <class Scalar>
std::vector<std::string> write_pictures(const bd::Sequential<Scalar>& model, const bd::ModelSummary& summary,
                                        const bd::Dataset<Scalar>& train, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw bd::InvalidArgument("--pictures: cannot create the folder '" + dir + "': " + ec.message());
  std::vector<std::string> written;

  const std::vector<float> keep = input_keep_mask(model);
  if (!keep.empty() && train.images.rows() == bd::Index(keep.size()) && keep.size() == 784) {
    const bd::Vector<Scalar> mean = train.images.rowwise().mean();
    std::vector<float> background(keep.size());
    for (std::size_t k = 0; k < keep.size(); ++k) background[k] = float(mean[bd::Index(k)]);
    const std::string path = dir + "/input_pixels.png";
    write_pixel_mask_png(path, keep, background);
    written.push_back(path);
  }

  std::vector<std::string> labels;
  std::vector<double> kept, total;
  for (std::size_t i = 0; i < summary.layers.size(); ++i) {
    labels.push_back("L" + std::to_string(i + 1) + " IN");
    kept.push_back(double(summary.layers[i].active_in));
    total.push_back(double(summary.layers[i].units_in));
  }
  const std::string path = dir + "/active_units.png";
  write_bar_chart_png(path, labels, kept, total);
  written.push_back(path);
  return written;
}

}  // namespace trainer
