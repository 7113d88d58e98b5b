// The programs' helpers (examples/common/): flag validators, the model-file metadata parser, output checks, the
// data-fit check and the divergence watch, tested directly (test_programs.cpp runs the programs themselves).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <system_error>
#include <vector>

#include "flags.hpp"
#include "listing.hpp"
#include "model_metadata.hpp"
#include "outputs.hpp"
#include "provenance.hpp"
#include "run_checks.hpp"
#include "support/mnist.hpp"  // skip_test
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace bd = bayesdrop;
using Catch::Contains;

namespace {

/// The validator's answer to `text`: empty when accepted.
std::string verdict(const CLI::Validator& v, std::string text) {
  return v(text);
}

// Each test's files go into a folder of its own (tests/support/temp_dir.hpp).
struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("bayesdrop-test-helpers-") {}
};

}  // namespace

TEST_CASE("program helpers: real-number flags refuse nan, inf and values outside their range", "[programs]") {
  const auto lr = flags::real(0, HUGE_VAL, true);
  CHECK(lr.get_description() == "(0, inf)");
  CHECK(verdict(lr, "1e-3").empty());
  CHECK(verdict(lr, "1e6").empty());
  for (const char* bad : {"nan", "NaN", "inf", "-inf", "0", "-1", "", "1e-3x", "abc", "1e400"}) {
    INFO(bad);
    CHECK_FALSE(verdict(lr, bad).empty());
  }
  const auto p = flags::real(0, 0.999);
  CHECK(p.get_description() == "[0, 0.999]");
  CHECK(verdict(p, "0").empty());
  CHECK(verdict(p, "0.999").empty());
  CHECK_THAT(verdict(p, "1"), Contains("[0, 0.999]"));
  CHECK_FALSE(verdict(p, "nan").empty());
}

TEST_CASE("program helpers: whole-number and seed flags refuse what would wrap, clamp or truncate", "[programs]") {
  const auto epochs = flags::whole(1, 100000);
  CHECK(epochs.get_description() == "[1, 100000]");
  CHECK(verdict(epochs, "1").empty());
  for (const char* bad : {"0", "100001", "1.5", "1e3", "-1", "99999999999999999999", ""}) {
    INFO(bad);
    CHECK_FALSE(verdict(epochs, bad).empty());
  }
  const auto seed = flags::seed();
  CHECK(verdict(seed, "0").empty());
  CHECK(verdict(seed, "18446744073709551615").empty());
  for (const char* bad : {"-1", "+1", "18446744073709551616", "99999999999999999999999", "1.0", "0x10", ""}) {
    INFO(bad);
    CHECK_FALSE(verdict(seed, bad).empty());
  }
}

TEST_CASE("program helpers: model metadata is checked field by field", "[programs]") {
  const auto ok = model_metadata::parse(R"({"model": "lenet5", "dropout": "bbd", "p_input": 0, "epochs": 3})", "f");
  CHECK(ok.spec.model == "lenet5");
  CHECK(ok.spec.dropout == "bbd");
  CHECK(ok.spec.p_input == 0);
  CHECK(ok.spec.p_hidden == bd::ModelSpec{}.p_hidden);  // absent: the default
  CHECK(ok.metadata.at("epochs") == 3);
  const std::pair<const char*, const char*> bad[] = {
      {"", "does not name its architecture"},
      {"[1, 2]", "does not name its architecture"},
      {R"({"model": "mlp"})", "does not name its architecture"},
      {R"({"model": 5, "dropout": "none"})", "\"model\""},
      {R"({"model": null, "dropout": "none"})", "\"model\""},
      {R"({"model": "mlp", "dropout": {"a": 1}})", "\"dropout\""},
      {R"({"model": "mlp", "dropout": "dropconnect"})", "\"dropout\""},
      {R"({"model": "mlp", "dropout": "none", "p_input": "high"})", "\"p_input\""},
      {R"({"model": "mlp", "dropout": "none", "p_hidden": -0.5})", "\"p_hidden\""},
      {R"({"model": "mlp", "dropout": "none", "p_hidden": 1e999})", "\"p_hidden\""},  // beyond double's range
      {R"({"model": "mlp", "dropout": "none", "epochs": 2.5})", "\"epochs\""},
      {R"({"model": "mlp", "dropout": "none", "epochs": "60"})", "\"epochs\""},
  };
  for (const auto& [text, field] : bad) {
    INFO(text);
    REQUIRE_THROWS_AS(model_metadata::parse(text, "some.bdm"), bd::DataError);
    REQUIRE_THROWS_WITH(model_metadata::parse(text, "some.bdm"), Contains("some.bdm") && Contains(field));
  }
}

