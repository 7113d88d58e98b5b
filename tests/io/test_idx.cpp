// IDX reader, MNIST loader and gather_batch, on tiny files written by the tests themselves (plain and gzipped).
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "bayesdrop/io/dataset.hpp"
#include "bayesdrop/io/idx.hpp"
#include "bayesdrop/io/mnist.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using bayesdrop::DataError;
using bayesdrop::Index;
using Bytes = std::vector<std::uint8_t>;
using Catch::Contains;

namespace {

/// A fresh directory under the system temp dir, removed with its contents at scope exit.
// Each test's files go into a folder of its own (tests/support/temp_dir.hpp).
struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("bayesdrop-test-io-") {}
};

void put_be32(Bytes& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

/// An IDX file: 4 magic bytes, big-endian sizes, data.
Bytes idx_file(std::uint32_t magic, const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes out;
  put_be32(out, magic);
  for (auto d : dims) put_be32(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

/// n deterministic, poorly compressible bytes.
Bytes noise(std::size_t n, std::uint32_t seed = 1) {
  Bytes out(n);
  std::uint32_t s = seed;
  for (auto& b : out) {
    s = s * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(s >> 24);
  }
  return out;
}

Bytes images_idx(std::uint32_t n, std::uint32_t rows, std::uint32_t cols, const Bytes& pixels) {
  return idx_file(0x00000803, {n, rows, cols}, pixels);
}
Bytes labels_idx(const Bytes& labels) {
  return idx_file(0x00000801, {static_cast<std::uint32_t>(labels.size())}, labels);
}

void write_plain(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// gzip-compresses bytes through a temporary .gz file written with gzwrite.
Bytes gzip_bytes(const Bytes& bytes) {
  TempDir dir;
  write_gz(dir.file("x.gz"), bytes);
  return read_all(dir.file("x.gz"));
}

/// Writes the four MNIST-named files for one split (plain or .gz) into dir.
void write_split(const TempDir& dir, const std::string& prefix, const Bytes& images, const Bytes& labels, bool gz) {
  const std::string ext = gz ? ".gz" : "";
  auto write = gz ? write_gz : write_plain;
  write(dir.file(prefix + "-images-idx3-ubyte" + ext), images);
  write(dir.file(prefix + "-labels-idx1-ubyte" + ext), labels);
}

}  // namespace

TEST_CASE("io: IDX: a good images file and labels file read back exactly, plain and gzipped", "[io]") {
  const Bytes pixels = noise(3 * 4 * 5);
  const Bytes labels = {7, 0, 9};
  for (bool gz : {false, true}) {
    CAPTURE(gz);
    TempDir dir;
    const std::string ip = dir.file(gz ? "img.gz" : "img"), lp = dir.file(gz ? "lab.gz" : "lab");
    (gz ? write_gz : write_plain)(ip, images_idx(3, 4, 5, pixels));
    (gz ? write_gz : write_plain)(lp, labels_idx(labels));

    const bayesdrop::IdxData img = bayesdrop::read_idx_images(ip);
    REQUIRE(img.dims == std::vector<Index>{3, 4, 5});
    REQUIRE(img.count() == 3);
    REQUIRE(img.item_size() == 20);
    REQUIRE(img.bytes == pixels);

    const bayesdrop::IdxData lab = bayesdrop::read_idx_labels(lp);
    REQUIRE(lab.dims == std::vector<Index>{3});
    REQUIRE(lab.count() == 3);
    REQUIRE(lab.item_size() == 1);
    REQUIRE(lab.bytes == labels);
  }
}

TEST_CASE("io: IDX: in-memory parsing of plain and gzip bytes", "[io]") {
  const Bytes pixels = noise(2 * 3 * 3, 7);
  const Bytes file = images_idx(2, 3, 3, pixels);
  REQUIRE(bayesdrop::parse_idx(file.data(), file.size(), 3).bytes == pixels);
  const Bytes gz = gzip_bytes(file);
  REQUIRE(bayesdrop::parse_idx_gzip(gz.data(), gz.size(), 3).bytes == pixels);

  SECTION("a file with zero items is valid") {
    const Bytes empty = labels_idx({});
    const auto lab = bayesdrop::parse_idx(empty.data(), empty.size(), 1);
    REQUIRE(lab.count() == 0);
    REQUIRE(lab.bytes.empty());
  }
  SECTION("concatenated gzip members are one stream, as gzread reads them") {
    const Bytes head(file.begin(), file.begin() + 10), tail(file.begin() + 10, file.end());
    Bytes two = gzip_bytes(head);
    const Bytes second = gzip_bytes(tail);
    two.insert(two.end(), second.begin(), second.end());
    REQUIRE(bayesdrop::parse_idx_gzip(two.data(), two.size(), 3).bytes == pixels);
  }
  SECTION("bytes after the gzip stream") {
    Bytes bad = gz;
    bad.push_back('x');
    REQUIRE_THROWS_AS(bayesdrop::parse_idx_gzip(bad.data(), bad.size(), 3, "mem.gz"), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx_gzip(bad.data(), bad.size(), 3, "mem.gz"),
                        Contains("mem.gz") && Contains("after the end of the gzip stream"));
  }
  SECTION("plain bytes given to the gzip parser") {
    REQUIRE_THROWS_AS(bayesdrop::parse_idx_gzip(file.data(), file.size(), 3), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx_gzip(file.data(), file.size(), 3), Contains("corrupt gzip"));
  }
  SECTION("gzip bytes given to the plain parser") {
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx(gz.data(), gz.size(), 3),
                        Contains("wrong magic number 0x1F8B") && Contains("gzip-compressed"));
  }
}

TEST_CASE("io: IDX: truncated header", "[io]") {
  const Bytes full = images_idx(2, 2, 2, noise(8));
  for (bool gz : {false, true}) {
    for (std::size_t keep : {std::size_t{0}, std::size_t{2}, std::size_t{4}, std::size_t{10}, std::size_t{15}}) {
      CAPTURE(gz, keep);
      TempDir dir;
      const std::string path = dir.file("train-images-idx3-ubyte");
      (gz ? write_gz : write_plain)(path, Bytes(full.begin(), full.begin() + static_cast<long>(keep)));
      REQUIRE_THROWS_AS(bayesdrop::read_idx_images(path), DataError);
      REQUIRE_THROWS_WITH(bayesdrop::read_idx_images(path), Contains(path) && Contains("truncated header"));
    }
  }
  const Bytes empty;
  REQUIRE_THROWS_WITH(bayesdrop::parse_idx(empty.data(), 0, 1, "labels.bin"),
                      Contains("labels.bin") && Contains("the file is empty"));
}

TEST_CASE("io: IDX: truncated data", "[io]") {
  const Bytes full = images_idx(3, 4, 4, noise(48));
  for (bool gz : {false, true}) {
    CAPTURE(gz);
    TempDir dir;
    const std::string path = dir.file("img");
    (gz ? write_gz : write_plain)(path, Bytes(full.begin(), full.end() - 5));
    REQUIRE_THROWS_AS(bayesdrop::read_idx_images(path), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_images(path), Contains(path) && Contains("truncated data") &&
                                                              Contains("3 x 4 x 4 = 48") && Contains("only 43"));
  }
}

TEST_CASE("io: IDX: trailing bytes after the promised data", "[io]") {
  Bytes full = labels_idx({1, 2, 3});
  full.push_back(0);
  full.push_back(0);
  for (bool gz : {false, true}) {
    CAPTURE(gz);
    TempDir dir;
    const std::string path = dir.file("lab");
    (gz ? write_gz : write_plain)(path, full);
    REQUIRE_THROWS_AS(bayesdrop::read_idx_labels(path), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_labels(path), Contains(path) && Contains("trailing bytes"));
  }
}

TEST_CASE("io: IDX: wrong magic number says what was found and what was expected", "[io]") {
  TempDir dir;
  SECTION("not an IDX file at all") {
    const std::string path = dir.file("img");
    write_plain(path, {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    REQUIRE_THROWS_AS(bayesdrop::read_idx_images(path), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_images(path),
                        Contains(path) && Contains("wrong magic number 0x504B0304") && Contains("expected 0x00000803"));
  }
  SECTION("a labels file given as images") {
    const std::string path = dir.file("lab.gz");
    write_gz(path, labels_idx({1, 2}));
    REQUIRE_THROWS_AS(bayesdrop::read_idx_images(path), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_images(path), Contains(path) && Contains("0x00000801") &&
                                                              Contains("expected 0x00000803") &&
                                                              Contains("labels file"));
  }
  SECTION("an images file given as labels") {
    const std::string path = dir.file("img");
    write_plain(path, images_idx(1, 1, 1, {5}));
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_labels(path),
                        Contains("0x00000803") && Contains("expected 0x00000801") && Contains("images file"));
  }
  SECTION("wrong number of dimensions") {
    const std::string path = dir.file("img");
    write_plain(path, idx_file(0x00000802, {1, 1}, {5}));
    REQUIRE_THROWS_AS(bayesdrop::read_idx_images(path), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_images(path), Contains("2 dimension(s), expected 3"));
  }
}

TEST_CASE("io: IDX: wrong data type byte", "[io]") {
  TempDir dir;
  const std::string path = dir.file("img.gz");
  write_gz(path, idx_file(0x00000D03, {1, 1, 1}, {0, 0, 0, 0}));
  REQUIRE_THROWS_AS(bayesdrop::read_idx_images(path), DataError);
  REQUIRE_THROWS_WITH(bayesdrop::read_idx_images(path), Contains(path) && Contains("data type byte 0x0D (float32)") &&
                                                            Contains("expected 0x08 (unsigned byte)"));
}

TEST_CASE("io: IDX: absurd or empty dimensions are rejected before any large allocation", "[io]") {
  SECTION("more than 2^31 elements") {
    const Bytes f = images_idx(0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, noise(16));
    REQUIRE_THROWS_AS(bayesdrop::parse_idx(f.data(), f.size(), 3), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx(f.data(), f.size(), 3), Contains("more than 2^31 elements"));
    const Bytes g = images_idx(0x80000001u, 1, 1, noise(16));
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx(g.data(), g.size(), 3), Contains("more than 2^31 elements"));
    const Bytes h = images_idx(0, 0xFFFFFFFFu, 0xFFFFFFFFu, {});
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx(h.data(), h.size(), 3), Contains("more than 2^31 elements"));
  }
  SECTION("2^31 promised, a few bytes present: truncated, not a 2 GB allocation") {
    const Bytes f = images_idx(0x80000000u, 1, 1, noise(16));
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx(f.data(), f.size(), 3), Contains("truncated data") && Contains("only 16"));
    TempDir dir;
    write_gz(dir.file("big.gz"), f);
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_images(dir.file("big.gz")), Contains("truncated data"));
  }
  SECTION("an image with zero rows") {
    const Bytes f = images_idx(1, 0, 28, {});
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx(f.data(), f.size(), 3), Contains("dimension 2 of 3 is 0"));
  }
}

