// Model files (models/model_file.hpp): round trips, conversions, and every kind of bad file a user can hand the loader.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <system_error>

#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/gaussian_dropout.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/layers/structured_bayesian_pruning.hpp"
#include "bayesdrop/models/model_file.hpp"
#include "support/mnist.hpp"  // skip_test
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace bayesdrop;
using Catch::Contains;

namespace {

/// A fresh directory under the system temp dir, removed with its contents at scope exit.
// Each test's files go into a folder of its own (tests/support/temp_dir.hpp).
struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("bayesdrop-test-model-") {}
};

/// A layer with untrained state, to exercise tensors of kind 1 (no library layer has state yet).
template <class Scalar>
class Shift final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;
  explicit Shift(Index units) : mean_(Matrix<Scalar>::Zero(units, 1)) {}
  std::string_view name() const override { return "Shift"; }
  Index input_rows() const override { return mean_.rows(); }
  Index output_rows() const override { return mean_.rows(); }
  void forward(const MatrixType& x, MatrixType& y, const Context&) override { y = x.colwise() - mean_.col(0); }
  void backward(const MatrixType&, const MatrixType& dy, MatrixType* dx) override {
    if (dx) *dx = dy;
  }
  std::vector<StateTensor<Scalar>> state() override { return {{"running_mean", &mean_}}; }

 private:
  Matrix<Scalar> mean_;
};

/// Gates, dense layers of two families and a stateful layer; `hidden` and `out` vary the architecture.
template <class S>
Sequential<S> zoo(Rng& rng, Index hidden = 8, Index out = 3, bool gaussian = false) {
  Sequential<S> net;
  if (gaussian) {
    net.template emplace<GaussianDropout>(6, 0.2);
  } else {
    net.template emplace<BinaryDropout>(6, 0.2);
  }
  net.template emplace<Linear>(6, hidden, rng);
  net.template emplace<ReLU>(hidden);
  net.template emplace<BetaBernoulliDropout>(hidden, rng);
  net.template emplace<SparseVDLinear>(hidden, 5, rng);
  net.template emplace<ReLU>(5);
  net.template emplace<StructuredBayesianPruning>(5);
  net.template emplace<Shift>(5);
  net.template emplace<Linear>(5, out, rng);
  return net;
}

/// Moves every parameter and state tensor away from its initial value, as training would.
template <class S>
void perturb(Sequential<S>& net, Rng& rng) {
  for (auto* p : net.parameters()) {
    Matrix<S> noise(p->value.rows(), p->value.cols());
    rng.normal(noise);
    p->value += S(0.5) * noise;
  }
  for (auto& s : net.state()) rng.normal(*s.value);
}

template <class S>
Matrix<S> predict(Sequential<S>& net, std::uint64_t seed = 99) {
  Rng rng(seed);
  Matrix<S> x(6, 7);
  rng.normal(x);
  return net.forward(x, Context::eval());
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

void put_le(std::string& bytes, std::size_t at, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
/// Rewrites the trailing CRC so the checks after it are reached.
std::string with_crc(std::string bytes) {
  const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size() - 4));
  put_le(bytes, bytes.size() - 4, crc, 4);
  return bytes;
}

}  // namespace

TEST_CASE("io: model file: a saved model loads into a freshly built one and predicts bit for bit the same", "[io]") {
  TempDir dir;
  const std::string path = dir.file("model.bdm");
  Rng rng(1);
  auto a = zoo<float>(rng);
  perturb(a, rng);
  const std::string meta = R"({"model": "zoo", "dropout": "mixed", "epochs": 3})";
  save_model(a, path, meta);
  CHECK_FALSE(fs::exists(path + ".tmp"));

  Rng other(2);
  auto b = zoo<float>(other);
  CHECK((predict(a).array() != predict(b).array()).any());
  CHECK(load_model(b, path) == meta);
  CHECK((predict(a).array() == predict(b).array()).all());
  for (std::size_t i = 0; i < a.parameters().size(); ++i) {
    CHECK(a.parameters()[i]->value == b.parameters()[i]->value);
  }
  CHECK(*a.state()[0].value == *b.state()[0].value);
  CHECK(serialize_model(b, meta) == read_file(path));  // nothing lost, nothing added
  CHECK(read_model_metadata(path) == meta);

  // Saving again replaces the file.
  perturb(a, rng);
  save_model(a, path, "{}");
  CHECK(load_model(b, path) == "{}");
  CHECK((predict(a).array() == predict(b).array()).all());
}