TEST_CASE("program helpers: outputs are checked before the work and every write is checked", "[programs]") {
  TempDir dir;
  const std::string file = dir.file("plain");
  std::ofstream(file) << "x";
  SECTION("a parent that is a regular file") {
    REQUIRE_THROWS_AS(outputs::check_output_file(file + "/r.json", "--report"), bd::InvalidArgument);
    REQUIRE_THROWS_WITH(outputs::check_output_file(file + "/r.json", "--report"),
                        Contains("--report") && Contains(file));
    REQUIRE_THROWS_WITH(outputs::check_output_folder(file + "/pics", "--pictures"), Contains(file));
    REQUIRE_THROWS_WITH(outputs::check_replaced_file(file + "/m.bdm", "--save"), Contains(file));
    REQUIRE_THROWS_WITH(outputs::check_output_folder(file, "--pictures"), Contains(file));
  }
  SECTION("missing folders are created; no file is left behind by the check") {
    const std::string report = dir.file("a/b/r.json");
    outputs::check_output_file(report, "--report");
    CHECK(fs::is_directory(dir.file("a/b")));
    CHECK_FALSE(fs::exists(report));
    outputs::check_replaced_file(dir.file("c/m.bdm"), "--save");
    CHECK(fs::is_directory(dir.file("c")));
    CHECK(fs::is_empty(dir.file("c")));
    outputs::check_output_folder(dir.file("pics/x"), "--pictures");
    CHECK(fs::is_empty(dir.file("pics/x")));
  }
  SECTION("an existing file is kept as it is") {
    outputs::check_output_file(file, "--report");
    std::ifstream in(file);
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "x");
  }
  SECTION("a directory is not a file") {
    REQUIRE_THROWS_WITH(outputs::check_output_file(dir.path.string(), "--report"), Contains("is a directory"));
    REQUIRE_THROWS_WITH(outputs::check_replaced_file(dir.path.string(), "--save"), Contains("not a regular file"));
  }
  SECTION("a write to a full disk fails, naming the path") {
    if (!fs::exists("/dev/full")) {
      bayesdrop::test::skip_test("no /dev/full on this system");
    }
    outputs::check_output_file("/dev/full", "--report");  // opening works: only the write can tell
    REQUIRE_THROWS_AS(outputs::write_file("/dev/full", std::string(10, 'x'), "--report"), bd::DataError);
    REQUIRE_THROWS_WITH(outputs::write_file("/dev/full", "x", "--report"),
                        Contains("/dev/full") && Contains("--report"));
  }
}

