// Checkpoints: a run interrupted and resumed ends exactly as the uninterrupted run; other runs' or corrupt
// checkpoints are refused with a clear error and change nothing.
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "bayesdrop/io/durable_file.hpp"
#include "bayesdrop/models/model_file.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/optim/sgd.hpp"
#include "bayesdrop/training/checkpoint.hpp"
#include "bayesdrop/training/fit.hpp"
#include "bayesdrop/training/recipe.hpp"
#include "support/random_images.hpp"

using namespace bayesdrop;

namespace {

// n random 28x28 "images" of 10 classes: enough for the noise, schedules and gates to matter.
Dataset<float> noise_data(std::uint64_t seed, Index n) {
  Rng rng(seed);
  return test::random_images(n, rng, 7);
}

std::string temp_path(const std::string& name) {
  return "bayesdrop_test_checkpoint_" + name;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Everything of a history except the timings.
void check_same_history(const std::vector<EpochLog>& a, const std::vector<EpochLog>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].epoch == b[i].epoch);
    CHECK(a[i].train.cross_entropy == b[i].train.cross_entropy);
    CHECK(a[i].train.accuracy == b[i].train.accuracy);
    CHECK(a[i].train.kl == b[i].train.kl);
    CHECK(a[i].train.elbo.total() == b[i].train.elbo.total());
    CHECK(a[i].train.examples == b[i].train.examples);
    CHECK(a[i].test.cross_entropy == b[i].test.cross_entropy);
    CHECK(a[i].test.accuracy == b[i].test.accuracy);
    CHECK(a[i].lr == b[i].lr);
    CHECK(a[i].kl_weight == b[i].kl_weight);
    CHECK(a[i].n_active == b[i].n_active);
  }
}

struct Run {
  ModelSpec spec;
  Recipe recipe;
  int epochs = 4;
};

// Trains run.spec from seed 3 for run.epochs epochs with `options`; returns the model bytes and the history.
std::pair<std::string, std::vector<EpochLog>> train(const Run& run, const FitOptions& options) {
  const auto train_set = noise_data(1, 60), test_set = noise_data(2, 30);
  Rng rng(3);
  auto model = build_model<float>(run.spec, rng);
  FitOptions o = options;
  o.with_epochs(run.epochs).with_batch(20);
  auto history = fit(model, run.recipe, train_set, &test_set, rng, o);
  return {serialize_model(model), history};
}

// The bytes a build of format version 1 (eight xoshiro256+ lanes) would have written for the checkpoint `v2` of this
// build: the version 1, the generator's 36 bytes replaced by the old state's 324 (`words`: the lanes' s0[0..8), s1,
// s2, s3, then the buffered outputs; `buffered` of them left), the checksum recomputed.
std::string as_version1(const std::string& v2, const std::array<std::uint64_t, 40>& words, std::uint32_t buffered) {
  auto put = [](std::string& out, std::uint64_t v, int bytes) {
    for (int k = 0; k < bytes; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
  };
  const std::size_t meta = static_cast<std::size_t>(detail::model_le(v2.data() + 16, 8));
  const std::size_t generator = 24 + meta + 16;  // magic, version, scalar size, metadata, epochs, epochs, batch
  std::string v1 = v2.substr(0, 8);
  put(v1, 1, 4);
  v1 += v2.substr(12, generator - 12);
  for (std::uint64_t w : words) put(v1, w, 8);
  put(v1, buffered, 4);
  v1 += v2.substr(generator + 36, v2.size() - 4 - (generator + 36));
  put(v1, detail::model_crc(v1), 4);
  return v1;
}

}  // namespace

