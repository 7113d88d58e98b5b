// libFuzzer target for the IDX reader (io/idx.hpp) and the IDX -> Dataset conversion (io/mnist.hpp).
//
// Every input goes through the plain and the gzip parser, as images and as labels. A DataError is the expected
// answer to bad input; any other exception, a crash, a leak or a sanitizer report is a finding.
// Build and run: scripts/fuzz-idx.sh [SECONDS]
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/io/dataset.hpp"
#include "bayesdrop/io/idx.hpp"
#include "bayesdrop/io/mnist.hpp"

namespace {

/// Properties every successful parse must have; abort() turns a violation into a finding.
void check(const bayesdrop::IdxData& d, int dimensions) {
  if (d.dims.size() != static_cast<std::size_t>(dimensions)) std::abort();
  if (static_cast<std::size_t>(d.count() * d.item_size()) != d.bytes.size()) std::abort();
}

/// Runs a parsed images file through the Dataset conversion and one gather_batch over all examples.
void exercise_dataset(const bayesdrop::IdxData& images) {
  bayesdrop::IdxData labels;
  labels.dims = {images.count()};
  labels.bytes.assign(static_cast<std::size_t>(images.count()), 3);
  try {
    const auto data = bayesdrop::dataset_from_idx<float>(images, "images", labels, "labels");
    for (bayesdrop::Index i = 0; i < data.images.size(); ++i) {
      const float v = data.images.data()[i];
      if (!(v >= 0.0f && v <= 1.0f)) std::abort();
    }
    std::vector<bayesdrop::Index> order(static_cast<std::size_t>(data.size()));
    std::iota(order.rbegin(), order.rend(), bayesdrop::Index{0});
    bayesdrop::Matrix<float> x;
    bayesdrop::Labels y;
    bayesdrop::gather_batch(data, order, 0, data.size(), x, y);
    if (data.size() > 0 && x.col(0) != data.images.col(data.size() - 1)) std::abort();
  } catch (const bayesdrop::DataError&) {
    // zero images
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (const int dimensions : {3, 1}) {
    try {
      const bayesdrop::IdxData d = bayesdrop::parse_idx(data, size, dimensions, "fuzz");
      check(d, dimensions);
      if (dimensions == 3) exercise_dataset(d);
    } catch (const bayesdrop::DataError&) {
    }
    try {
      const bayesdrop::IdxData d = bayesdrop::parse_idx_gzip(data, size, dimensions, "fuzz.gz");
      check(d, dimensions);
      if (dimensions == 3) exercise_dataset(d);
    } catch (const bayesdrop::DataError&) {
    }
  }
  return 0;
}