TEST_CASE("io: model file: metadata is returned byte for byte", "[io]") {
  Rng rng(3);
  auto net = zoo<double>(rng);
  for (const std::string& meta : {std::string(), std::string("{\"name\": \"caf\xc3\xa9\"}"),
                                  std::string("nul\0inside", 10), std::string(100000, 'x')}) {
    const std::string bytes = serialize_model(net, meta);
    CHECK(deserialize_model_metadata(bytes) == meta);
    CHECK(deserialize_model(net, bytes) == meta);
  }
}

TEST_CASE("io: model file: float files load into double models and back", "[io]") {
  Rng rng(4);
  auto f = zoo<float>(rng);
  perturb(f, rng);
  auto d = zoo<double>(rng);
  deserialize_model(d, serialize_model(f));
  for (std::size_t i = 0; i < f.parameters().size(); ++i) {
    CHECK(f.parameters()[i]->value.cast<double>() == d.parameters()[i]->value);
  }
  auto g = zoo<float>(rng);
  deserialize_model(g, serialize_model(d));  // values that came from floats convert back exactly
  CHECK((predict(f).array() == predict(g).array()).all());

  SECTION("a double beyond float's range is refused, not turned into infinity") {
    d.parameters()[0]->value(0, 0) = 1e300;
    const std::string before = serialize_model(g);
    REQUIRE_THROWS_AS(deserialize_model(g, serialize_model(d)), DataError);
    REQUIRE_THROWS_WITH(deserialize_model(g, serialize_model(d)), Contains("beyond float's range"));
    CHECK(serialize_model(g) == before);
  }
}