TEST_CASE("a run interrupted after an epoch and resumed ends with the same model and history", "[training]") {
  // Sparse VD with its warm-up and linear decay (the KL weight and rate change every epoch), and BBD with two rate
  // groups and piecewise steps: each draws noise every batch, so a generator or optimiser restored wrongly shows.
  Recipe svd = Recipe::sparsevd();
  Recipe bbd = Recipe::assignment();
  for (const Run& run : {Run{ModelSpec{"lenet300", "sparsevd"}, svd, 3}, Run{ModelSpec{"lenet300", "bbd"}, bbd, 3}}) {
    CAPTURE(run.spec.dropout);
    const std::string path = temp_path(run.spec.dropout);
    std::remove(path.c_str());
    const auto straight = train(run, FitOptions{});

    // The interrupted run: stopped (by an exception, as a kill would) after epoch 1, its checkpoint written.
    int seen = 0;
    FitOptions first = FitOptions{}.with_checkpoint(path, "settings").with_on_epoch([&](const EpochLog& log) {
      ++seen;
      if (log.epoch == 1) throw std::runtime_error("interrupted");
    });
    CHECK_THROWS_WITH(train(run, first), "interrupted");
    CHECK(seen == 1);

    // The resumed run starts from another generator state and freshly built model: the checkpoint restores both.
    const auto resumed = train(run, FitOptions{}.with_checkpoint(path, "settings").with_resume(path));
    CHECK(resumed.first == straight.first);
    check_same_history(resumed.second, straight.second);
    CHECK(resumed.second.front().train.seconds > 0);  // the epochs before the interruption keep their timings

    // The checkpoint of the finished run resumes to nothing more to do.
    int more = 0;
    const auto again =
        train(run, FitOptions{}.with_resume(path).with_checkpoint(path, "settings").with_on_epoch([&](const EpochLog&) {
          ++more;
        }));
    CHECK(more == 0);
    CHECK(again.first == straight.first);
    std::remove(path.c_str());
  }
}

TEST_CASE("a checkpoint restores an SGD run's momentum and step count", "[training]") {
  const auto data = noise_data(4, 32);
  Dataset<double> d;
  d.shape = data.shape;
  d.images = data.images.template cast<double>();
  d.labels = data.labels;
  const std::string path = temp_path("sgd");
  auto run = [&](int stop_after, bool resume) {
    Rng rng(9);
    auto model = build_model<double>(ModelSpec{"lenet300", "gaussian"}, rng);
    Sgd<double> sgd({ParamGroup<double>{"all", model.parameters(), 0.05, 1e-4, LrSchedule::linear_decay(8, 0.25)}},
                    SgdOptions{}.with_momentum(0.9));
    FitOptions o =
        FitOptions{}.with_epochs(4).with_batch(16).with_checkpoint(path).with_on_epoch([&](const EpochLog& log) {
          if (log.epoch == stop_after) throw std::runtime_error("interrupted");
        });
    if (resume) o.with_resume(path);
    try {
      fit(model, sgd, d, static_cast<const Dataset<double>*>(nullptr), rng, o);
    } catch (const std::runtime_error&) {
    }
    return std::make_pair(serialize_model(model), sgd.steps());
  };
  const auto straight = run(0, false);
  CHECK(straight.second == 8);
  run(1, false);
  const auto resumed = run(0, true);
  CHECK(resumed.second == 8);
  CHECK(resumed.first == straight.first);
  std::remove(path.c_str());
}

