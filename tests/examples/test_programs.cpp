// The two programs run as a user runs them, on small IDX files the test writes: bad outputs, foreign model files,
// bad flags, diverging runs and data that does not fit the model must end in a non-zero exit code with a message
// naming the path, field or flag, and before any training where the problem can be seen before it.
//
// The binaries' paths come from CMake (BAYESDROP_MNIST_EXE, BAYESDROP_UNCERTAINTY_EXE); environment variables of the
// same names override them (to run these tests against another build).
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <string>
#include <system_error>
#include <vector>

#include "bayesdrop/bayesdrop.hpp"
#include "provenance.hpp"
#include "support/idx_files.hpp"
#include "support/mnist.hpp"  // skip_test
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace bd = bayesdrop;
using Catch::Contains;

namespace {

using test_data::write_data;

std::string exe(const char* variable, const char* built) {
  const char* over = std::getenv(variable);
  return over && *over ? over : built;
}
const std::string mnist_exe = exe("BAYESDROP_MNIST_EXE", BAYESDROP_MNIST_EXE);
const std::string uncertainty_exe = exe("BAYESDROP_UNCERTAINTY_EXE", BAYESDROP_UNCERTAINTY_EXE);

// Each test's files go into a folder of its own (tests/support/temp_dir.hpp).
struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("bayesdrop-test-programs-") {}
};

struct Run {
  int status = -1;     ///< the exit code; 128 + n for a signal n (an abort is 134)
  std::string output;  ///< stdout and stderr
};

/// Runs `args` (already quoted where needed) through the shell with stdout and stderr captured.
Run run(const std::string& program, const std::string& args) {
  const std::string cmd = "'" + program + "' " + args + " 2>&1";
  Run r;
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int w = pclose(p);
  r.status = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
  INFO(cmd);
  return r;
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

/// A model file of an untrained mlp without dropout, with the given metadata; `poison` puts a NaN in a weight.
void write_model(const std::string& path, const std::string& metadata, bool poison = false) {
  bd::Rng rng(3);
  auto model = bd::build_model<float>(bd::ModelSpec{"mlp", "none"}, rng);
  if (poison) model.parameters()[0]->value(3, 2) = std::numeric_limits<float>::quiet_NaN();
  bd::save_model(model, path, metadata);
}

const std::string good_metadata = R"({"model": "mlp", "dropout": "none", "p_input": 0.2, "p_hidden": 0.5})";

/// Whether two model files' first weight tensors differ (two runs that should train other weights).
bool first_weights_differ(const std::string& a, const std::string& b) {
  auto ma = bd::load_model_file<float>(a), mb = bd::load_model_file<float>(b);
  return ma.parameters()[0]->value != mb.parameters()[0]->value;
}

/// The output shows no training epoch and no evaluation: the run stopped before the work.
void require_no_work(const Run& r) {
  CHECK_FALSE(Contains("train: epoch").match(r.output));
  CHECK_FALSE(Contains("test accuracy").match(r.output));
  CHECK_FALSE(Contains("reliability").match(r.output));
}

}  // namespace

TEST_CASE("programs: an output whose folder cannot exist fails before any work, naming the path", "[programs]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string blocker = dir.file("a-file");
  std::ofstream(blocker) << "not a folder";
  const std::string inside = blocker + "/out";
  const std::string train = "--data " + quoted(data) + " --epochs 1 --quiet ";
  for (const std::string flag : {"--report", "--save", "--pictures"}) {
    INFO(flag);
    const Run r = run(mnist_exe, train + flag + " " + quoted(inside));
    CHECK(r.status != 0);
    CHECK(r.status < 128);
    CHECK_THAT(r.output, Contains(flag) && Contains(blocker));
    require_no_work(r);
  }
  const std::string model = dir.file("m.bdm");
  write_model(model, good_metadata);
  const std::string evaluate =
      "--load " + quoted(model) + " --data " + quoted(data) + " --ood-data " + quoted(data) + " --mc 2 ";
  for (const std::string flag : {"--report"}) {
    INFO(flag);
    const Run r = run(uncertainty_exe, evaluate + flag + " " + quoted(inside));
    CHECK(r.status != 0);
    CHECK(r.status < 128);
    CHECK_THAT(r.output, Contains(flag) && Contains(blocker));
    require_no_work(r);
  }
  SECTION("--save onto a directory is refused before training, and the directory stays") {
    const Run r = run(mnist_exe, train + "--save " + quoted(dir.file("data")));
    CHECK(r.status != 0);
    CHECK_THAT(r.output, Contains("--save") && Contains("not a regular file"));
    require_no_work(r);
    CHECK(fs::is_directory(data));
  }
}

TEST_CASE("programs: missing output folders are created, and the outputs written", "[programs]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string report = dir.file("new/deeper/report.json"), model = dir.file("models/m.bdm");
  const Run r = run(mnist_exe, "--data " + quoted(data) + " --epochs 1 --quiet --report " + quoted(report) +
                                   " --save " + quoted(model));
  INFO(r.output);
  REQUIRE(r.status == 0);
  const auto json = nlohmann::json::parse(std::ifstream(report));
  CHECK(json.at("epochs") == 1);
  CHECK_NOTHROW(bd::read_model_metadata(model));
}

TEST_CASE("programs: a report that cannot be written (a full disk) fails the run, naming the path", "[programs]") {
  if (!fs::exists("/dev/full")) {
    bayesdrop::test::skip_test("no /dev/full on this system");
  }
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  Run r = run(mnist_exe, "--data " + quoted(data) + " --epochs 1 --quiet --report /dev/full");
  CHECK(r.status != 0);
  CHECK(r.status < 128);
  CHECK_THAT(r.output, Contains("--report") && Contains("/dev/full"));

  const std::string model = dir.file("m.bdm");
  write_model(model, good_metadata);
  r = run(uncertainty_exe, "--load " + quoted(model) + " --data " + quoted(data) + " --ood-data " + quoted(data) +
                               " --mc 2 --report /dev/full");
  CHECK(r.status != 0);
  CHECK(r.status < 128);
  CHECK_THAT(r.output, Contains("--report") && Contains("/dev/full"));
}