TEST_CASE("program helpers: the divergence watch warns once per kind, and not for a run that learns", "[programs]") {
  auto epoch = [](int e, double ce, double test_accuracy) {
    bd::EpochLog log;
    log.epoch = e;
    log.train.cross_entropy = ce;
    log.test.accuracy = test_accuracy;
    log.test.examples = 100;
    return log;
  };
  run_checks::DivergenceWatch learns;
  CHECK(learns.check(epoch(1, 0.5, 0.9)).empty());
  CHECK(learns.check(epoch(2, 0.2, 0.95)).empty());
  CHECK(learns.warnings().empty());

  run_checks::DivergenceWatch huge;
  CHECK(huge.check(epoch(1, 3e7, 0.098)).size() == 2);  // worse than guessing, and at chance
  CHECK(huge.check(epoch(2, 4e7, 0.1)).empty());        // said once
  CHECK(huge.warnings().size() == 2);
  CHECK_THAT(huge.warnings()[0], Contains("epoch 1") && Contains("diverged"));

  run_checks::DivergenceWatch rises;
  CHECK(rises.check(epoch(1, 0.1, 0.97)).empty());
  CHECK(rises.check(epoch(2, 1.5, 0.6)).size() == 1);
  run_checks::DivergenceWatch nan;
  CHECK(nan.check(epoch(1, std::nan(""), 0.5)).size() == 1);
}

TEST_CASE("program helpers: images must fit the model, named with their shape", "[programs]") {
  bd::Rng rng(1);
  const auto mlp = bd::build_model<float>(bd::ModelSpec{"mlp", "none"}, rng);
  const auto lenet5 = bd::build_model<float>(bd::ModelSpec{"lenet5", "none"}, rng);
  bd::Dataset<float> data;
  data.shape = {1, 28, 28};
  data.images.resize(784, 2);
  CHECK_NOTHROW(run_checks::check_images_fit(data, "a", mlp, "mlp"));
  CHECK_NOTHROW(run_checks::check_images_fit(data, "a", lenet5, "lenet5"));
  data.shape = {1, 16, 49};
  CHECK_NOTHROW(run_checks::check_images_fit(data, "a", mlp, "mlp"));  // 784 pixels: the MLP reads them
  REQUIRE_THROWS_AS(run_checks::check_images_fit(data, "x-images", lenet5, "lenet5"), bd::DataError);
  REQUIRE_THROWS_WITH(run_checks::check_images_fit(data, "x-images", lenet5, "lenet5"),
                      Contains("x-images") && Contains("16x49") && Contains("28x28"));
  data.shape = {1, 32, 32};
  data.images.resize(1024, 2);
  REQUIRE_THROWS_WITH(run_checks::check_images_fit(data, "y-images", mlp, "mlp"),
                      Contains("y-images") && Contains("32x32") && Contains("784"));
}

TEST_CASE("program helpers: outputs and inputs are compared by identity, not by spelling", "[programs][edges]") {
  TempDir dir;
  const std::string a = dir.file("a"), hard = dir.file("hard"), link = dir.file("link"), dangling = dir.file("dl");
  std::ofstream(a) << "x";
  fs::create_hard_link(a, hard);
  fs::create_symlink("a", link);              // relative to the link's folder
  fs::create_symlink("later/new", dangling);  // its target does not exist yet
  CHECK(outputs::same_file(a, "--save", hard, "--data"));
  CHECK(outputs::same_file(link, "--save", a, "--data"));
  CHECK(outputs::same_file(dir.path.string() + "/./a", "--save", a, "--data"));
  CHECK(outputs::same_file(dangling, "--save", dir.file("later/../later/new"), "--report"));
  CHECK_FALSE(outputs::same_file(a, "--save", dir.file("b"), "--report"));
  CHECK_FALSE(outputs::same_file(dir.file("b"), "--save", dir.file("c"), "--report"));
  SECTION("relative paths of files not written yet") {
    const fs::path cwd = fs::current_path();
    fs::current_path(dir.path);
    const bool same = outputs::same_file("new.json", "--save", "./new.json", "--report");
    const bool other = outputs::same_file("new.json", "--save", "sub/new.json", "--report");
    fs::current_path(cwd);
    CHECK(same);
    CHECK_FALSE(other);
  }
  SECTION("check_outputs_apart names both flags, and lets an allowed pair through") {
    REQUIRE_THROWS_AS(outputs::check_outputs_apart({{"--save", hard}}, {{"--init-from", a}}), bd::InvalidArgument);
    REQUIRE_THROWS_WITH(outputs::check_outputs_apart({{"--save", dir.file("o")}, {"--report", dir.file("./o")}}, {}),
                        Contains("--save") && Contains("--report") && Contains("same file"));
    CHECK_NOTHROW(outputs::check_outputs_apart({{"--checkpoint", a}, {"--save", ""}}, {{"--resume", link}},
                                               {{"--checkpoint", "--resume"}}));
  }
}