TEST_CASE("a checkpoint of another run, a corrupt one or a missing one is refused and changes nothing", "[training]") {
  const std::string path = temp_path("refuse");
  const auto train_set = noise_data(1, 60);
  Recipe recipe = Recipe::assignment();
  {
    Rng rng(3);
    auto model = build_model<float>(ModelSpec{"lenet300", "bbd"}, rng);
    fit(model, recipe, train_set, static_cast<const Dataset<float>*>(nullptr), rng,
        FitOptions{}.with_epochs(2).with_batch(30).with_checkpoint(path, "{\"dropout\": \"bbd\"}"));
  }
  const std::string good = read_bytes(path);
  REQUIRE(good.size() > 1000);

  // Resumes `spec` from the file at `file` with the given metadata and epochs; checks the model is left unchanged.
  auto resume = [&](const ModelSpec& spec, const std::string& file, const std::string& metadata, int epochs) {
    Rng rng(3);
    auto model = build_model<float>(spec, rng);
    const std::string before = serialize_model(model);
    const Rng::Snapshot rng_before = rng.snapshot();
    try {
      fit(model, recipe, train_set, static_cast<const Dataset<float>*>(nullptr), rng,
          FitOptions{}.with_epochs(epochs).with_batch(30).with_checkpoint(file, metadata).with_resume(file));
    } catch (...) {
      CHECK(serialize_model(model) == before);
      CHECK(rng.snapshot().key == rng_before.key);
      CHECK(rng.snapshot().block == rng_before.block);
      throw;
    }
  };
  const std::string meta = "{\"dropout\": \"bbd\"}";
  SECTION("the same run resumes") {
    CHECK_NOTHROW(resume(ModelSpec{"lenet300", "bbd"}, path, meta, 2));
  }
  SECTION("another dropout type: another architecture") {
    CHECK_THROWS_AS(resume(ModelSpec{"lenet300", "sbp"}, path, meta, 2), ShapeError);
    CHECK_THROWS_WITH(resume(ModelSpec{"lenet300", "sbp"}, path, meta, 2),
                      Catch::Contains(path) && Catch::Contains("StructuredBayesianPruning in the model"));
  }
  SECTION("another network") {
    CHECK_THROWS_AS(resume(ModelSpec{"mlp", "bbd"}, path, meta, 2), ShapeError);
  }
  SECTION("other settings (metadata)") {
    CHECK_THROWS_WITH(resume(ModelSpec{"lenet300", "bbd"}, path, "{\"dropout\": \"bbd\", \"p\": 0.3}", 2),
                      Catch::Contains("other settings") && Catch::Contains(path));
  }
  SECTION("another length") {
    CHECK_THROWS_WITH(resume(ModelSpec{"lenet300", "bbd"}, path, meta, 3),
                      Catch::Contains("run of 2 epochs") && Catch::Contains("this run has 3 epochs"));
  }
  SECTION("a flipped byte") {
    std::string bad = good;
    bad[bad.size() / 2] ^= 0x10;
    write_bytes(path + ".bad", bad);
    CHECK_THROWS_AS(resume(ModelSpec{"lenet300", "bbd"}, path + ".bad", meta, 2), DataError);
    CHECK_THROWS_WITH(resume(ModelSpec{"lenet300", "bbd"}, path + ".bad", meta, 2),
                      Catch::Contains("checkpoint '" + path + ".bad'") && Catch::Contains("checksum mismatch"));
  }
  SECTION("a truncated file") {
    write_bytes(path + ".bad", good.substr(0, good.size() - 100));
    CHECK_THROWS_WITH(resume(ModelSpec{"lenet300", "bbd"}, path + ".bad", meta, 2),
                      Catch::Contains("checksum mismatch"));
    write_bytes(path + ".bad", good.substr(0, 5));
    CHECK_THROWS_WITH(resume(ModelSpec{"lenet300", "bbd"}, path + ".bad", meta, 2), Catch::Contains("truncated"));
  }
  SECTION("a model file is not a checkpoint") {
    Rng rng(1);
    save_model(build_model<float>(ModelSpec{"lenet300", "bbd"}, rng), path + ".bad");
    CHECK_THROWS_WITH(resume(ModelSpec{"lenet300", "bbd"}, path + ".bad", meta, 2),
                      Catch::Contains("not a bayesdrop checkpoint"));
  }
  SECTION("a missing file") {
    CHECK_THROWS_WITH(resume(ModelSpec{"lenet300", "bbd"}, path + ".missing", meta, 2),
                      Catch::Contains("cannot open") && Catch::Contains(path + ".missing"));
  }
  SECTION("read_checkpoint_metadata: the run's text, or the same errors") {
    CHECK(read_checkpoint_metadata(path) == meta);
    std::string bad = good;
    bad[bad.size() / 2] ^= 0x10;
    write_bytes(path + ".bad", bad);
    CHECK_THROWS_WITH(read_checkpoint_metadata(path + ".bad"), Catch::Contains("checksum mismatch"));
    CHECK_THROWS_WITH(read_checkpoint_metadata(path + ".missing"), Catch::Contains("cannot open"));
  }
  std::remove((path + ".bad").c_str());
  std::remove(path.c_str());
}

