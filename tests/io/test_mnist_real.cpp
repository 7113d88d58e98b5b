// Checks on the real MNIST files (when BAYESDROP_MNIST_DIR points at them) and on Fashion-MNIST (when the Debian
// package dataset-fashion-mnist is installed). Label "mnist" in ctest.
//
// Without the data a test case exits as skipped (tests/support/mnist.hpp), so ctest does not count it as passed.
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "bayesdrop/io/dataset.hpp"
#include "bayesdrop/io/mnist.hpp"
#include "support/mnist.hpp"

using bayesdrop::Index;

namespace {

std::array<long, 10> histogram(const bayesdrop::Labels& labels) {
  std::array<long, 10> counts{};
  for (Index i = 0; i < labels.size(); ++i) {
    const auto label = labels(i);
    REQUIRE(label >= 0);
    REQUIRE(label <= 9);
    ++counts[static_cast<std::size_t>(label)];
  }
  return counts;
}

void check_images(const bayesdrop::Dataset<float>& data, Index n) {
  REQUIRE(data.size() == n);
  REQUIRE(data.images.rows() == 784);
  REQUIRE(data.images.cols() == n);
  REQUIRE(data.shape.channels == 1);
  REQUIRE(data.shape.height == 28);
  REQUIRE(data.shape.width == 28);
  REQUIRE(data.images.minCoeff() == 0.0f);
  REQUIRE(data.images.maxCoeff() == 1.0f);
}

}  // namespace

TEST_CASE("mnist real: MNIST sizes, label range and class histograms", "[mnist]") {
  const char* dir = bayesdrop::test::mnist_dir_or_skip();
  const auto start = std::chrono::steady_clock::now();
  const auto train = bayesdrop::load_mnist<float>(dir, bayesdrop::Split::train);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("loading the MNIST training set took " << seconds << " s");
  const auto test = bayesdrop::load_mnist<float>(dir, bayesdrop::Split::test);

  check_images(train, 60000);
  check_images(test, 10000);
  // The published MNIST class counts.
  REQUIRE(histogram(train.labels) == std::array<long, 10>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949});
  REQUIRE(histogram(test.labels) == std::array<long, 10>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
  // The first training image is a 5, the first test image a 7 (as in every MNIST tutorial).
  REQUIRE(train.labels(0) == 5);
  REQUIRE(test.labels(0) == 7);
}

TEST_CASE("mnist real: Fashion-MNIST (Debian dataset-fashion-mnist): sizes and balanced classes", "[mnist]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    bayesdrop::test::skip_test(dir +
                               " is not present (apt-get install dataset-fashion-mnist, or run "
                               "scripts/install-deps.sh), so the Fashion-MNIST checks did not run");
  }
  const auto train = bayesdrop::load_mnist<float>(dir, bayesdrop::Split::train);
  const auto test = bayesdrop::load_mnist<float>(dir, bayesdrop::Split::test);
  check_images(train, 60000);
  check_images(test, 10000);
  std::array<long, 10> six_thousand{};
  six_thousand.fill(6000);
  REQUIRE(histogram(train.labels) == six_thousand);
  std::array<long, 10> thousand{};
  thousand.fill(1000);
  REQUIRE(histogram(test.labels) == thousand);
}
