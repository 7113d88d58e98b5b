// libFuzzer target for model files (models/model_file.hpp): every input goes to the metadata reader and is loaded into
// a small fixed model, float and double. A bayesdrop::Error is the expected answer to bad input; any other
// exception, a crash, a leak, a sanitizer report or a broken invariant (abort) is a finding.
//
// Invariants: a failed load leaves the model unchanged; the metadata reader accepts exactly the files whose structure
// is valid, so a load it accepted fails only on the architecture (ShapeError) or a double beyond float's range; and
// a load of a file of the model's own scalar type re-serialises to the very same bytes. A valid file may also fail
// to load because it holds NaN or infinity (a DataError saying the run diverged).
// Each input is also tried with its last 4 bytes replaced by the right checksum: random mutations nearly always break
// the checksum, and without this the parser behind it would hardly be reached.
//
// The metadata of every structurally valid file goes on to the programs' metadata parser
// (examples/common/model_metadata.hpp), and so does each raw input as a JSON text, with, when it is a JSON object,
// each field's value swapped for values of other types: a DataError is the expected answer to foreign metadata, any
// other exception (a nlohmann::json type_error, say) a finding.
//
// BAYESDROP_FUZZ_WRITE_SEEDS=<dir> makes the binary write a few valid files there and exit (the seed corpus).
// Build and run: scripts/fuzz.sh model [SECONDS]
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/structured_bayesian_pruning.hpp"
#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/models/model_file.hpp"
#include "model_metadata.hpp"

namespace {

namespace bd = bayesdrop;

/// mlp {4, 3, 2} with a gate in front of each dense layer: 5 layers, 8 tensors.
template <class S>
bd::Sequential<S> fixed_model(std::vector<bd::Index> sizes = {4, 3, 2}) {
  bd::Rng rng(7);
  bd::MlpOptions<S> options;
  options.with_gate([](bd::Index units, std::size_t index, bd::Rng& r) -> bd::LayerPtr<S> {
    if (index == 0) return std::make_unique<bd::BetaBernoulliDropout<S>>(units, r);
    return std::make_unique<bd::StructuredBayesianPruning<S>>(units);
  });
  return bd::mlp<S>(sizes, rng, options);
}

template <class S>
struct Target {
  bd::Sequential<S> model = fixed_model<S>();
  std::string saved = bd::serialize_model(model);  // what the model holds now

  void load(std::string_view input, bool valid, const std::string& metadata) {
    try {
      const std::string meta = bd::deserialize_model(model, input, "fuzz");
      if (!valid || meta != metadata) std::abort();
      saved = bd::serialize_model(model);
      if (static_cast<unsigned char>(input[12]) == sizeof(S) && bd::serialize_model(model, meta) != input) std::abort();
    } catch (const bd::Error& e) {
      const bool range = std::strstr(e.what(), "beyond float's range") != nullptr;
      const bool non_finite = std::strstr(e.what(), "diverged") != nullptr;
      if (valid && !dynamic_cast<const bd::ShapeError*>(&e) && !(range && sizeof(S) == 4) && !non_finite) std::abort();
      if (bd::serialize_model(model) != saved) std::abort();
    }
  }
};

void write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// The programs' reading of the metadata: a spec that names a known network and dropout type, or a DataError.
void parse_metadata(const std::string& text) {
  try {
    const auto saved = model_metadata::parse(text, "fuzz");
    if (saved.spec.p_input < 0 || saved.spec.p_input > 0.999 || !saved.metadata.is_object()) std::abort();
  } catch (const bd::DataError&) {
  }
}

/// Metadata of the right shape with one field's value swapped for a value of another type: plain byte mutations
/// rarely turn "mlp" into 5 or null, and type confusion is what broke the programs' reading before.
void parse_metadata_variants(const std::string& text) {
  const auto meta = nlohmann::json::parse(text, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) return;
  const nlohmann::json values[] = {
      5, -1, 0.5, 1e308, "high", "mlp", "bbd", nullptr, true, nlohmann::json::array(), nlohmann::json::object()};
  for (const char* field : {"model", "dropout", "p_input", "p_hidden", "epochs"}) {
    for (const auto& value : values) {
      nlohmann::json variant = meta;
      variant[field] = value;
      parse_metadata(variant.dump());
    }
  }
}

void check(std::string_view input) {
  static Target<float> as_float;
  static Target<double> as_double;
  bool valid = true;
  std::string metadata;
  try {
    metadata = bd::deserialize_model_metadata(input, "fuzz");
  } catch (const bd::DataError&) {
    valid = false;
  }
  if (valid) {
    parse_metadata(metadata);
    parse_metadata_variants(metadata);
  }
  as_float.load(input, valid, metadata);
  as_double.load(input, valid, metadata);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("BAYESDROP_FUZZ_WRITE_SEEDS");
  if (!dir) return 0;
  write(dir, "float.bdm", bd::serialize_model(fixed_model<float>(), R"({"sizes": [4, 3, 2], "gate": "bbd+sbp"})"));
  write(dir, "double.bdm", bd::serialize_model(fixed_model<double>(), "{}"));
  write(dir, "other-architecture.bdm", bd::serialize_model(fixed_model<float>({4, 2})));
  write(dir, "empty-model.bdm", bd::serialize_model(bd::Sequential<float>(), "no layers"));
  // Metadata texts alone, for the raw-input path to mutate field by field.
  write(dir, "metadata.json", R"({"model": "mlp", "dropout": "bbd", "p_input": 0.2, "p_hidden": 0.5, "epochs": 60})");
  write(dir, "metadata-lenet5.json", R"({"model":"lenet5","dropout":"sparsevd","writer":"bayesdrop-mnist"})");
  write(dir, "mnist-metadata.bdm",
        bd::serialize_model(fixed_model<float>(), R"({"model": "mlp", "dropout": "bbd", "p_input": 0.2, )"
                                                  R"("p_hidden": 0.5, "epochs": 60, "seed": 1})"));
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check(input);
  parse_metadata(std::string(input));
  parse_metadata_variants(std::string(input));
  if (size >= 4) {  // the same bytes with a correct checksum
    std::string fixed(input);
    const auto crc = static_cast<std::uint32_t>(crc32(0L, data, static_cast<uInt>(size - 4)));
    for (int i = 0; i < 4; ++i) fixed[size - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFFu);
    if (fixed != input) check(fixed);
  }
  return 0;
}