TEST_CASE("io: model file: bad files are DataErrors that name the path and the problem", "[io]") {
  TempDir dir;
  const std::string path = dir.file("bad.bdm");
  Rng rng(5);
  auto net = zoo<float>(rng);
  perturb(net, rng);
  const std::string good = serialize_model(net, "{\"k\": 1}");
  const std::string before = good;  // the model's own bytes: a failed load must leave them unchanged
  auto require_error = [&](const std::string& bytes, const std::string& message) {
    write_file(path, bytes);
    REQUIRE_THROWS_AS(load_model(net, path), DataError);
    REQUIRE_THROWS_WITH(load_model(net, path), Contains(message) && Contains(path));
    REQUIRE_THROWS_WITH(read_model_metadata(path), Contains(message) && Contains(path));
    CHECK(serialize_model(net, "{\"k\": 1}") == before);
  };

  SECTION("truncated at any length") {
    for (std::size_t n : {std::size_t{0}, std::size_t{5}, std::size_t{8}, std::size_t{11}, std::size_t{20},
                          std::size_t{36}, good.size() / 2, good.size() - 4, good.size() - 1}) {
      INFO("length " << n);
      require_error(good.substr(0, n), "truncated");
    }
    require_error(good.substr(0, 20), "the file is truncated: 20 bytes");
    require_error(good.substr(0, good.size() - 1), "checksum mismatch: the file is corrupt or truncated");
  }
  SECTION("a flipped bit anywhere after the version") {
    for (std::size_t at : {std::size_t{12}, std::size_t{17}, std::size_t{30}, std::size_t{50}, good.size() / 2,
                           good.size() - 5, good.size() - 1}) {
      INFO("byte " << at);
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ 0x10);
      require_error(bad, "checksum mismatch: the file is corrupt or truncated");
    }
  }
  SECTION("wrong magic") {
    std::string bad = good;
    bad[3] = 'Z';
    require_error(bad, "not a bayesdrop model file");
    require_error("\x89PNG\r\n\x1a\n and the rest of a picture", "not a bayesdrop model file");
    require_error("BAYES", "truncated");  // a prefix of the magic is a truncated file, not a foreign one
  }
  SECTION("a newer or an impossible version, with a correct checksum") {
    std::string bad = good;
    put_le(bad, 8, 2, 4);
    require_error(with_crc(bad), "written by a newer version 2; this build reads version 1");
    put_le(bad, 8, 0, 4);
    require_error(with_crc(bad), "format version 0 does not exist");
  }
  SECTION("lengths beyond the file, with a correct checksum, are caught before any allocation") {
    std::string bad = good;
    put_le(bad, 12, 3, 4);
    require_error(with_crc(bad), "scalar size 3, expected 4 (float) or 8 (double)");
    bad = good;
    put_le(bad, 16, std::uint64_t{1} << 62, 8);  // metadata length
    require_error(with_crc(bad), "the metadata needs 4611686018427387904 bytes but only");
    bad = good;
    put_le(bad, 24 + 8, std::uint64_t{1} << 60, 8);  // layer count, after the 8 bytes of metadata
    require_error(with_crc(bad), "layer 9 type name needs 4 bytes but only 0 remain");
    // Layer 1 (Linear): u32 name length, "Linear", u32 tensor count, kind, u32 name length, "weight", rows.
    const std::size_t rows_at = good.find("Linear") + 6 + 4 + 1 + 4 + 6;
    bad = good;
    put_le(bad, rows_at, std::uint64_t{1} << 40, 8);
    require_error(with_crc(bad), "layer 1 tensor 0 'weight' claims 1099511627776x6 values but only");
    put_le(bad, rows_at, static_cast<std::uint64_t>(-8), 8);
    require_error(with_crc(bad), "claims -8x6 values");
    require_error(with_crc(good.substr(0, good.size() - 4) + "junk" + "crc!"),
                  "4 unexpected bytes after the last layer");
  }
  SECTION("a missing file, a directory, a file too large to be a model") {
    const std::string missing = dir.file("no-such-model.bdm");
    REQUIRE_THROWS_WITH(load_model(net, missing), Contains("cannot open") && Contains(missing));
    REQUIRE_THROWS_AS(read_model_metadata(missing), DataError);
    REQUIRE_THROWS_WITH(load_model(net, dir.path.string()), Contains(dir.path.string()));
    REQUIRE_THROWS_AS(load_model(net, dir.path.string()), DataError);
    REQUIRE_THROWS_WITH(save_model(net, dir.file("no/such/dir/m.bdm")), Contains("no/such/dir/m.bdm"));
    const std::string huge = dir.file("huge.bdm");
    write_file(huge, good);
    fs::resize_file(huge, model_file_max_bytes + 1);  // sparse: refused by its size, never read
    REQUIRE_THROWS_WITH(load_model(net, huge), Contains("larger than 1 GiB") && Contains(huge));
  }
}

TEST_CASE("io: model file: a model of another architecture is a ShapeError naming the layer and the tensor", "[io]") {
  TempDir dir;
  const std::string path = dir.file("model.bdm");
  Rng rng(6);
  auto saved = zoo<float>(rng);
  save_model(saved, path);
  auto require_mismatch = [&](Sequential<float>& net, const std::string& message) {
    const std::string before = serialize_model(net);
    REQUIRE_THROWS_AS(load_model(net, path), ShapeError);
    REQUIRE_THROWS_WITH(load_model(net, path),
                        Contains(message) && Contains(path) && Contains("build the model with the same architecture"));
    CHECK(serialize_model(net) == before);  // nothing copied, not even the layers that matched
  };

  auto wider = zoo<float>(rng, 9);
  require_mismatch(wider, "layer 1 (Linear) tensor 'weight' is 8x6 in the file but 9x6 in the model");
  auto last_differs = zoo<float>(rng, 8, 4);
  require_mismatch(last_differs, "layer 8 (Linear) tensor 'weight' is 3x5 in the file but 4x5 in the model");

  auto gaussian = zoo<float>(rng, 8, 3, true);
  require_mismatch(gaussian, "layer 0 is 'BinaryDropout' in the file but GaussianDropout in the model");
  Sequential<float> shorter;
  shorter.emplace<BinaryDropout>(6, 0.2);
  require_mismatch(shorter, "the file has 9 layers but the model has 1");

  std::string renamed = read_file(path);
  renamed[renamed.find("running_mean") + 11] = 'N';
  write_file(path, with_crc(renamed));
  auto net = zoo<float>(rng);
  require_mismatch(net, "layer 7 (Shift) tensor 0 is 'running_meaN' (state) in the file but 'running_mean' (state)");
}