TEST_CASE("a checkpoint that cannot be written leaves the previous one intact", "[training]") {
  const std::string path = temp_path("intact");
  const auto train_set = noise_data(1, 60);
  Rng rng(3);
  auto model = build_model<float>(ModelSpec{"lenet300", "none"}, rng);
  Adam<float> adam({ParamGroup<float>{"all", model.parameters(), 1e-3}});
  CheckpointInfo info;
  info.epochs = 3;
  info.batch = 30;
  save_checkpoint(path, model, adam, rng, info);
  const std::string before = read_bytes(path);
  fit(model, adam, train_set, static_cast<const Dataset<float>*>(nullptr), rng,
      FitOptions{}.with_epochs(1).with_batch(30));
  info.epochs_done = 0;
  SECTION("the temporary file cannot be created (a read-only folder, say)") {
    // A directory where the temporary file should go: opening it for writing fails.
    REQUIRE(std::system(("mkdir -p " + durable_temp_path(path)).c_str()) == 0);
    CHECK_THROWS_WITH(save_checkpoint(path, model, adam, rng, info),
                      Catch::Contains("checkpoint '" + path + "'") && Catch::Contains("cannot write"));
    std::remove(durable_temp_path(path).c_str());
  }
  SECTION("the disk fills up in the middle of the write") {
    // A file-size limit of 4 KiB stands for a full disk: the write fails part way (EFBIG) rather than at the open.
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit tight = old;
    tight.rlim_cur = 4096;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &tight) == 0);
    std::string error;
    try {
      save_checkpoint(path, model, adam, rng, info);
    } catch (const DataError& e) {
      error = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    CHECK_THAT(error, Catch::Contains("checkpoint '" + path + "'") && Catch::Contains("cannot write"));
    CHECK_FALSE(std::ifstream(durable_temp_path(path)).good());  // no temporary file left behind
  }
  CHECK(read_bytes(path) == before);
  std::remove(path.c_str());
}

TEST_CASE("each writer has its own temporary file, and those of writers that are gone are removed", "[training]") {
  const std::string path = temp_path("writers");
  const std::string mine = durable_temp_path(path);
  CHECK(mine == path + ".tmp." + std::to_string(::getpid()));
  // A writer killed during its write (pid 999999999 is beyond any pid Linux gives), the name of older versions, a
  // running writer (pid 1) and this process's own file.
  const std::string dead = path + ".tmp.999999999", old_name = path + ".tmp", running = path + ".tmp.1";
  for (const auto& f : {dead, old_name, running, mine}) write_bytes(f, "partial");
  write_bytes(path + ".tmp.notes", "not a temporary file of a writer");
  CHECK(remove_stale_temps(path) == 2);
  CHECK_FALSE(std::ifstream(dead).good());
  CHECK_FALSE(std::ifstream(old_name).good());
  CHECK(std::ifstream(running).good());
  CHECK(std::ifstream(mine).good());
  CHECK(std::ifstream(path + ".tmp.notes").good());
  for (const auto& f : {running, mine, path + ".tmp.notes"}) std::remove(f.c_str());
}

TEST_CASE("a checkpoint whose optimiser state is not finite is refused, naming the state", "[training]") {
  const std::string path = temp_path("nan-state");
  const auto train_set = noise_data(1, 60);
  Rng rng(3);
  auto model = build_model<float>(ModelSpec{"lenet300", "none"}, rng);
  Adam<float> adam({ParamGroup<float>{"all", model.parameters(), 1e-3}});
  fit(model, adam, train_set, static_cast<const Dataset<float>*>(nullptr), rng,
      FitOptions{}.with_epochs(1).with_batch(30));
  CheckpointInfo info;
  info.epochs = 3;
  info.batch = 30;
  auto state = adam.state();
  REQUIRE(state.size() > 1);
  const std::string name = state[1].name;
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    (*state[1].value)(0, 0) = bad;
    save_checkpoint(path, model, adam, rng, info);
    Rng rng2(3);
    auto model2 = build_model<float>(ModelSpec{"lenet300", "none"}, rng2);
    Adam<float> adam2({ParamGroup<float>{"all", model2.parameters(), 1e-3}});
    const std::string untouched = serialize_model(model2);
    CHECK_THROWS_WITH(
        load_checkpoint(path, model2, adam2, rng2, info),
        Catch::Contains("optimiser state '" + name + "'") && Catch::Contains(std::isnan(bad) ? "NaN" : "infinite"));
    CHECK(serialize_model(model2) == untouched);
  }
  std::remove(path.c_str());
}