// The library says what MNIST is and where it looked (bayesdrop/io/mnist.hpp); the trainer adds how to download it
// in its own terms: its script and its flag.
TEST_CASE("programs: missing data says how to get MNIST, naming the script and --data", "[programs]") {
  TempDir dir;
  const std::string absent = dir.file("no-such-folder");
  Run r = run(mnist_exe, "--data " + quoted(absent) + " --epochs 1 --quiet");
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains(absent) && Contains("train-images-idx3-ubyte") && Contains("scripts/fetch-mnist.sh") &&
                           Contains("--data DIR"));
  require_no_work(r);

  const std::string half = dir.file("half");  // the training split only
  write_data(half);
  fs::remove(fs::path(half) / "t10k-images-idx3-ubyte");
  r = run(mnist_exe, "--data " + quoted(half) + " --epochs 1 --quiet");
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("t10k-images-idx3-ubyte") && Contains("scripts/fetch-mnist.sh"));
  require_no_work(r);
}

TEST_CASE("programs: a model file with a valid checksum but foreign metadata is an error naming the field",
          "[programs]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  struct Case {
    std::string metadata, field;
  };
  const std::vector<Case> cases = {
      {R"({"model": 5, "dropout": "none"})", "\"model\""},
      {R"({"model": "mlp", "dropout": ["bbd"]})", "\"dropout\""},
      {R"({"model": "resnet", "dropout": "none"})", "\"model\""},
      {R"({"model": "mlp", "dropout": "none", "p_input": "high"})", "\"p_input\""},
      {R"({"model": "mlp", "dropout": "none", "p_hidden": 7})", "\"p_hidden\""},
      {R"({"model": "mlp", "dropout": "none", "epochs": -3})", "\"epochs\""},
  };
  for (const auto& c : cases) {
    INFO(c.metadata);
    const std::string model = dir.file("foreign.bdm");
    write_model(model, c.metadata);
    Run r = run(mnist_exe, "--load " + quoted(model) + " --data " + quoted(data) + " --quiet");
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains(model) && Contains(c.field));
    r = run(uncertainty_exe, "--load " + quoted(model) + " --data " + quoted(data) + " --ood-data " + quoted(data));
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains(model) && Contains(c.field));
  }
}

TEST_CASE("programs: a model with NaN weights is refused at load by both programs", "[programs]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string model = dir.file("nan.bdm");
  write_model(model, good_metadata, true);
  Run r = run(mnist_exe, "--load " + quoted(model) + " --data " + quoted(data) + " --quiet");
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains(model) && Contains("NaN"));
  CHECK_FALSE(Contains("test accuracy").match(r.output));
  r = run(uncertainty_exe, "--load " + quoted(model) + " --data " + quoted(data) + " --ood-data " + quoted(data));
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains(model) && Contains("NaN"));
}

TEST_CASE("programs: flags out of range or not finite are refused, naming the flag", "[programs]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string base = "--data " + quoted(data) + " --epochs 1 --quiet ";
  const std::vector<std::pair<std::string, std::string>> bad = {{"--lr", "nan"},
                                                                {"--lr-noise", "nan"},
                                                                {"--weight-decay", "nan"},
                                                                {"--lr", "inf"},
                                                                {"--lr", "0"},
                                                                {"--weight-decay", "-1"},
                                                                {"--p", "nan"},
                                                                {"--p-input", "nan"},
                                                                {"--seed", "-1"},
                                                                {"--seed", "18446744073709551616"},
                                                                {"--seed", "99999999999999999999999"},
                                                                {"--epochs", "0"},
                                                                {"--batch", "0"},
                                                                {"--threads", "0"},
                                                                {"--pretrain", "-1"},
                                                                {"--adam-eps", "0"},
                                                                {"--dense-init-std", "0"},
                                                                {"--dense-init-std", "nan"},
                                                                {"--dense-init-std", "-0.01"}};
  for (const auto& [flag, value] : bad) {
    INFO(flag << " " << value);
    const Run r = run(mnist_exe, base + flag + " " + value);
    CHECK(r.status != 0);
    CHECK(r.status < 128);
    CHECK_THAT(r.output, Contains(flag + ":"));
    CHECK(r.output.size() < 300);  // readable bounds, not a 309-digit number
    require_no_work(r);
  }
  const std::string model = dir.file("m.bdm");
  write_model(model, good_metadata);
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--seed", "-1"}, {"--seed", "18446744073709551616"}, {"--mc", "0"}, {"--rotation-digit", "10"}}) {
    INFO(flag << " " << value);
    const Run r = run(uncertainty_exe, "--load " + quoted(model) + " " + flag + " " + value);
    CHECK(r.status != 0);
    CHECK(r.status < 128);
    CHECK_THAT(r.output, Contains(flag + ":"));
  }
  SECTION("the largest seed is taken as it is") {
    const Run r = run(mnist_exe, base + "--seed 18446744073709551615");
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains("seed 18446744073709551615"));
  }
}

TEST_CASE("programs: --list-dropouts and --list-models print the registry's families and the zoo's networks",
          "[programs]") {
  const Run text = run(mnist_exe, "--list-dropouts");
  REQUIRE(text.status == 0);
  for (const char* family : {"none", "sparsevd", "bbd", "dbb", "vib", "gd", "l0"}) {
    CHECK_THAT(text.output, Contains(std::string(family) + "\n"));
  }
  const Run json = run(mnist_exe, "--list-dropouts --json");
  REQUIRE(json.status == 0);
  const auto list = nlohmann::json::parse(json.output);
  REQUIRE(list.is_array());
  std::size_t found = 0;
  for (const auto& f : list) {
    if (f.at("name") == "dbb") {
      CHECK(f.at("starts_from") == "bbd");
      ++found;
    }
    if (f.at("name") == "sparsevd") {
      CHECK((f.at("dense") == true && f.at("gates") == false));
      ++found;
    }
  }
  CHECK(found == 2);
  const Run models = run(mnist_exe, "--list-models");
  CHECK(models.status == 0);
  CHECK(models.output == "mlp\nlenet300\nlenet5\nlenet5-same\nlenet5-bias-after-gate\nlenet5-same-bias-after-gate\n");
  CHECK(run(mnist_exe, "--json").status == 2);
  CHECK(run(mnist_exe, "--list-dropouts --list-models").status == 2);
}

