// The metadata of a model file as the programs read it: the architecture through the library
// (bayesdrop/models/saved_model.hpp), so --load needs no other flags, and the whole object as JSON for the reports.
// A file with a valid checksum but foreign metadata (another program's, or edited by hand) is a DataError naming the
// field, never a JSON exception.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/models/model_file.hpp"
#include "bayesdrop/models/saved_model.hpp"

namespace model_metadata {

/// The architecture a model file's metadata names, and the whole metadata (for reports).
struct SavedSpec {
  bayesdrop::ModelSpec spec;
  nlohmann::json metadata;
};

/// Parses and checks metadata `text` read from `source` (a path, for messages): the spec by the library
/// (bayesdrop::parse_model_spec: "model", "dropout", optional rates and "epochs", each checked), the whole object as
/// JSON for reports. Throws bayesdrop::DataError naming the source and the field.
inline SavedSpec parse(const std::string& text, const std::string& source) {
  SavedSpec out;
  out.spec = bayesdrop::parse_model_spec(text, source);
  out.metadata = nlohmann::json::parse(text, nullptr, false);
  if (out.metadata.is_discarded()) out.metadata = nlohmann::json::object();  // e.g. a number beyond double's range
  return out;
}

/// Reads the metadata of the model file at `path` (checking the file completely) and parses it (see parse).
/// Throws bayesdrop::DataError naming the path.
inline SavedSpec read(const std::string& path) {
  return parse(bayesdrop::read_model_metadata(path), path);
}

}  // namespace model_metadata
