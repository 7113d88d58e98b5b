// Model files that name their architecture (models/saved_model.hpp): saved with a ModelSpec, loaded without one;
// metadata without a spec, or with a bad field, is a DataError naming the file and the field.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "bayesdrop/bayesdrop.hpp"

namespace bd = bayesdrop;
using Catch::Contains;

TEST_CASE("saved_model: a model saved with its spec loads without it, for every network and family", "[models]") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("bayesdrop-saved-" + std::to_string(std::random_device{}()))).string();
  for (const std::string& net : bd::model_names()) {
    for (const std::string& family : bd::dropout_names()) {
      INFO(net << " " << family);
      if (!bd::model_takes_dropout(net, family)) continue;  // refused by build_model (test_zoo checks the message)
      const bd::ModelSpec spec{net, family, 0.1, 0.3};
      bd::Rng rng(5);
      const auto model = bd::build_model<float>(spec, rng);
      bd::save_model(model, spec, path, {{"seed", bd::json_number(5)}});
      const bd::ModelSpec back = bd::read_model_spec(path);
      CHECK(back.model == net);
      CHECK(back.dropout == family);
      CHECK(back.p_input == 0.1);
      CHECK(back.p_hidden == 0.3);
      CHECK(bd::serialize_model(bd::load_model_file<float>(path)) == bd::serialize_model(model));
    }
  }
  std::remove(path.c_str());
}

TEST_CASE("saved_model: metadata is checked field by field", "[models]") {
  const auto ok = bd::parse_model_spec(R"({"model": "lenet5", "dropout": "bbd", "p_input": 0, "epochs": 3})", "f");
  CHECK(ok.model == "lenet5");
  CHECK(ok.p_input == 0);
  CHECK(ok.p_hidden == bd::ModelSpec{}.p_hidden);  // absent: the default
  const std::pair<const char*, const char*> bad[] = {
      {"", "does not name its architecture"},
      {R"({"model": "mlp"})", "does not name its architecture"},
      {R"({"model": 5, "dropout": "none"})", "\"model\""},
      {R"({"model": "mlp", "dropout": "dropconnect"})", "\"dropout\""},
      {R"({"model": "mlp", "dropout": "none", "p_input": "high"})", "\"p_input\""},
      {R"({"model": "mlp", "dropout": "none", "p_hidden": 0.9995})", "\"p_hidden\""},
      {R"({"model": "mlp", "dropout": "none", "epochs": 2.5})", "\"epochs\""},
      {R"({"model": "mlp", "dropout": "none", "epochs": -1})", "\"epochs\""},
  };
  for (const auto& [text, what] : bad) {
    INFO(text);
    CHECK_THROWS_AS(bd::parse_model_spec(text, "some.model"), bd::DataError);
    CHECK_THROWS_WITH(bd::parse_model_spec(text, "some.model"), Contains("some.model") && Contains(what));
  }
}