TEST_CASE("io: IDX: corrupt gzip streams", "[io]") {
  TempDir dir;
  const Bytes labels = noise(20000, 3);  // incompressible: stored deflate blocks, so a flipped byte changes data
  const Bytes gz = gzip_bytes(labels_idx(labels));
  REQUIRE(gz.size() > 1000);
  const std::string path = dir.file("train-labels-idx1-ubyte.gz");

  SECTION("valid gzip header, then garbage") {
    Bytes bad(gz.begin(), gz.begin() + 10);
    const Bytes junk = noise(200, 9);
    bad.insert(bad.end(), junk.begin(), junk.end());
    write_plain(path, bad);
    REQUIRE_THROWS_AS(bayesdrop::read_idx_labels(path), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_labels(path), Contains(path) && Contains("corrupt gzip"));
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx_gzip(bad.data(), bad.size(), 1), Contains("corrupt gzip"));
  }
  SECTION("bytes flipped in the middle of the stream") {
    Bytes bad = gz;
    for (std::size_t i = bad.size() / 2; i < bad.size() / 2 + 8; ++i) bad[i] ^= 0x5A;
    write_plain(path, bad);
    REQUIRE_THROWS_AS(bayesdrop::read_idx_labels(path), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_labels(path), Contains(path) && Contains("corrupt gzip"));
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx_gzip(bad.data(), bad.size(), 1), Contains("corrupt gzip"));
  }
  SECTION("CRC trailer damaged") {
    Bytes bad = gz;
    bad[bad.size() - 6] ^= 0xFF;
    write_plain(path, bad);
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_labels(path), Contains("corrupt gzip") && Contains("incorrect data check"));
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx_gzip(bad.data(), bad.size(), 1), Contains("incorrect data check"));
  }
  SECTION("gzip file cut short") {
    const Bytes bad(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2));
    write_plain(path, bad);
    REQUIRE_THROWS_AS(bayesdrop::read_idx_labels(path), DataError);
    REQUIRE_THROWS_WITH(bayesdrop::read_idx_labels(path), Contains(path) && Contains("ends early"));
    REQUIRE_THROWS_WITH(bayesdrop::parse_idx_gzip(bad.data(), bad.size(), 1), Contains("ends early"));
  }
}