TEST_CASE("a checkpoint of format version 1 (the xoshiro generator) still loads and resumes", "[training]") {
  const std::string path = temp_path("version1");
  const auto train_set = noise_data(1, 60);
  auto make = [](std::uint64_t seed) {
    Rng rng(seed);
    return build_model<float>(ModelSpec{"lenet300", "sparsevd"}, rng);
  };
  auto groups = [](Sequential<float>& m) { return std::vector<ParamGroup<float>>{{"all", m.parameters(), 1e-3}}; };
  Rng rng(3);
  auto model = make(3);
  Adam<float> adam(groups(model));
  fit(model, adam, train_set, static_cast<const Dataset<float>*>(nullptr), rng,
      FitOptions{}.with_epochs(1).with_batch(30));
  CheckpointInfo info;
  info.epochs = 3;
  info.batch = 30;
  info.metadata = "{\"dropout\": \"sparsevd\"}";
  const std::string v2 = serialize_checkpoint(model, adam, rng, info);
  CHECK(detail::model_le(v2.data() + 8, 4) == 2);

  std::array<std::uint64_t, 40> words{};
  std::uint64_t sm = 99;
  for (auto& w : words) w = detail::splitmix64(sm);
  const std::string v1 = as_version1(v2, words, 3);

  // Everything but the generator is restored as from the version-2 file; the generator is keyed by splitmix64 folded
  // over the old state's 40 words and its count of buffered outputs, at block 0.
  Rng restored(7);
  auto model2 = make(7);
  Adam<float> adam2(groups(model2));
  const CheckpointInfo got = deserialize_checkpoint(model2, adam2, restored, v1, info);
  CHECK(got.epochs == 3);
  CHECK(got.metadata == info.metadata);
  CHECK(serialize_model(model2) == serialize_model(model));
  CHECK(adam2.steps() == adam.steps());
  std::uint64_t key = 0;
  for (std::uint64_t w : words) {
    std::uint64_t x = key ^ w;
    key = detail::splitmix64(x);
  }
  std::uint64_t x = key ^ 3;
  key = detail::splitmix64(x);
  CHECK(restored.snapshot().key == key);
  CHECK(restored.snapshot().block == 0);
  CHECK(restored.snapshot().buffered == 0);

  // A run resumes from the version-1 file, twice with the same result, and its next checkpoint is of version 2.
  auto resume = [&]() {
    write_bytes(path, v1);
    Rng r(11);
    auto m = make(11);
    Adam<float> a(groups(m));
    const auto history =
        fit(m, a, train_set, static_cast<const Dataset<float>*>(nullptr), r,
            FitOptions{}.with_epochs(3).with_batch(30).with_checkpoint(path, info.metadata).with_resume(path));
    CHECK(history.size() == 3);
    CHECK(detail::model_le(read_bytes(path).data() + 8, 4) == 2);
    return serialize_model(m);
  };
  const std::string once = resume();
  CHECK(resume() == once);
  CHECK(once != serialize_model(model));

  // An old state no xoshiro generator can be in (a lane of zeros) is a corrupt file; unknown versions are refused.
  std::array<std::uint64_t, 40> zero_lane = words;
  for (int k : {2, 10, 18, 26}) zero_lane[std::size_t(k)] = 0;
  CHECK_THROWS_WITH(deserialize_checkpoint(model2, adam2, restored, as_version1(v2, zero_lane, 3), info),
                    Catch::Contains("generator state is invalid") && Catch::Contains("all zero"));
  CHECK_THROWS_WITH(deserialize_checkpoint(model2, adam2, restored, as_version1(v2, words, 9), info),
                    Catch::Contains("generator state is invalid"));
  std::string v3 = v2.substr(0, v2.size() - 4);
  v3[8] = 3;
  const std::uint32_t crc = detail::model_crc(v3);
  for (int k = 0; k < 4; ++k) v3.push_back(static_cast<char>((crc >> (8 * k)) & 0xff));
  CHECK_THROWS_WITH(deserialize_checkpoint(model2, adam2, restored, v3, info),
                    Catch::Contains("format version 3; this build reads versions 1 to 2"));
  std::remove(path.c_str());
}