TEST_CASE("programs: --help shows the valid range of every numeric flag", "[programs]") {
  auto help_line = [](const std::string& help, const std::string& flag) {
    const auto at = help.find("  " + flag + " ");
    REQUIRE(at != std::string::npos);
    return help.substr(at, help.find('\n', at) - at);
  };
  const Run m = run(mnist_exe, "--help");
  REQUIRE(m.status == 0);
  for (const char* flag : {"--p", "--p-input", "--epochs", "--batch", "--lr", "--lr-noise", "--weight-decay",
                           "--pretrain", "--seed", "--threads"}) {
    const std::string line = help_line(m.output, flag);
    INFO(line);
    CHECK((Contains(":[").match(line) || Contains(":(").match(line)));
  }
  const Run u = run(uncertainty_exe, "--help");
  REQUIRE(u.status == 0);
  for (const char* flag : {"--mc", "--seed", "--threads", "--rotation-digit"}) {
    const std::string line = help_line(u.output, flag);
    INFO(line);
    CHECK((Contains(":[").match(line) || Contains(":(").match(line)));
  }
}

TEST_CASE("programs: a run that diverges says so on stderr and in the report's warnings", "[programs]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string report = dir.file("r.json");
  const std::string base = "--data " + quoted(data) + " --epochs 2 --quiet --report " + quoted(report);
  const Run bad = run(mnist_exe, base + " --lr 1e6");
  INFO(bad.output);
  CHECK_THAT(bad.output, Contains("warning") && Contains("diverged"));
  const auto json = nlohmann::json::parse(std::ifstream(report));
  REQUIRE(json.at("warnings").is_array());
  CHECK_FALSE(json.at("warnings").empty());

  const Run good = run(mnist_exe, base);
  INFO(good.output);
  REQUIRE(good.status == 0);
  CHECK_FALSE(Contains("warning").match(good.output));
  const auto ok = nlohmann::json::parse(std::ifstream(report));
  CHECK(ok.at("warnings").empty());
  CHECK(ok.at("test_accuracy").get<double>() > 0.5);  // the data are learnable: a quiet run did learn
}

TEST_CASE("programs: images that do not fit the model are refused before training, naming the file and shapes",
          "[programs]") {
  TempDir dir;
  struct Case {
    std::string name;
    int h, w, test_h, test_w;
    std::string model, file, shape;
  };
  const std::vector<Case> cases = {
      {"32x32", 32, 32, 32, 32, "mlp", "train-images-idx3-ubyte", "32x32"},
      {"test 32x32", 28, 28, 32, 32, "mlp", "t10k-images-idx3-ubyte", "32x32"},
      {"16x49 for lenet5", 16, 49, 16, 49, "lenet5", "train-images-idx3-ubyte", "16x49"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const std::string data = dir.file(c.name);
    write_data(data, c.h, c.w, c.test_h, c.test_w);
    const Run r = run(mnist_exe, "--data " + quoted(data) + " --epochs 1 --quiet --model " + c.model);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains(data + "/" + c.file) && Contains(c.shape) && Contains("28x28"));
    require_no_work(r);
  }
  SECTION("bayesdrop-uncertainty too") {
    const std::string data = dir.file("small");
    write_data(data, 32, 32, 32, 32);
    const std::string model = dir.file("m.bdm");
    write_model(model, good_metadata);
    const Run r = run(uncertainty_exe, "--load " + quoted(model) + " --data " + quoted(data) + " --ood-data " +
                                           quoted(data) + " --mc 2");
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains(data + "/t10k-images-idx3-ubyte") && Contains("32x32"));
  }
}

TEST_CASE("programs: the report is written even when the pictures fail, and the run fails", "[programs]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  // The folder takes new files (the check before the work passes), but a directory stands where a picture goes.
  const std::string pictures = dir.file("pictures"), report = dir.file("r.json");
  fs::create_directories(pictures + "/input_pixels.png");
  Run r = run(mnist_exe, "--data " + quoted(data) + " --epochs 1 --quiet --report " + quoted(report) + " --pictures " +
                             quoted(pictures));
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains(pictures + "/input_pixels.png"));
  REQUIRE(fs::exists(report));
  CHECK(nlohmann::json::parse(std::ifstream(report)).at("epochs") == 1);
}

TEST_CASE("programs: an empty path is refused before any training, naming the flag", "[programs][edges]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string train = "--data " + quoted(data) + " --epochs 2 --quiet ";
  for (const std::string flag :
       {"--checkpoint", "--save", "--report", "--pictures", "--resume", "--init-from", "--load"}) {
    INFO(flag);
    // with --stop-after 1, --checkpoint "" used to stop after epoch 1 and exit with 0
    const std::string more = flag == "--checkpoint" ? "--stop-after 1" : "";
    const Run r = run(mnist_exe, train + flag + " '' " + more);
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK(r.status < 128);
    CHECK_THAT(r.output, Contains(flag + ":") && Contains("empty"));
    CHECK_FALSE(Contains("continue with --resume").match(r.output));
    require_no_work(r);
  }
  const std::string model = dir.file("m.bdm");
  write_model(model, good_metadata);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--load", "--load ''"}, {"--report", "--load " + quoted(model) + " --report ''"}};
  for (const auto& [flag, args] : cases) {
    INFO(args);
    const Run r = run(uncertainty_exe, args + " --data " + quoted(data) + " --ood-data " + quoted(data) + " --mc 2");
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK(r.status < 128);
    CHECK_THAT(r.output, Contains(flag + ":") && Contains("empty"));
    require_no_work(r);
  }
}

namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("programs: an output onto one of the run's inputs, or two outputs onto one file, is refused before training",
          "[programs][edges]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string train = "--data " + quoted(data) + " --epochs 2 --quiet ";
  const std::string init = dir.file("init.bdm"), ck = dir.file("run.ck"), link = dir.file("init-link.bdm");
  write_model(init, good_metadata);
  fs::create_symlink(init, link);
  REQUIRE(run(mnist_exe, train + "--checkpoint " + quoted(ck) + " --stop-after 1").status == 0);
  const std::string images = data + "/train-images-idx3-ubyte", labels = data + "/train-labels-idx1-ubyte",
                    test_labels = data + "/t10k-labels-idx1-ubyte";
  const std::string out = dir.file("out"), same_out = dir.path.string() + "/./out";  // one file, two spellings
  const std::string load = "--data " + quoted(data) + " --quiet --load " + quoted(init) + " ";
  struct Case {
    std::string args, output, input;  // the arguments; the two flags the message must name
    std::vector<std::string> kept;    // files that must stay as they are
  };
  const std::vector<Case> cases = {
      {train + "--report " + quoted(images), "--report", "--data", {images}},
      {train + "--save " + quoted(test_labels), "--save", "--data", {test_labels}},
      {train + "--checkpoint " + quoted(labels), "--checkpoint", "--data", {labels}},
      {train + "--init-from " + quoted(init) + " --save " + quoted(init), "--save", "--init-from", {init}},
      {train + "--init-from " + quoted(init) + " --checkpoint " + quoted(link), "--checkpoint", "--init-from", {init}},
      {train + "--init-from " + quoted(link) + " --report " + quoted(dir.path.string() + "/./init.bdm"),
       "--report",
       "--init-from",
       {init}},
      {train + "--resume " + quoted(ck) + " --save " + quoted(ck), "--save", "--resume", {ck}},
      {train + "--resume " + quoted(ck) + " --report " + quoted(ck), "--report", "--resume", {ck}},
      {train + "--save " + quoted(out) + " --report " + quoted(same_out), "--save", "--report", {}},
      {train + "--checkpoint " + quoted(out) + " --save " + quoted(same_out), "--checkpoint", "--save", {}},
      {train + "--checkpoint " + quoted(out) + " --report " + quoted(out), "--checkpoint", "--report", {}},
      {train + "--resume " + quoted(ck) + " --checkpoint " + quoted(ck) + " --save " + quoted(ck),
       "--save",
       "--checkpoint",
       {ck}},
      {load + "--save " + quoted(init), "--save", "--load", {init}},
      {load + "--report " + quoted(link), "--report", "--load", {init}},
  };
  for (const auto& c : cases) {
    INFO(c.args);
    std::vector<std::string> before;
    for (const auto& f : c.kept) before.push_back(file_bytes(f));
    const Run r = run(mnist_exe, c.args);
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains(c.output) && Contains(c.input) && Contains("same file"));
    require_no_work(r);
    for (std::size_t k = 0; k < c.kept.size(); ++k) CHECK(file_bytes(c.kept[k]) == before[k]);
    CHECK_FALSE(fs::exists(out));
  }
  SECTION("--resume and --checkpoint of the same file continue the run in it") {
    const Run r = run(mnist_exe, train + "--resume " + quoted(ck) + " --checkpoint " + quoted(ck));
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains("test accuracy"));
  }
  SECTION("bayesdrop-uncertainty: --report onto the model or a data file") {
    const std::string evaluate =
        "--load " + quoted(init) + " --data " + quoted(data) + " --ood-data " + quoted(data) + " --mc 2 --report ";
    const std::vector<std::pair<std::string, std::string>> bad = {{quoted(link), "--load"},
                                                                  {quoted(data + "/t10k-images-idx3-ubyte"), "--data"}};
    for (const auto& [report, input] : bad) {
      INFO(report);
      const std::string before = file_bytes(init);
      const Run r = run(uncertainty_exe, evaluate + report);
      INFO(r.output);
      CHECK(r.status == 2);
      CHECK_THAT(r.output, Contains("--report") && Contains(input) && Contains("same file"));
      require_no_work(r);
      CHECK(file_bytes(init) == before);
    }
  }
}

TEST_CASE("programs: a run is not started again over its checkpoint without --resume", "[programs][edges]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string ck = dir.file("run.ck");
  const std::string train = "--data " + quoted(data) + " --epochs 2 --quiet --checkpoint " + quoted(ck) + " ";
  REQUIRE(run(mnist_exe, train + "--stop-after 1").status == 0);
  const std::string progress = file_bytes(ck);
  const Run again = run(mnist_exe, train + "--stop-after 1");
  INFO(again.output);
  CHECK(again.status == 2);
  CHECK_THAT(again.output,
             Contains("--checkpoint") && Contains(ck) && Contains("--resume " + ck) && Contains("remove"));
  require_no_work(again);
  CHECK(file_bytes(ck) == progress);
  SECTION("also when the link to it is given") {
    const std::string link = dir.file("link.ck");
    fs::create_symlink(ck, link);
    const Run r = run(mnist_exe, "--data " + quoted(data) + " --epochs 2 --quiet --checkpoint " + quoted(link));
    CHECK(r.status == 2);
    CHECK(file_bytes(ck) == progress);
  }
  SECTION("--resume continues it, and a file that holds no checkpoint is replaced as before") {
    const Run resumed = run(mnist_exe, train + "--resume " + quoted(ck));
    INFO(resumed.output);
    CHECK(resumed.status == 0);
    const std::string other = dir.file("notes.ck");
    std::ofstream(other) << "not a checkpoint";
    const Run fresh = run(mnist_exe, "--data " + quoted(data) + " --epochs 1 --quiet --checkpoint " + quoted(other));
    INFO(fresh.output);
    CHECK(fresh.status == 0);
  }
}