TEST_CASE("io: IDX: missing or unreadable file", "[io]") {
  TempDir dir;
  const std::string missing = dir.file("nope.gz");
  REQUIRE_THROWS_AS(bayesdrop::read_idx_images(missing), DataError);
  REQUIRE_THROWS_WITH(bayesdrop::read_idx_images(missing), Contains(missing) && Contains("cannot open"));
  REQUIRE_THROWS_AS(bayesdrop::read_idx_labels(dir.path.string()), DataError);  // a directory
  REQUIRE_THROWS_WITH(bayesdrop::read_idx_labels(dir.path.string()), Contains(dir.path.string()));
}

TEST_CASE("io: load_mnist: pixels scaled to [0,1], labels set, .gz preferred over plain", "[io]") {
  TempDir dir;
  Bytes pixels(2 * 2 * 3);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * 23);
  pixels[0] = 0;
  pixels[1] = 255;
  write_split(dir, "train", images_idx(2, 2, 3, pixels), labels_idx({3, 9}), true);
  write_split(dir, "t10k", images_idx(1, 2, 3, Bytes(6, 128)), labels_idx({0}), false);
  // A plain training set next to the .gz one, with other contents: must be ignored.
  write_split(dir, "train", images_idx(1, 2, 3, Bytes(6, 1)), labels_idx({1}), false);

  const auto train = bayesdrop::load_mnist<float>(dir.path.string(), bayesdrop::Split::train);
  REQUIRE(train.size() == 2);
  REQUIRE(train.images.rows() == 6);
  REQUIRE(train.images.cols() == 2);
  REQUIRE(train.shape.channels == 1);
  REQUIRE(train.shape.height == 2);
  REQUIRE(train.shape.width == 3);
  REQUIRE(train.labels(0) == 3);
  REQUIRE(train.labels(1) == 9);
  REQUIRE(train.images(0, 0) == 0.0f);
  REQUIRE(train.images(1, 0) == 1.0f);
  REQUIRE(train.images.minCoeff() >= 0.0f);
  REQUIRE(train.images.maxCoeff() <= 1.0f);
  for (Index j = 0; j < 2; ++j) {
    for (Index r = 0; r < 6; ++r) {
      // Column j is image j; row r its r-th pixel in file (row-major) order.
      REQUIRE(train.images(r, j) == static_cast<float>(pixels[static_cast<std::size_t>(j * 6 + r)]) / 255.0f);
    }
  }

  const auto test = bayesdrop::load_mnist<double>(dir.path.string(), bayesdrop::Split::test);
  REQUIRE(test.size() == 1);
  REQUIRE(test.labels(0) == 0);
  REQUIRE(test.images(0, 0) == 128.0 / 255.0);
}

