// The metadata bayesdrop-mnist --save writes into a model file, read back by both programs: it names the
// architecture, so --load needs no other flags. Every field is checked, so that a file with a valid checksum but
// foreign metadata (another program's, or edited by hand) is a DataError naming the field, never a JSON exception.
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
#include "bayesdrop/models/zoo.hpp"

namespace model_metadata {

namespace detail {

inline bayesdrop::DataError field_error(const std::string& source, const std::string& field, const std::string& what) {
  return bayesdrop::DataError(source + ": the metadata field \"" + field + "\" " + what +
                              "; the file was not written by bayesdrop-mnist --save, or was edited");
}

/// The field as a string that is one of `names`.
inline std::string name_field(const nlohmann::json& meta, const std::string& field,
                              const std::vector<std::string>& names, const std::string& source) {
  const auto& v = meta.at(field);
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  if (!v.is_string()) throw field_error(source, field, "is " + v.dump().substr(0, 40) + ", expected one of " + list);
  const auto s = v.get<std::string>();
  if (std::find(names.begin(), names.end(), s) == names.end()) {
    throw field_error(source, field, "is '" + s.substr(0, 40) + "', expected one of " + list);
  }
  return s;
}

/// The optional field as a number in [lo, hi], or `fallback` when absent.
inline double number_field(const nlohmann::json& meta, const std::string& field, double lo, double hi, double fallback,
                           const std::string& source) {
  if (!meta.contains(field)) return fallback;
  const auto& v = meta.at(field);
  const std::string range = "a number in [" + nlohmann::json(lo).dump() + ", " + nlohmann::json(hi).dump() + "]";
  if (!v.is_number()) throw field_error(source, field, "is " + v.dump().substr(0, 40) + ", expected " + range);
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) throw field_error(source, field, "is " + v.dump() + ", expected " + range);
  return x;
}

}  // namespace detail

/// The architecture a model file's metadata names, and the whole metadata (for reports).
struct SavedSpec {
  bayesdrop::ModelSpec spec;
  nlohmann::json metadata;
};

/// Parses and checks metadata `text` read from `source` (a path, for messages): a JSON object with "model" and
/// "dropout" naming a network and a dropout type build_model knows, optional "p_input" and "p_hidden" drop rates
/// in [0, 0.999] (the flags' range), and optional "epochs" (a whole number >= 0). Other fields are kept unread.
/// Throws bayesdrop::DataError naming the source and the field.
inline SavedSpec parse(const std::string& text, const std::string& source) {
  SavedSpec out;
  out.metadata = nlohmann::json::parse(text, nullptr, false);
  const auto& meta = out.metadata;
  if (meta.is_discarded() || !meta.is_object() || !meta.contains("model") || !meta.contains("dropout")) {
    throw bayesdrop::DataError(source +
                               ": the model file has no bayesdrop-mnist metadata (model, dropout); it was not "
                               "written by bayesdrop-mnist --save");
  }
  bayesdrop::ModelSpec& s = out.spec;
  s.model = detail::name_field(meta, "model", bayesdrop::model_names(), source);
  s.dropout = detail::name_field(meta, "dropout", bayesdrop::dropout_names(), source);
  s.p_input = detail::number_field(meta, "p_input", 0.0, 0.999, s.p_input, source);
  s.p_hidden = detail::number_field(meta, "p_hidden", 0.0, 0.999, s.p_hidden, source);
  if (meta.contains("epochs") && !(meta["epochs"].is_number_unsigned() ||
                                   (meta["epochs"].is_number_integer() && meta["epochs"].get<std::int64_t>() >= 0))) {
    throw detail::field_error(source, "epochs",
                              "is " + meta["epochs"].dump().substr(0, 40) + ", expected a whole number >= 0");
  }
  return out;
}

/// Reads the metadata of the model file at `path` (checking the file completely) and parses it (see parse).
/// Throws bayesdrop::DataError naming the path.
inline SavedSpec read(const std::string& path) {
  return parse(bayesdrop::read_model_metadata(path), path);
}

}  // namespace model_metadata