TEST_CASE("programs: flags that cannot apply or are malformed are refused before any training, naming them",
          "[programs][edges]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string model = dir.file("m.bdm"), other = dir.file("other.bdm"), ck = dir.file("new.ck");
  write_model(model, good_metadata);
  write_model(other, good_metadata);
  SECTION("--load evaluates without training: the training flags are refused, not ignored") {
    const std::string load = "--data " + quoted(data) + " --quiet --load " + quoted(model) + " ";
    const std::vector<std::pair<std::string, std::string>> cases = {{"--resume", "--resume " + quoted(other)},
                                                                    {"--checkpoint", "--checkpoint " + quoted(ck)},
                                                                    {"--stop-after", "--stop-after 1"},
                                                                    {"--init-from", "--init-from " + quoted(other)},
                                                                    {"--pretrain", "--pretrain 1"},
                                                                    {"--epochs", "--epochs 1"}};
    for (const auto& [flag, args] : cases) {
      INFO(args);
      const Run r = run(mnist_exe, load + args);
      INFO(r.output);
      CHECK(r.status != 0);
      CHECK(r.status < 128);
      CHECK_THAT(r.output, Contains("--load") && Contains(flag));
      require_no_work(r);
      CHECK_FALSE(fs::exists(ck));
    }
  }
  // Without --quiet, so that a pretraining epoch would show ("pretrain: epoch" contains "train: epoch").
  const std::string train = "--data " + quoted(data) + " --epochs 1 ";
  SECTION("--kl-scales of the wrong length and --train-clip without sparse VD layers, before --pretrain") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"--kl-scales", "--dropout sbp --pretrain 1 --kl-scales 1,2"},
        {"--kl-scales", "--dropout sparsevd --kl-scales 1,2,3,4"},
        {"--train-clip", "--dropout sbp --pretrain 1 --train-clip"},
        {"--train-clip", "--dropout bbd --train-clip"},
        {"--pretrain-sbp-adam", "--dropout sbp --pretrain-sbp-adam"},
        {"--dense-init-std", "--dropout sparsevd --dense-init-std 0.01"},
        {"lenet5-same", "--model lenet5-same --dropout sparsevd"}};
    for (const auto& [flag, args] : cases) {
      INFO(args);
      const Run r = run(mnist_exe, train + args);
      INFO(r.output);
      CHECK(r.status == 2);
      CHECK_THAT(r.output, Contains(flag));
      CHECK_FALSE(Contains("kl_scales:").match(r.output));  // the flag, not the library's field
      CHECK_FALSE(Contains("train_clip:").match(r.output));
      require_no_work(r);
    }
  }
  SECTION("--kl-scales must be a list of finite decimal numbers >= 0") {
    for (const std::string list : {"''", "1,1,1,", ",1,1,1", "1,,1", "0x10,1,1", "inf,1,1", "1,nan,1", "-1,1,1"}) {
      INFO(list);
      const Run r = run(mnist_exe, train + "--dropout sparsevd --kl-scales " + list);
      INFO(r.output);
      CHECK(r.status != 0);
      CHECK(r.status < 128);
      CHECK_THAT(r.output, Contains("--kl-scales"));
      CHECK_FALSE(Contains("set_kl_scale").match(r.output));
      require_no_work(r);
    }
    const Run ok = run(mnist_exe, train + "--quiet --dropout sparsevd --kl-scales 1,0.5,2e-1");
    INFO(ok.output);
    CHECK(ok.status == 0);
  }
  SECTION("--stop-after 0 says so briefly") {
    const Run r = run(mnist_exe, train + "--checkpoint " + quoted(ck) + " --stop-after 0");
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK(r.status < 128);
    CHECK_THAT(r.output, Contains("--stop-after"));
    CHECK(r.output.size() < 300);
    require_no_work(r);
  }
}

TEST_CASE("programs: --center-inputs trains on centred images, says so, and its model is read only with the flag",
          "[programs]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string centred = dir.file("c.bdm"), plain = dir.file("p.bdm"), report = dir.file("c.json");
  const std::string train = "--data " + quoted(data) + " --quiet --epochs 1 --threads 1 --dropout sparsevd ";
  const Run c = run(mnist_exe, train + "--center-inputs --save " + quoted(centred) + " --report " + quoted(report));
  INFO(c.output);
  REQUIRE(c.status == 0);
  CHECK(nlohmann::json::parse(std::ifstream(report)).at("center_inputs") == true);
  REQUIRE(run(mnist_exe, train + "--save " + quoted(plain)).status == 0);
  // Centring changes what the network sees: the same seed trains other weights.
  CHECK(first_weights_differ(centred, plain));
  const std::string eval = "--data " + quoted(data) + " --quiet --load ";
  SECTION("a centred model without the flag, or a raw one with it, is refused naming the flag and the file") {
    for (const std::string& args :
         {eval + quoted(centred), eval + quoted(plain) + " --center-inputs", train + "--init-from " + quoted(centred),
          train + "--center-inputs --init-from " + quoted(plain)}) {
      INFO(args);
      const Run r = run(mnist_exe, args);
      INFO(r.output);
      CHECK(r.status == 2);
      CHECK_THAT(r.output, Contains("--center-inputs") && Contains(".bdm"));
      require_no_work(r);
    }
  }
  SECTION("with the flag the centred model is evaluated as it was trained") {
    const Run r = run(mnist_exe, eval + quoted(centred) + " --center-inputs");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains("test accuracy"));
  }
}

TEST_CASE("programs: --pretrain-sbp-adam pretrains with the SBP authors' optimiser and says so", "[programs]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string authors = dir.file("a.bdm"), ours = dir.file("o.bdm"), report = dir.file("a.json");
  const std::string train = "--data " + quoted(data) + " --quiet --epochs 1 --threads 1 --dropout sbp --pretrain 2 ";
  const Run a = run(mnist_exe, train + "--pretrain-sbp-adam --save " + quoted(authors) + " --report " + quoted(report));
  INFO(a.output);
  REQUIRE(a.status == 0);
  CHECK(nlohmann::json::parse(std::ifstream(report)).at("pretrain_recipe") == "sbp_authors_pretrain");
  REQUIRE(run(mnist_exe, train + "--save " + quoted(ours)).status == 0);
  CHECK(first_weights_differ(authors, ours));  // another optimiser, other weights
  SECTION("--adam-eps reaches the authors' pretraining (their loss is a sum there too), not ours") {
    // The first pretraining epoch's line: Adam with epsilon 0.5 takes far smaller steps than with 1e-8.
    auto pretrain_line = [&](const std::string& flags) {
      const std::string ck = dir.file("p" + std::to_string(std::hash<std::string>{}(flags)) + ".ck");
      const Run r = run(mnist_exe, "--data " + quoted(data) + " --epochs 1 --threads 1 --dropout sbp --pretrain 1 " +
                                       "--stop-after 1 --checkpoint " + quoted(ck) + " " + flags);
      INFO(r.output);
      REQUIRE(r.status == 0);
      const auto line = r.output.find("pretrain: epoch 1,");
      REQUIRE(line != std::string::npos);
      const auto at = r.output.find("cent ", line);  // after the epoch's seconds
      return r.output.substr(at, r.output.find('\n', at) - at);
    };
    CHECK(pretrain_line("--pretrain-sbp-adam --adam-eps 0.5") != pretrain_line("--pretrain-sbp-adam"));
    CHECK(pretrain_line("--adam-eps 0.5") == pretrain_line(""));
  }
}

