// Model files that describe their own architecture: the ModelSpec goes into the file's metadata, so a program loads a
// model without being told which network it is.
//
//   save_model(model, spec, "sbp.model");                 // {"dropout":"sbp","model":"mlp","p_hidden":0.5,...}
//   Sequential<float> back = load_model_file<float>("sbp.model");   // built from the file's spec, then loaded
//   ModelSpec spec = read_model_spec("sbp.model");
//
// The metadata is a flat JSON object (io/json_object.hpp; no JSON library needed): "model", "dropout", "p_input",
// "p_hidden", and whatever fields the caller adds (bayesdrop-mnist adds the data set, epochs, seed and accuracy).
// Files that bayesdrop's trainer wrote before this header have the same fields and load the same way.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/io/json_object.hpp"
#include "bayesdrop/models/model_file.hpp"
#include "bayesdrop/models/zoo.hpp"

namespace bayesdrop {

/// Extra metadata fields: a name and a value already written as JSON (json_string, json_number, "true", ...).
using MetadataFields = std::vector<std::pair<std::string, std::string>>;

/// The metadata text of a model file for `spec`, with `extra` fields after the spec's four.
inline std::string model_spec_metadata(const ModelSpec& spec, const MetadataFields& extra = {}) {
  MetadataFields fields{{"dropout", json_string(spec.dropout)},
                        {"model", json_string(spec.model)},
                        {"p_hidden", json_number(spec.p_hidden)},
                        {"p_input", json_number(spec.p_input)}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  return write_json_object(fields);
}

namespace detail {

inline DataError spec_field_error(const std::string& source, const std::string& field, const std::string& what) {
  return DataError(source + ": the metadata field \"" + field + "\" " + what +
                   "; the file was not written with its architecture (save_model with a ModelSpec), or was edited");
}

inline std::string spec_name_field(const JsonObject& meta, const std::string& field,
                                   const std::vector<std::string>& names) {
  const JsonValue& v = *meta.find(field);
  const std::string expected = "expected one of " + join_names(names);
  if (v.kind != JsonValue::Kind::string) {
    throw spec_field_error(meta.source, field, "is " + v.text.substr(0, 40) + " (not a string), " + expected);
  }
  for (const auto& n : names) {
    if (n == v.text) return n;
  }
  throw spec_field_error(meta.source, field, "is '" + v.text.substr(0, 40) + "', " + expected);
}

// A drop rate: absent, the ModelSpec default; else a number in [0, 0.999] (build_model's range, as the trainer's
// flags take it).
inline double spec_rate_field(const JsonObject& meta, const std::string& field, double fallback) {
  const JsonValue* v = meta.find(field);
  if (!v) return fallback;
  if (v->kind != JsonValue::Kind::number || !(v->number >= 0 && v->number <= 0.999)) {
    throw spec_field_error(meta.source, field, "is " + v->text.substr(0, 40) + ", expected a number in [0, 0.999]");
  }
  return v->number;
}

}  // namespace detail

/// The ModelSpec of metadata `text` (read from `source`, named in messages): "model" and "dropout" naming a network
/// and a family build_model knows, optional "p_input" and "p_hidden" in [0, 0.999], optional "epochs" a whole number
/// >= 0; other fields are not read. Throws DataError naming the source and the field.
inline ModelSpec parse_model_spec(const std::string& text, const std::string& source) {
  JsonObject meta;
  try {
    meta = parse_json_object(text, source);
  } catch (const DataError&) {
    meta = JsonObject{};
  }
  if (!meta.contains("model") || !meta.contains("dropout")) {
    throw DataError(source +
                    ": the model file does not name its architecture (no \"model\" and \"dropout\" in its metadata): "
                    "it was saved without a ModelSpec; build the network yourself and call load_model");
  }
  ModelSpec spec;
  spec.model = detail::spec_name_field(meta, "model", model_names());
  spec.dropout = detail::spec_name_field(meta, "dropout", dropout_names());
  spec.p_input = detail::spec_rate_field(meta, "p_input", spec.p_input);
  spec.p_hidden = detail::spec_rate_field(meta, "p_hidden", spec.p_hidden);
  if (const JsonValue* e = meta.find("epochs")) {
    const bool whole = e->kind == JsonValue::Kind::number && e->text.find_first_of(".eE-") == std::string::npos;
    if (!whole)
      throw detail::spec_field_error(source, "epochs",
                                     "is " + e->text.substr(0, 40) + ", expected a whole number >= 0");
  }
  return spec;
}

/// The ModelSpec written into the model file at `path` (the file is checked completely). Throws DataError.
inline ModelSpec read_model_spec(const std::string& path) {
  return parse_model_spec(read_model_metadata(path), path);
}

/// Saves `model`, built from `spec`, to `path` with the spec (and `extra` fields) as its metadata.
template <class Scalar>
void save_model(const Sequential<Scalar>& model, const ModelSpec& spec, const std::string& path,
                const MetadataFields& extra = {}) {
  save_model(model, path, model_spec_metadata(spec, extra));
}

/// Builds the network the model file at `path` names and loads its parameters: no architecture needed. Throws
/// DataError for a file without a spec, ShapeError when its tensors do not fit the network it names.
template <class Scalar>
Sequential<Scalar> load_model_file(const std::string& path) {
  Rng scratch(0);  // the initial values are replaced by the file's
  Sequential<Scalar> model = build_model<Scalar>(read_model_spec(path), scratch);
  load_model(model, path);
  return model;
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template Sequential<float> load_model_file(const std::string&);
extern template Sequential<double> load_model_file(const std::string&);
#endif

}  // namespace bayesdrop