TEST_CASE("io: model file: NaN or infinite values are refused at load, naming the tensor", "[io]") {
  Rng rng(8);
  auto saved = zoo<float>(rng);
  perturb(saved, rng);
  auto net = zoo<float>(rng);
  const std::string before = serialize_model(net);
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    saved.parameters()[3]->value(1, 0) = bad;  // the second Linear's weight
    const std::string bytes = serialize_model(saved);
    REQUIRE_THROWS_AS(deserialize_model(net, bytes, "nan.bdm"), DataError);
    REQUIRE_THROWS_WITH(deserialize_model(net, bytes, "nan.bdm"),
                        Contains("nan.bdm") && Contains(saved.parameters()[3]->name) &&
                            Contains(std::isnan(bad) ? "NaN" : "infinite") && Contains("diverged"));
    CHECK(serialize_model(net) == before);  // nothing was copied
  }
  SECTION("a double file into a double model too") {
    auto d = zoo<double>(rng);
    d.state()[0].value->setConstant(-std::numeric_limits<double>::infinity());
    auto target = zoo<double>(rng);
    REQUIRE_THROWS_WITH(deserialize_model(target, serialize_model(d)),
                        Contains("running_mean") && Contains("infinite"));
  }
}

TEST_CASE("io: model file: save_model replaces only regular files, follows symlinks and leaves no temporary file",
          "[io]") {
  TempDir dir;
  Rng rng(9);
  auto net = zoo<float>(rng);
  perturb(net, rng);
  const std::string bytes = serialize_model(net, "{}");

  SECTION("a directory at the path is refused and left alone") {
    const std::string path = dir.file("folder.bdm");
    fs::create_directory(path);
    REQUIRE_THROWS_AS(save_model(net, path, "{}"), DataError);
    REQUIRE_THROWS_WITH(save_model(net, path, "{}"), Contains(path) && Contains("not a regular file"));
    CHECK(fs::is_directory(path));
    CHECK_FALSE(fs::exists(path + ".tmp"));
  }
  SECTION("a device node is refused, not replaced by a regular file") {
    if (!fs::exists("/dev/null")) {
      bayesdrop::test::skip_test("no /dev/null on this system");
    }
    // /dev cannot be written by a test; a symlink to /dev/null stands for "a device at the path".
    const std::string path = dir.file("device.bdm");
    fs::create_symlink("/dev/null", path);
    REQUIRE_THROWS_WITH(save_model(net, path, "{}"), Contains(path) && Contains("device"));
    CHECK(fs::is_character_file("/dev/null"));
    CHECK(fs::is_symlink(path));
  }
  SECTION("a symlink: the file it points to is replaced, the link stays a link") {
    fs::create_directory(dir.file("real"));
    const std::string real = dir.file("real/model.bdm");
    write_file(real, "old");
    const std::string link = dir.file("link.bdm");
    fs::create_symlink("real/model.bdm", link);  // relative to the link's folder
    save_model(net, link, "{}");
    CHECK(fs::is_symlink(link));
    CHECK(read_file(real) == bytes);
    CHECK_FALSE(fs::exists(real + ".tmp"));
    CHECK_FALSE(fs::exists(link + ".tmp"));
    SECTION("a dangling symlink creates its target") {
      const std::string dangling = dir.file("dangling.bdm");
      fs::create_symlink("real/new.bdm", dangling);
      save_model(net, dangling, "{}");
      CHECK(fs::is_symlink(dangling));
      CHECK(read_file(dir.file("real/new.bdm")) == bytes);
    }
  }
  SECTION("a regular file is replaced") {
    const std::string path = dir.file("m.bdm");
    write_file(path, "old contents");
    save_model(net, path, "{}");
    CHECK(read_file(path) == bytes);
    CHECK_FALSE(fs::exists(path + ".tmp"));
  }
}