TEST_CASE("programs: --dense-init-std and --fixed-order start and feed the run as SBP's scripts do, and say so",
          "[programs]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string ours = dir.file("o.bdm"), init = dir.file("i.bdm"), order = dir.file("f.bdm");
  const std::string report = dir.file("r.json"), ck = dir.file("run.ck");
  const std::string train = "--data " + quoted(data) + " --quiet --epochs 1 --threads 1 --dropout sbp --pretrain 1 ";
  REQUIRE(run(mnist_exe, train + "--save " + quoted(ours)).status == 0);
  const Run i = run(mnist_exe, train + "--dense-init-std 0.01 --save " + quoted(init) + " --report " + quoted(report));
  INFO(i.output);
  REQUIRE(i.status == 0);
  auto json = nlohmann::json::parse(std::ifstream(report));
  CHECK(json.at("dense_init") == "truncated_normal(0.01)");
  CHECK(json.at("shuffle") == true);
  CHECK(first_weights_differ(init, ours));
  const Run f = run(mnist_exe, train + "--fixed-order --save " + quoted(order) + " --report " + quoted(report));
  INFO(f.output);
  REQUIRE(f.status == 0);
  json = nlohmann::json::parse(std::ifstream(report));
  CHECK(json.at("shuffle") == false);
  CHECK(json.at("dense_init") == "glorot_uniform");
  CHECK(first_weights_differ(order, ours));
  SECTION("a checkpoint of a run in the stored order is not resumed reshuffled") {
    const std::string two = "--data " + quoted(data) + " --quiet --epochs 2 --threads 1 --checkpoint " + quoted(ck);
    REQUIRE(run(mnist_exe, two + " --fixed-order --stop-after 1").status == 0);
    const Run r = run(mnist_exe, two + " --resume " + quoted(ck));
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("shuffle"));
    CHECK(run(mnist_exe, two + " --fixed-order --resume " + quoted(ck)).status == 0);
  }
}

TEST_CASE("programs: --checkpoint and --report follow a symlink and write the file it points to, as --save does",
          "[programs][edges]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  fs::create_directories(dir.file("real"));
  const std::string ck_link = dir.file("run.ck"), save_link = dir.file("m.bdm"), report_link = dir.file("r.json");
  const std::string ck = dir.file("real/run.ck"), saved = dir.file("real/m.bdm"), report = dir.file("real/r.json");
  fs::create_symlink("real/run.ck", ck_link);  // dangling until the first checkpoint
  std::ofstream(saved) << "old model";
  fs::create_symlink(saved, save_link);
  fs::create_symlink("real/r.json", report_link);  // dangling too
  const std::string train = "--data " + quoted(data) + " --epochs 2 --quiet --checkpoint " + quoted(ck_link) + " ";
  Run r = run(mnist_exe, train + "--stop-after 1");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(fs::is_symlink(ck_link));
  CHECK(file_bytes(ck).substr(0, 8) == "BDCHECKP");
  r = run(mnist_exe,
          train + "--resume " + quoted(ck_link) + " --save " + quoted(save_link) + " --report " + quoted(report_link));
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (const auto& link : {ck_link, save_link, report_link}) {
    INFO(link);
    CHECK(fs::is_symlink(link));
  }
  CHECK(file_bytes(ck).substr(0, 8) == "BDCHECKP");
  CHECK_NOTHROW(bd::read_model_metadata(saved));
  CHECK(nlohmann::json::parse(std::ifstream(report)).at("epochs") == 2);
  CHECK_FALSE(fs::exists(ck + ".tmp"));
  CHECK_FALSE(fs::exists(ck_link + ".tmp"));
}

namespace {

/// Runs the shell command `cmd` (programs and paths quoted by the caller) with stdout and stderr captured.
Run run_shell(const std::string& cmd) {
  Run r;
  std::FILE* p = popen(("{ " + cmd + "; } 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int w = pclose(p);
  r.status = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
  return r;
}

/// The shell's words that run a program under a file-size limit of 512 bytes (dash counts 512-byte blocks) with
/// SIGXFSZ ignored: every write past it fails with EFBIG, as on a full disk.
const std::string full_disk = "trap '' XFSZ; ulimit -f 1; exec ";

/// The names in `dir` that contain ".tmp": temporary files left behind.
std::vector<std::string> temporary_files(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp") != std::string::npos) found.push_back(name);
  }
  return found;
}

}  // namespace

TEST_CASE("programs: two trainers given one checkpoint: the second is refused at its start, naming the first",
          "[programs][edges]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string ck = dir.file("run.ck"), lock = ck + ".lock", log = dir.file("first.log");
  std::ofstream(ck + ".tmp.999999999") << "the temporary file of a writer killed mid-write";
  const std::string base = "--data " + quoted(data) + " --epochs 150 --quiet --checkpoint " + quoted(ck) + " ";
  const std::string first_cmd = "exec " + quoted(mnist_exe) + " " + base + "--seed 7 > " + quoted(log) + " 2>&1";
  const pid_t first = fork();
  REQUIRE(first >= 0);
  if (first == 0) {
    execl("/bin/sh", "sh", "-c", first_cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // The first run holds the lock once its pid is in the lock file (within ten seconds even on a busy machine; a build
  // without the lock: the second starts after them).
  bool locked = false;
  for (int i = 0; i < 1000 && !locked; ++i) {
    locked = fs::exists(lock) && file_bytes(lock) == std::to_string(first) + "\n";
    if (!locked) usleep(10000);
  }
  CHECK(locked);
  const Run second = run(mnist_exe, base + "--seed 8");
  int status = 0;
  REQUIRE(waitpid(first, &status, 0) == first);
  INFO("first run: " << file_bytes(log));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  INFO("second run: " << second.output);
  CHECK(second.status == 2);
  CHECK_THAT(second.output, Contains("--checkpoint") && Contains("in use by another run") &&
                                Contains("pid " + std::to_string(first)) && Contains(lock));
  require_no_work(second);
  // The first run's checkpoint: valid, its own (seed 7), complete; no temporary file is left, the stale one removed.
  const auto settings = nlohmann::json::parse(bd::read_checkpoint_metadata(ck));
  CHECK(settings.at("seed") == 7);
  CHECK(temporary_files(dir.path.string()).empty());
  SECTION("once the first has ended, the file is free: --resume continues it") {
    const Run resumed = run(mnist_exe, base + "--seed 7 --resume " + quoted(ck));
    INFO(resumed.output);
    CHECK(resumed.status == 0);
  }
}

TEST_CASE("programs: an output that cannot be written (a full disk) leaves the previous file intact",
          "[programs][edges]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string report = dir.file("r.json"), model = dir.file("m.bdm"), pictures = dir.file("pictures");
  const std::string picture = pictures + "/input_pixels.png";
  std::ofstream(report) << "the previous report\n";
  write_model(model, good_metadata);
  fs::create_directories(pictures);
  std::ofstream(picture) << "the previous picture";
  const std::vector<std::string> files = {report, model, picture};
  std::vector<std::string> before;
  for (const auto& f : files) before.push_back(file_bytes(f));
  SECTION("bayesdrop-mnist's report, model and pictures") {
    const Run r =
        run_shell(full_disk + quoted(mnist_exe) + " --data " + quoted(data) + " --epochs 1 --quiet --report " +
                  quoted(report) + " --save " + quoted(model) + " --pictures " + quoted(pictures));
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("cannot write"));
    for (std::size_t k = 0; k < files.size(); ++k) {
      INFO(files[k]);
      CHECK(file_bytes(files[k]) == before[k]);
    }
  }
  SECTION("bayesdrop-uncertainty's report") {
    const Run r = run_shell(full_disk + quoted(uncertainty_exe) + " --load " + quoted(model) + " --data " +
                            quoted(data) + " --ood-data " + quoted(data) + " --mc 2 --report " + quoted(report));
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("--report") && Contains(report));
    CHECK(file_bytes(report) == before[0]);
  }
  SECTION("the checkpoint") {
    const std::string ck = dir.file("run.ck");
    const std::string train = " --data " + quoted(data) + " --epochs 2 --quiet --checkpoint " + quoted(ck);
    REQUIRE(run(mnist_exe, train + " --stop-after 1").status == 0);
    const std::string progress = file_bytes(ck);
    const Run r = run_shell(full_disk + quoted(mnist_exe) + train + " --resume " + quoted(ck));
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("checkpoint") && Contains(ck));
    CHECK(file_bytes(ck) == progress);
  }
  CHECK(temporary_files(dir.path.string()).empty());
}

