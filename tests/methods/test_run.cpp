// train_run (methods/run.hpp): a pretrained SBP run, the same run stopped and resumed in each phase, the trainer's
// CLI and the README's example program all train the same parameters, bit for bit, on a small IDX data set; a warm
// start copies the file's weights; checkpoints of another run are refused.
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "bayesdrop/bayesdrop.hpp"
#include "support/idx_files.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace bd = bayesdrop;
using Catch::Contains;

namespace {

// Each test's files go into a folder of its own (tests/support/temp_dir.hpp).
struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("bayesdrop-test-run-") {}
};

int run_program(const std::string& command) {
  const int w = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(w) ? WEXITSTATUS(w) : 128;
}

// The parameters and state of a model file, without its metadata (which names the program that wrote it).
std::string parameters_of(const std::string& path) {
  return bd::serialize_model(bd::load_model_file<float>(path));
}

// The trainer's `--dropout sbp --pretrain 2 --epochs 2 --threads 1`, as a RunSpec.
bd::RunSpec sbp_spec() {
  bd::RunSpec spec;
  spec.model = {"mlp", "sbp"};
  spec.recipe = bd::recipe_for_dropout("sbp", "mlp");
  spec.recipe.epochs = 2;
  spec.recipe.pretrain_epochs = 2;
  spec.threads = 1;
  return spec;
}

struct Data {
  TempDir dir;
  bd::Dataset<float> train, test;
  Data() {
    test_data::write_data(dir.path.string());
    train = bd::load_mnist<float>(dir.path.string(), bd::Split::train);
    test = bd::load_mnist<float>(dir.path.string(), bd::Split::test);
  }
};

}  // namespace

TEST_CASE("train_run: a pretrained SBP run equals the trainer's CLI and the README's program, resumed or not",
          "[run]") {
  Data data;
  const bd::RunSpec spec = sbp_spec();
  bd::RunResult<float> whole = bd::train_run<float>(spec, data.train, &data.test);
  REQUIRE(whole.finished());
  REQUIRE(whole.history.size() == 2);
  const std::string library = data.dir.file("library.model");
  bd::save_model(whole.model, spec.model, library);
  CHECK(bd::read_model_spec(library).dropout == "sbp");

  SECTION("stopped inside the pretraining and after the first SBP epoch, then resumed") {
    for (const int stop : {1, 3}) {
      INFO("stop after epoch " << stop);
      bd::RunSpec part = spec;
      part.checkpoint = data.dir.file("run.ckpt");
      part.stop_after = stop;
      const auto first = bd::train_run<float>(part, data.train, &data.test);
      CHECK_FALSE(first.finished());
      CHECK(first.epochs_done == stop);
      CHECK(bd::checkpoint_phase(bd::read_checkpoint_metadata(part.checkpoint)).first ==
            (stop <= 2 ? bd::RunPhase::pretraining : bd::RunPhase::method));
      bd::RunSpec rest = spec;
      rest.checkpoint = part.checkpoint;
      rest.resume = part.checkpoint;
      // The resumed session trains only the epochs the first one left, in each phase.
      int pretrain_epochs = 0, method_epochs = 0;
      bd::RunCallbacks<float> count;
      count.on_pretrain_epoch = [&](const bd::EpochLog&) { ++pretrain_epochs; };
      count.on_epoch = [&](const bd::EpochLog&) { ++method_epochs; };
      const auto second = bd::train_run<float>(rest, data.train, &data.test, count);
      CHECK(pretrain_epochs == std::max(0, 2 - stop));
      CHECK(method_epochs == std::min(2, 4 - stop));
      REQUIRE(second.finished());
      CHECK(second.history.size() == 2);
      CHECK(bd::serialize_model(second.model) == bd::serialize_model(whole.model));
      fs::remove(part.checkpoint);
    }
  }
  SECTION("the trainer's CLI, same flags") {
    const std::string cli = data.dir.file("cli.model");
    REQUIRE(run_program("'" BAYESDROP_MNIST_EXE "' --data '" + data.dir.path.string() +
                        "' --dropout sbp --pretrain 2 --epochs 2 --threads 1 --quiet --save '" + cli + "'") == 0);
    CHECK(parameters_of(cli) == parameters_of(library));
  }
  SECTION("the README's program: written from the README alone, loading its model without the architecture") {
    const std::string example = data.dir.file("example.model");
    REQUIRE(run_program("'" BAYESDROP_PRETRAINED_SBP_EXE "' '" + data.dir.path.string() + "' '" + example + "'") == 0);
    CHECK(parameters_of(example) == parameters_of(library));
  }
  SECTION("resume_if_exists starts afresh without a checkpoint; resume without it throws") {
    bd::RunSpec again = spec;
    again.resume = data.dir.file("none.ckpt");
    again.resume_if_exists = true;
    CHECK(bd::serialize_model(bd::train_run<float>(again, data.train, &data.test).model) ==
          bd::serialize_model(whole.model));
    again.resume_if_exists = false;
    CHECK_THROWS_AS(bd::train_run<float>(again, data.train, &data.test), bd::DataError);
  }
}