namespace {
// A family registered only here, without factories (it puts nothing into a network): enough to be listed.
const bayesdrop::DropoutFamilyRegistrar listed_family(
    bayesdrop::DropoutFamily("listedinatest", "a family registered in a test file").with_start("bbd"));
}  // namespace

TEST_CASE("program helpers: a family registered once appears in the listing scripts read", "[programs]") {
  const auto list = trainer::dropout_listing();
  bool seen = false;
  for (const auto& f : list) {
    if (f.at("name") != "listedinatest") continue;
    seen = true;
    CHECK(f.at("help") == "a family registered in a test file");
    CHECK(f.at("starts_from") == "bbd");
    CHECK(f.at("gates") == false);
  }
  CHECK(seen);
  CHECK_THAT(trainer::print_listing(list, false), Catch::Contains("\nlistedinatest\n"));
  // --list-dropouts --json, as the scripts read it: the same family with every field they use
  const auto printed = nlohmann::json::parse(trainer::print_listing(list, true));
  REQUIRE(printed.is_array());
  const auto it =
      std::find_if(printed.begin(), printed.end(), [](const auto& f) { return f.at("name") == "listedinatest"; });
  REQUIRE(it != printed.end());
  for (const char* field : {"name", "help", "gates", "dense", "conv", "starts_from"}) CHECK(it->contains(field));
  CHECK(it->at("dense") == false);
  CHECK(it->at("conv") == false);
  // the registry's families, all of them, in its order
  CHECK(list.size() == bayesdrop::dropout_names().size());
  for (std::size_t i = 0; i < list.size(); ++i) CHECK(list[i].at("name") == bayesdrop::dropout_names()[i]);
}

TEST_CASE("program helpers: provenance: quotes the command line so that a shell reads back the same arguments",
          "[programs][provenance]") {
  const std::vector<std::string> args = {"prog",   "--plain=1,2", "with space", "it's",      "",
                                         "$HOME",  "a\"b",        "tab\tx",     "new\nline", "*",
                                         "`date`", "semi;colon",  "caf\xc3\xa9"};
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  const std::string line = provenance::command_line(int(argv.size()), argv.data());
  CHECK(line.rfind("prog --plain=1,2 'with space' 'it'\\''s' '' '$HOME' ", 0) == 0);
  // The shell's reading of the line: each argument between < and >.
  std::FILE* p = popen(("set -- " + line + "; for a; do printf '<%s>' \"$a\"; done").c_str(), "r");
  REQUIRE(p != nullptr);
  std::string read_back;
  char buf[256];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) read_back.append(buf, n);
  REQUIRE(pclose(p) == 0);
  std::string expected;
  for (const auto& a : args) expected += "<" + a + ">";
  CHECK(read_back == expected);
}

TEST_CASE("program helpers: provenance: the version, the date in UTC and the machine", "[programs][provenance]") {
  const provenance::Start s = provenance::start(0, nullptr);
  CHECK(s.command_line.empty());
  CHECK(std::regex_match(s.date, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")));
  const auto j = provenance::json(s, 3);
  CHECK(j.at("version") == bayesdrop::version());
  CHECK(j.at("threads") == 3);
  CHECK(j.at("date") == s.date);
  CHECK_FALSE(j.at("machine").at("cpu").get<std::string>().empty());
  CHECK_FALSE(j.at("machine").at("os").get<std::string>().empty());
  CHECK(j.at("commit") == provenance::commit());
  CHECK_THAT(provenance::version_text("bayesdrop-mnist"),
             Catch::StartsWith(std::string("bayesdrop-mnist ") + bayesdrop::version() + " (commit "));
}
