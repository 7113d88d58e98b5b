// Small data sets in MNIST's IDX format for tests that run the programs or a whole run on files: an easy ten-class
// problem learnt in an epoch or two.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace test_data {

inline void put_be32(std::ofstream& f, std::uint32_t v) {
  const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  f.write(b, 4);
}

/// Writes one split of an easy ten-class data set in MNIST's IDX format: example i has class i % 10, drawn as a
/// bright square at a place of its own, on a background of faint noise (learnt in an epoch or two).
inline void write_split(const std::string& dir, const std::string& prefix, int n, int height, int width) {
  std::mt19937 gen(static_cast<unsigned>(n * 31 + height));
  std::ofstream images(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary);
  put_be32(images, 0x00000803);
  put_be32(images, std::uint32_t(n));
  put_be32(images, std::uint32_t(height));
  put_be32(images, std::uint32_t(width));
  std::ofstream labels(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary);
  put_be32(labels, 0x00000801);
  put_be32(labels, std::uint32_t(n));
  const int side = std::max(2, std::min(height, width) / 5);
  for (int i = 0; i < n; ++i) {
    const int k = i % 10;
    const int top = (k / 4) * height / 3, left = (k % 4) * width / 4;
    for (int r = 0; r < height; ++r) {
      for (int c = 0; c < width; ++c) {
        const bool on = r >= top && r < top + side && c >= left && c < left + side;
        images.put(static_cast<char>(on ? 200 + int(gen() % 56) : int(gen() % 30)));
      }
    }
    labels.put(static_cast<char>(k));
  }
  REQUIRE(images.good());
  REQUIRE(labels.good());
}

/// A data folder of 300 training and 100 test images of the given sizes.
inline void write_data(const std::string& dir, int h = 28, int w = 28, int test_h = 28, int test_w = 28) {
  std::filesystem::create_directories(dir);
  write_split(dir, "train", 300, h, w);
  write_split(dir, "t10k", 100, test_h, test_w);
}

}  // namespace test_data