TEST_CASE("programs: a model or checkpoint from a pipe is refused, saying a regular file is needed",
          "[programs][edges]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string model = dir.file("m.bdm"), ck = dir.file("run.ck");
  write_model(model, good_metadata);
  const std::string train = " --data " + quoted(data) + " --epochs 2 --quiet";
  REQUIRE(run(mnist_exe, train + " --checkpoint " + quoted(ck) + " --stop-after 1").status == 0);
  // /dev/stdin fed by a pipe is what a process substitution, <(cat FILE), gives: /dev/fd/N, a pipe read once.
  struct Case {
    std::string file, program, args, flag;
  };
  const std::vector<Case> cases = {
      {model, mnist_exe, train.substr(0, train.find(" --epochs")) + " --quiet --load /dev/stdin", "--load"},
      {model, mnist_exe, train + " --init-from /dev/stdin", "--init-from"},
      {ck, mnist_exe, train + " --resume /dev/stdin", "--resume"},
      {model, uncertainty_exe, " --load /dev/stdin --data " + quoted(data) + " --ood-data " + quoted(data), "--load"}};
  for (const auto& c : cases) {
    const Run r = run_shell("cat " + quoted(c.file) + " | " + quoted(c.program) + c.args);
    INFO(c.args << "\n" << r.output);
    CHECK(r.status != 0);
    CHECK(r.status < 128);
    CHECK_THAT(r.output, Contains(c.flag) && Contains("regular file"));
    CHECK_FALSE(Contains("truncated").match(r.output));
    require_no_work(r);
  }
}

TEST_CASE("programs: --threads above the cores available is capped with a warning, and the report says what ran",
          "[programs][edges]") {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  const int cores = CPU_COUNT(&set);
  REQUIRE(cores < 256);
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string report = dir.file("r.json");
  const std::string train = "--data " + quoted(data) + " --epochs 2 --quiet --report " + quoted(report);
  Run r = run(mnist_exe, train + " --threads 256");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("warning") && Contains("--threads 256") &&
                           Contains("running " + std::to_string(cores) + " thread"));
  auto json = nlohmann::json::parse(std::ifstream(report));
  CHECK(json.at("threads") == cores);
  CHECK(json.at("epoch_threads") == std::vector<int>{cores, cores});
  CHECK(json.at("threads_requested") == "256");
  r = run(mnist_exe, train + " --threads " + std::to_string(cores));
  CHECK(r.status == 0);
  CHECK_FALSE(Contains("warning").match(r.output));
  json = nlohmann::json::parse(std::ifstream(report));
  CHECK(json.at("threads") == cores);
  SECTION("bayesdrop-uncertainty too") {
    const std::string model = dir.file("m.bdm");
    write_model(model, good_metadata);
    r = run(uncertainty_exe, "--load " + quoted(model) + " --data " + quoted(data) + " --ood-data " + quoted(data) +
                                 " --mc 2 --threads 256 --report " + quoted(report));
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Contains("bayesdrop-uncertainty: warning") && Contains("--threads 256") &&
                             Contains("running " + std::to_string(cores) + " thread"));
    json = nlohmann::json::parse(std::ifstream(report));
    CHECK(json.at("threads") == cores);
    CHECK(json.at("threads_requested") == 256);
  }
}

TEST_CASE("programs: --resume of a checkpoint of other settings names the fields that differ", "[programs][edges]") {
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string ck = dir.file("run.ck");
  const std::string train = "--data " + quoted(data) + " --epochs 2 --quiet --checkpoint " + quoted(ck) + " ";
  REQUIRE(run(mnist_exe, train + "--stop-after 1").status == 0);
  const std::string progress = file_bytes(ck);
  const Run r = run(mnist_exe, train + "--resume " + quoted(ck) + " --lr 0.01 --seed 5");
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("--resume " + ck) && Contains("other settings") && Contains("\"lr\" is 0.001") &&
                           Contains("but 0.01 here") && Contains("\"seed\" is 1") && Contains("but 5 here"));
  CHECK_FALSE(Contains("\"dataset\"").match(r.output));  // a field that is the same is not shown
  require_no_work(r);
  CHECK(file_bytes(ck) == progress);
}