TEST_CASE("train_run: a checkpoint of other settings is refused, naming both", "[run]") {
  Data data;
  bd::RunSpec spec = sbp_spec();
  spec.recipe.pretrain_epochs = 0;
  spec.checkpoint = data.dir.file("a.ckpt");
  spec.checkpoint_settings = "seed 1";
  spec.stop_after = 1;
  bd::train_run<float>(spec, data.train, &data.test);
  bd::RunSpec other = spec;
  other.resume = spec.checkpoint;
  other.checkpoint_settings = "seed 2";
  CHECK_THROWS_WITH(bd::train_run<float>(other, data.train, &data.test),
                    Contains("seed 1") && Contains("seed 2") && Contains(spec.checkpoint));
  // A method checkpoint resumed by a run with pretraining: refused by the same comparison (the spec differs).
  SECTION("a pretraining checkpoint resumed without pretraining is refused, saying why") {
    bd::RunSpec pre = sbp_spec();
    pre.checkpoint = data.dir.file("p.ckpt");
    pre.stop_after = 1;
    bd::train_run<float>(pre, data.train, &data.test);
    bd::RunSpec without = sbp_spec();
    without.recipe.pretrain_epochs = 0;
    without.resume = pre.checkpoint;
    CHECK_THROWS_WITH(bd::train_run<float>(without, data.train, &data.test), Contains("pretraining"));
  }
}

TEST_CASE("train_run: a warm start takes the file's weights; bad specs are refused", "[run]") {
  Data data;
  bd::RunSpec plain;
  plain.model = {"mlp", "none"};
  plain.recipe = bd::Recipe::assignment().with_constant_lr();
  plain.recipe.epochs = 1;
  plain.threads = 1;
  const auto base = bd::train_run<float>(plain, data.train, &data.test);
  const std::string file = data.dir.file("plain.model");
  bd::save_model(base.model, plain.model, file);

  bd::RunSpec gated;
  gated.model = {"mlp", "bbd"};
  gated.recipe = bd::recipe_for_dropout("bbd", "mlp");
  gated.recipe.epochs = 1;
  gated.threads = 1;
  gated.init_from = file;
  bool started = false;
  bd::RunCallbacks<float> cb;
  cb.on_init_from = [&](const bd::ModelSpec& from, bool gates) {
    started = true;
    CHECK(from.dropout == "none");
    CHECK_FALSE(gates);
  };
  cb.on_epoch_start = [&](int epoch, const std::vector<double>&, const std::vector<bd::Index>&) {
    CHECK(epoch == 1);
    CHECK(started);
  };
  bd::train_run<float>(gated, data.train, &data.test, cb);
  CHECK(started);
  // The copy itself: every weight and bias of the gated network is the file's, in order, before any step.
  bd::Rng rng(1);
  auto fresh = bd::build_model<float>(gated.model, rng);
  CHECK(bd::warm_start(fresh, file).dropout == "none");
  const auto roles = {bd::ParamRole::weight, bd::ParamRole::bias};
  const auto mine = bd::with_roles(fresh.parameters(), roles);
  auto saved = bd::load_model_file<float>(file);
  const auto theirs = bd::with_roles(saved.parameters(), roles);
  REQUIRE(mine.size() == theirs.size());
  for (std::size_t k = 0; k < mine.size(); ++k) CHECK(mine[k]->value == theirs[k]->value);

  bd::RunSpec bad = gated;
  bad.recipe.pretrain_epochs = 2;
  CHECK_THROWS_WITH(bd::train_run<float>(bad, data.train, &data.test), Contains("init_from"));
  bad = gated;
  bad.stop_after = 1;
  CHECK_THROWS_WITH(bd::train_run<float>(bad, data.train, &data.test), Contains("checkpoint"));
}