TEST_CASE("io: load_mnist: image and label counts must agree", "[io]") {
  TempDir dir;
  write_split(dir, "train", images_idx(3, 2, 2, noise(12)), labels_idx({1, 2, 3, 4}), true);
  const std::string images = dir.file("train-images-idx3-ubyte.gz"), labels = dir.file("train-labels-idx1-ubyte.gz");
  REQUIRE_THROWS_AS(bayesdrop::load_mnist<float>(dir.path.string(), bayesdrop::Split::train), DataError);
  REQUIRE_THROWS_WITH(bayesdrop::load_mnist<float>(dir.path.string(), bayesdrop::Split::train),
                      Contains(images) && Contains("3 images") && Contains(labels) && Contains("4 labels"));
}

TEST_CASE("io: load_mnist: labels outside 0..9 and empty files are data errors", "[io]") {
  TempDir dir;
  write_split(dir, "train", images_idx(2, 1, 1, {0, 0}), labels_idx({1, 10}), false);
  REQUIRE_THROWS_WITH(bayesdrop::load_mnist<float>(dir.path.string(), bayesdrop::Split::train),
                      Contains("label 10 of example 1 is outside 0..9"));
  write_split(dir, "t10k", images_idx(0, 1, 1, {}), labels_idx({}), false);
  REQUIRE_THROWS_WITH(bayesdrop::load_mnist<float>(dir.path.string(), bayesdrop::Split::test),
                      Contains("holds no images"));
}

// The library says what the data is and where it looks, in its own terms: no program's flag or script (the programs
// add theirs, tests/examples/test_programs.cpp).
TEST_CASE("io: load_mnist: a missing directory or file says what the data is and where it is looked for", "[io]") {
  TempDir dir;
  const std::string missing = (dir.path / "no-such-dir").string();
  REQUIRE_THROWS_AS(bayesdrop::load_mnist<float>(missing, bayesdrop::Split::train), DataError);
  REQUIRE_THROWS_WITH(bayesdrop::load_mnist<float>(missing, bayesdrop::Split::train),
                      Contains(missing) && Contains("does not exist") && Contains("train-images-idx3-ubyte") &&
                          Contains("t10k-labels-idx1-ubyte") && Contains("BAYESDROP_MNIST_DIR") &&
                          Contains("apt-get install dataset-fashion-mnist") && !Contains("--") &&
                          !Contains("scripts/"));

  // Labels present, images missing.
  write_plain(dir.file("t10k-labels-idx1-ubyte"), labels_idx({1}));
  REQUIRE_THROWS_AS(bayesdrop::load_mnist<float>(dir.path.string(), bayesdrop::Split::test), DataError);
  REQUIRE_THROWS_WITH(bayesdrop::load_mnist<float>(dir.path.string(), bayesdrop::Split::test),
                      Contains("t10k-images-idx3-ubyte.gz") && Contains("BAYESDROP_MNIST_DIR") &&
                          Contains("/usr/share/datasets/fashion-mnist") && !Contains("scripts/"));
}