TEST_CASE("programs: --resume of a checkpoint written before the data digests names the absent fields",
          "[programs][edges]") {
  // A checkpoint of today's trainer whose settings lose the digests, as one written before they were recorded: its
  // metadata rewritten (magic, version, scalar size, then the u64 length and the text at byte 24) and its trailing
  // CRC-32 recomputed, so only the settings tell it apart.
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const std::string ck = dir.file("run.ck");
  const std::string train = "--data " + quoted(data) + " --epochs 2 --quiet ";
  REQUIRE(run(mnist_exe, train + "--checkpoint " + quoted(ck) + " --stop-after 1").status == 0);
  std::string bytes = file_bytes(ck);
  auto settings = nlohmann::json::parse(bd::read_checkpoint_metadata(ck));
  REQUIRE(settings.contains("train_data_crc32"));
  settings.erase("train_data_crc32");
  settings.erase("test_data_crc32");
  const std::string old_text = settings.dump();
  std::uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= std::uint64_t(std::uint8_t(bytes[std::size_t(16 + i)])) << (8 * i);
  bytes.replace(24, std::size_t(length), old_text);
  for (int i = 0; i < 8; ++i) bytes[std::size_t(16 + i)] = char((old_text.size() >> (8 * i)) & 0xff);
  bytes.resize(bytes.size() - 4);
  const std::uint32_t crc = bd::detail::model_crc(bytes);
  for (int i = 0; i < 4; ++i) bytes.push_back(char((crc >> (8 * i)) & 0xff));
  const std::string older = dir.file("older.ck");
  std::ofstream(older, std::ios::binary) << bytes;
  REQUIRE(bd::read_checkpoint_metadata(older) == old_text);  // a valid checkpoint file
  const Run r = run(mnist_exe, train + "--resume " + quoted(older));
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("--resume " + older) && Contains("\"train_data_crc32\" is absent in the checkpoint") &&
                           Contains("\"test_data_crc32\" is absent in the checkpoint") &&
                           Contains("written before the trainer recorded the digests"));
  require_no_work(r);
}

TEST_CASE("programs: a --report whose folder takes no new files is refused before training", "[programs][edges]") {
  // A writable regular file in a folder where no file can be created, even by root: the report replaces its file
  // through a temporary file beside it, so the folder must take one; checked before the work, not after it.
  const std::string report = "/proc/self/oom_score_adj";
  if (!fs::is_regular_file(report)) {
    bayesdrop::test::skip_test("no /proc/self/oom_score_adj on this system");
  }
  TempDir dir;
  const std::string data = dir.file("data");
  write_data(data);
  const Run r = run(mnist_exe, "--data " + quoted(data) + " --epochs 1 --report " + report);
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("--report") && Contains("/proc/self"));
  require_no_work(r);
}

namespace {

/// An ISO 8601 UTC time to the second, as provenance::utc_now writes it.
bool is_utc_date(const std::string& s) {
  static const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  return std::regex_match(s, iso);
}

/// The checks every report's "provenance" object must pass; `command_line`: what the test ran, `before` and `after`:
/// the times around the run.
void check_provenance(const nlohmann::json& report, const std::string& command_line, const std::string& before,
                      const std::string& after, int threads) {
  REQUIRE(report.contains("provenance"));
  const auto& p = report.at("provenance");
  INFO(p.dump(2));
  CHECK(p.at("version") == bd::version());
  const std::string commit = p.at("commit");
  // A build from a git checkout stamps HEAD (cmake/stamp_build_info.cmake); this test is stamped by the same build.
  static const std::regex hex(R"([0-9a-f]{40}(-dirty)?)");
  CHECK((std::regex_match(commit, hex) || commit == "unknown"));
  if (provenance::commit() != "unknown") CHECK(std::regex_match(commit, hex));
  CHECK(p.at("command_line") == command_line);
  const std::string date = p.at("date");
  CHECK(is_utc_date(date));
  CHECK(before <= date);  // ISO 8601 strings of one format order as the times do
  CHECK(date <= after);
  const auto& m = p.at("machine");
  CHECK_FALSE(m.at("cpu").get<std::string>().empty());
  CHECK(m.at("logical_cores").get<int>() >= 0);
  CHECK_FALSE(m.at("os").get<std::string>().empty());
  CHECK_FALSE(p.at("compiler").get<std::string>().empty());
  CHECK(p.at("backend") == bd::product_backend());  // the build the test links is the programs' build
  CHECK(p.at("threads") == threads);
  CHECK_FALSE(p.contains("hostname"));
}

}  // namespace

TEST_CASE("programs: provenance: every report says its version, commit, command line, machine, date and threads",
          "[programs][provenance]") {
  TempDir dir;
  const std::string data = dir.file("data, it's here");  // a comma, a space and a quote: the command line quotes it
  write_data(data);
  const std::string quoted_data = "'" + dir.file("data, it'\\''s here") + "'";
  const std::string report = dir.file("r.json"), model = dir.file("m.bdm");
  // The arguments as a shell reads them back from the report's command line; run() quotes the program itself.
  const std::string args = "--data " + quoted_data + " --epochs 1 --threads 1 --quiet --report " +
                           provenance::shell_quote(report) + " --save " + provenance::shell_quote(model) +
                           " --lr-schedule=constant";
  const std::string before = provenance::utc_now();
  Run r = run(mnist_exe, args);
  INFO(r.output);
  REQUIRE(r.status == 0);
  check_provenance(nlohmann::json::parse(std::ifstream(report)), provenance::shell_quote(mnist_exe) + " " + args,
                   before, provenance::utc_now(), 1);

  const std::string u_report = dir.file("u.json");
  const std::string u_args = "--load " + provenance::shell_quote(model) + " --data " + quoted_data + " --ood-data " +
                             quoted_data + " --mc 2 --threads 1 --report " + provenance::shell_quote(u_report);
  const std::string u_before = provenance::utc_now();
  r = run(uncertainty_exe, u_args);
  REQUIRE(r.status == 0);
  check_provenance(nlohmann::json::parse(std::ifstream(u_report)),
                   provenance::shell_quote(uncertainty_exe) + " " + u_args, u_before, provenance::utc_now(), 1);
}

TEST_CASE("programs: provenance: --version prints the library version and the commit", "[programs][provenance]") {
  for (const auto& [exe, name] : {std::pair<std::string, std::string>{mnist_exe, "bayesdrop-mnist"},
                                  std::pair<std::string, std::string>{uncertainty_exe, "bayesdrop-uncertainty"}}) {
    const Run r = run(exe, "--version");
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains(name + " " + bd::version() + " (commit "));
    if (provenance::commit() != "unknown") CHECK_THAT(r.output, !Contains("commit unknown"));
  }
}