namespace {

/// Sets (or, with nullptr, unsets) an environment variable for the current scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
      had_ = true;
    }
    set(value);
  }
  ~ScopedEnv() { set(had_ ? old_.c_str() : nullptr); }

 private:
  void set(const char* value) {
#ifdef _WIN32
    _putenv_s(name_.c_str(), value ? value : "");
#else
    if (value)
      setenv(name_.c_str(), value, 1);
    else
      unsetenv(name_.c_str());
#endif
  }
  std::string name_, old_;
  bool had_ = false;
};

}  // namespace

TEST_CASE("io: default_data_dir: environment variable or the documented default", "[io]") {
  {
    ScopedEnv mnist("BAYESDROP_MNIST_DIR", nullptr);
    ScopedEnv fashion("BAYESDROP_FASHION_DIR", nullptr);
    REQUIRE(bayesdrop::default_data_dir("mnist") == "data/mnist");
    REQUIRE(bayesdrop::default_data_dir("fashion") == "/usr/share/datasets/fashion-mnist");
  }
  {
    ScopedEnv mnist("BAYESDROP_MNIST_DIR", "/some/where");
    ScopedEnv fashion("BAYESDROP_FASHION_DIR", "/else/where");
    REQUIRE(bayesdrop::default_data_dir("mnist") == "/some/where");
    REQUIRE(bayesdrop::default_data_dir("fashion") == "/else/where");
  }
  REQUIRE_THROWS_AS(bayesdrop::default_data_dir("cifar"), bayesdrop::InvalidArgument);
  REQUIRE_THROWS_WITH(bayesdrop::default_data_dir("cifar"), Contains("cifar") && Contains("\"mnist\""));
}

TEST_CASE("io: gather_batch copies the chosen columns and reuses the output buffers", "[io]") {
  bayesdrop::Dataset<float> data;
  data.shape = {1, 2, 2};
  data.images.resize(4, 5);
  data.labels.resize(5);
  for (Index j = 0; j < 5; ++j) {
    for (Index r = 0; r < 4; ++r) data.images(r, j) = static_cast<float>(10 * j + r);
    data.labels(j) = static_cast<bayesdrop::Label>(j + 1);
  }
  const std::vector<Index> order = {4, 1, 3, 0, 2};
  bayesdrop::Matrix<float> x;
  bayesdrop::Labels y;

  bayesdrop::gather_batch(data, order, 1, 3, x, y);
  REQUIRE(x.rows() == 4);
  REQUIRE(x.cols() == 3);
  REQUIRE(y.size() == 3);
  for (Index j = 0; j < 3; ++j) {
    const Index src = order[static_cast<std::size_t>(1 + j)];
    REQUIRE(x.col(j) == data.images.col(src));
    REQUIRE(y(j) == data.labels(src));
  }

  const float* x_buffer = x.data();
  const bayesdrop::Label* y_buffer = y.data();
  bayesdrop::gather_batch(data, order, 2, 3, x, y);
  REQUIRE(x.data() == x_buffer);  // same batch size: no reallocation
  REQUIRE(y.data() == y_buffer);
  REQUIRE(x.col(0) == data.images.col(3));
  REQUIRE(x.col(2) == data.images.col(2));
  REQUIRE(y(1) == 1);

  REQUIRE_THROWS_AS(bayesdrop::gather_batch(data, order, 3, 3, x, y), bayesdrop::InvalidArgument);
  REQUIRE_THROWS_WITH(bayesdrop::gather_batch(data, order, -1, 2, x, y), Contains("outside the order vector"));
  const std::vector<Index> bad = {0, 5};
  REQUIRE_THROWS_WITH(bayesdrop::gather_batch(data, bad, 0, 2, x, y), Contains("order[1] = 5"));
  data.labels.resize(4);
  REQUIRE_THROWS_AS(bayesdrop::gather_batch(data, order, 0, 1, x, y), bayesdrop::ShapeError);
}
