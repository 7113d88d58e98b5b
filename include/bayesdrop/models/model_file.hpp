// Saving and loading a trained Sequential model: its parameters and state, in one binary file.
//
// Format, version 1. Integers are little-endian and written byte by byte (no struct dumps), values as the
// little-endian bytes of their IEEE-754 bit patterns, so a file reads the same on every machine.
//   magic        8 bytes "BAYESDRP"
//   version      u32     1
//   scalar size  u32     4 (float) or 8 (double): the type of every value below
//   metadata     u64 length, then that many bytes (a JSON text of the caller's choosing; not parsed here)
//   layer count  u64
//   per layer    type name (u32 length + bytes, as Layer::name()), u32 tensor count, then per tensor:
//                u8 kind (0 parameter, 1 state), name (u32 length + bytes), i64 rows, i64 cols,
//                rows * cols values in column-major order
//   checksum     u32     zlib crc32 of every byte before it
// A layer's tensors are its parameters() in order, then its state(). The architecture itself is not stored: the
// program rebuilds the model (from the metadata, say) and loading checks that it matches.
//
// Loading trusts nothing: the magic, version and checksum are checked first, then every length against the bytes
// that remain, before anything is allocated; then the model is compared with the file and every value checked to be
// finite (NaN or infinity means the saved run diverged); only then are values copied, so a failed load leaves the
// model as it was. Values convert between float and double files and models.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/types.hpp"
#include "bayesdrop/io/durable_file.hpp"
#include "bayesdrop/models/sequential.hpp"

namespace bayesdrop {

/// The format version this build writes and reads.
inline constexpr std::uint32_t model_file_version = 1;
/// Larger files are refused before being read (far beyond any model here; protects against a wrong path).
inline constexpr std::uint64_t model_file_max_bytes = std::uint64_t{1} << 30;

namespace detail {

inline constexpr std::string_view model_magic = "BAYESDRP";
inline constexpr std::size_t model_min_bytes = 8 + 4 + 4 + 8 + 8 + 4;  // header, no metadata, no layers, checksum

inline DataError model_error(const std::string& source, const std::string& what) {
  return DataError("model file '" + source + "': " + what);
}

/// A name from the file, quoted and cut short: a crafted file must not make a message gigabytes long.
inline std::string model_quote(std::string_view s) {
  return "'" + std::string(s.substr(0, 80)) + (s.size() > 80 ? "...'" : "'");
}

inline std::uint32_t model_crc(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t at = 0, n = 0; at < bytes.size(); at += n) {  // zlib takes uInt lengths
    n = std::min<std::size_t>(bytes.size() - at, std::size_t{1} << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at), static_cast<uInt>(n));
  }
  return static_cast<std::uint32_t>(crc);
}

/// std::bit_cast of C++20: the bit pattern of a float as an integer and back.
template <class To, class From>
To model_bit_cast(From from) {
  static_assert(sizeof(To) == sizeof(From));
  To to;
  std::memcpy(&to, &from, sizeof to);
  return to;
}

inline std::uint64_t model_le(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

/// Appends little-endian integers, strings and values to a byte string.
struct ModelWriter {
  std::string out;
  void le(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
  }
  void str(std::string_view s) {
    if (s.size() > 0xFFFFFFFFu) throw InvalidArgument("save_model: a name longer than 4 GiB cannot be saved");
    le(s.size(), 4);
    out.append(s);
  }
  void value(float v) { le(model_bit_cast<std::uint32_t>(v), 4); }
  void value(double v) { le(model_bit_cast<std::uint64_t>(v), 8); }
};

/// Reads the body of a file, checking every length against what is left. `layer` and `tensor` say where it is for
/// messages, which are built only on failure: even a crafted file of a hundred million empty layers reads quickly.
class ModelReader {
 public:
  ModelReader(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}
  std::int64_t layer = -1, tensor = -1;

  DataError fail(const std::string& what) const {
    std::string at = layer < 0 ? "" : "layer " + std::to_string(layer) + " ";
    if (tensor >= 0) at += "tensor " + std::to_string(tensor) + " ";
    return model_error(source_, at + what);
  }
  const char* take(std::uint64_t n, const char* what) {
    if (n > bytes_.size()) {
      throw fail(std::string(what) + " needs " + std::to_string(n) + " bytes but only " +
                 std::to_string(bytes_.size()) + " remain: the file is corrupt");
    }
    const char* p = bytes_.data();
    bytes_.remove_prefix(static_cast<std::size_t>(n));
    return p;
  }
  std::uint64_t le(int bytes, const char* what) {
    return model_le(take(static_cast<std::uint64_t>(bytes), what), bytes);
  }
  std::string_view str(const char* what) {
    const std::uint64_t n = le(4, what);
    return {take(n, what), static_cast<std::size_t>(n)};
  }
  std::size_t left() const { return bytes_.size(); }

 private:
  std::string_view bytes_;
  const std::string& source_;
};

/// One tensor as the file describes it; its values stay in the file's bytes.
struct FileTensor {
  std::uint8_t kind;
  std::string_view name;
  std::int64_t rows, cols;
  const char* values;
};

inline FileTensor read_tensor(ModelReader& in, std::uint32_t scalar_bytes) {
  FileTensor t{};
  t.kind = static_cast<std::uint8_t>(in.le(1, "kind"));
  if (t.kind > 1) throw in.fail("has kind " + std::to_string(t.kind) + ", expected 0 or 1: the file is corrupt");
  t.name = in.str("name");
  t.rows = static_cast<std::int64_t>(in.le(8, "rows"));
  t.cols = static_cast<std::int64_t>(in.le(8, "cols"));
  const std::uint64_t room = in.left() / scalar_bytes;  // values that fit in what is left: nothing overflows
  if (t.rows < 0 || t.cols < 0 ||
      (t.rows > 0 && static_cast<std::uint64_t>(t.cols) > room / static_cast<std::uint64_t>(t.rows))) {
    throw in.fail(model_quote(t.name) + " claims " + shape_string(t.rows, t.cols) + " values but only " +
                  std::to_string(in.left()) + " bytes remain: the file is corrupt");
  }
  t.values = in.take(static_cast<std::uint64_t>(t.rows * t.cols) * scalar_bytes, "values");
  return t;
}

/// The checked header; `layers` runs from the first layer to the checksum.
struct ModelHeader {
  std::uint32_t scalar_bytes = 0;
  std::string_view metadata;
  std::uint64_t layer_count = 0;
  std::string_view layers;
};

/// Checks magic, version, checksum and the whole structure (no model needed). Throws DataError.
inline ModelHeader check_model_bytes(std::string_view b, const std::string& source) {
  const std::string truncated = "the file is truncated: " + std::to_string(b.size()) +
                                " bytes, less than the smallest model file (" + std::to_string(model_min_bytes) +
                                " bytes)";
  if (b.size() < model_magic.size() && model_magic.substr(0, b.size()) == b) throw model_error(source, truncated);
  if (b.substr(0, model_magic.size()) != model_magic) {
    throw model_error(source, "not a bayesdrop model file (it does not start with \"BAYESDRP\")");
  }
  if (b.size() < 12) throw model_error(source, truncated);
  // The version before the checksum: a newer format may checksum differently, and saying so helps more.
  const auto version = static_cast<std::uint32_t>(model_le(b.data() + 8, 4));
  if (version > model_file_version) {
    throw model_error(source, "written by a newer version " + std::to_string(version) + "; this build reads version " +
                                  std::to_string(model_file_version) + " of the model format (update bayesdrop)");
  }
  if (version == 0) throw model_error(source, "format version 0 does not exist: the file is corrupt");
  if (b.size() < model_min_bytes) throw model_error(source, truncated);
  const std::string_view body = b.substr(0, b.size() - 4);
  if (model_crc(body) != model_le(b.data() + body.size(), 4)) {
    throw model_error(source, "checksum mismatch: the file is corrupt or truncated");
  }
  ModelHeader h;
  ModelReader in(body.substr(12), source);
  h.scalar_bytes = static_cast<std::uint32_t>(in.le(4, "the scalar size"));
  if (h.scalar_bytes != 4 && h.scalar_bytes != 8) {
    throw in.fail("scalar size " + std::to_string(h.scalar_bytes) + ", expected 4 (float) or 8 (double)");
  }
  const std::uint64_t meta = in.le(8, "the metadata length");
  h.metadata = {in.take(meta, "the metadata"), static_cast<std::size_t>(meta)};
  h.layer_count = in.le(8, "the layer count");
  h.layers = body.substr(body.size() - in.left());
  for (std::uint64_t i = 0; i < h.layer_count; ++i) {  // every layer takes bytes: the loop ends with them
    in.layer = static_cast<std::int64_t>(i);
    in.tensor = -1;
    in.str("type name");
    const std::uint64_t tensors = in.le(4, "tensor count");
    for (in.tensor = 0; static_cast<std::uint64_t>(in.tensor) < tensors; ++in.tensor) read_tensor(in, h.scalar_bytes);
  }
  if (in.left() != 0) {
    throw model_error(source,
                      std::to_string(in.left()) + " unexpected bytes after the last layer: the file is corrupt");
  }
  return h;
}

/// The file's value at p (of `bytes` bytes) as Scalar; range-checked in load before this is called.
template <class Scalar>
Scalar model_value(const char* p, std::uint32_t bytes) {
  if (bytes == 4) return static_cast<Scalar>(model_bit_cast<float>(static_cast<std::uint32_t>(model_le(p, 4))));
  return static_cast<Scalar>(model_bit_cast<double>(model_le(p, 8)));
}

inline std::string read_model_bytes(const std::string& path) {
  errno = 0;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw model_error(path, std::string("cannot open: ") + std::strerror(errno ? errno : ENOENT));
  const std::string too_big = "larger than 1 GiB, the limit for a model file: not a model file (wrong path?)";
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);  // fails for pipes and directories: read and see
  if (!ec && size > model_file_max_bytes) throw model_error(path, too_big);
  std::string bytes;
  if (!ec) bytes.reserve(static_cast<std::size_t>(size));
  char buf[1 << 16];
  for (;;) {
    const std::size_t got = std::fread(buf, 1, sizeof buf, f.get());
    if (bytes.size() + got > model_file_max_bytes) throw model_error(path, too_big);
    bytes.append(buf, got);
    if (got < sizeof buf) break;
  }
  if (std::ferror(f.get())) throw model_error(path, std::string("read error: ") + std::strerror(errno ? errno : EIO));
  return bytes;
}

template <class Scalar>
void check_model_scalar() {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>, "models are float or double");
  static_assert(std::numeric_limits<Scalar>::is_iec559, "the file format stores IEEE-754 values");
}

}  // namespace detail

/// Returns the model file's bytes (see the format above): every layer's parameters and state, and `metadata`.
/// Does not modify the model (the const_cast only reaches Layer::parameters() and state(), which return pointers).
template <class Scalar>
std::string serialize_model(const Sequential<Scalar>& model, const std::string& metadata = "") {
  detail::check_model_scalar<Scalar>();
  auto& m = const_cast<Sequential<Scalar>&>(model);
  detail::ModelWriter w;
  w.out.append(detail::model_magic);
  w.le(model_file_version, 4);
  w.le(sizeof(Scalar), 4);
  w.le(metadata.size(), 8);
  w.out.append(metadata);
  w.le(static_cast<std::uint64_t>(m.size()), 8);
  for (Index i = 0; i < m.size(); ++i) {
    Layer<Scalar>& layer = m.layer(i);
    const auto params = layer.parameters();
    const auto state = layer.state();
    w.str(layer.name());
    w.le(params.size() + state.size(), 4);
    auto put = [&w](std::uint8_t kind, const std::string& name, const Matrix<Scalar>& v) {
      w.le(kind, 1);
      w.str(name);
      w.le(static_cast<std::uint64_t>(v.rows()), 8);
      w.le(static_cast<std::uint64_t>(v.cols()), 8);
      for (Index k = 0; k < v.size(); ++k) w.value(v.data()[k]);
    };
    for (const auto* p : params) put(0, p->name, p->value);
    for (const auto& s : state) put(1, s.name, *s.value);
  }
  w.le(detail::model_crc(w.out), 4);
  return std::move(w.out);
}

/// Writes the model to `path`, replacing the file there: through a temporary file of this process that is synced to
/// disk, renamed over `path`, and the folder synced (write_file_durably, io/durable_file.hpp), so that neither a
/// crash, a full disk nor a power cut mid-save leaves a half-written model under `path`. Only a regular file is
/// replaced: a directory, device, pipe or socket at `path` is refused; a symlink is followed and the file it points to
/// is replaced (the link stays). `metadata`: a JSON text of the caller's choosing, e.g. the architecture and training
/// settings. Throws DataError naming the path if the file cannot be written.
template <class Scalar>
void save_model(const Sequential<Scalar>& model, const std::string& path, const std::string& metadata = "") {
  write_file_durably(path, serialize_model(model, metadata), "model file");
}

/// Checks model-file bytes completely (magic, version, checksum, structure) and returns their metadata.
/// `source` names the bytes in messages. Throws DataError.
inline std::string deserialize_model_metadata(std::string_view bytes, const std::string& source = "<memory>") {
  return std::string(detail::check_model_bytes(bytes, source).metadata);
}

/// zlib's CRC-32 of `bytes`, the checksum that model files and checkpoints end with.
inline std::uint32_t bytes_crc32(std::string_view bytes) {
  return detail::model_crc(bytes);
}

/// The CRC-32 of the file at `path` (read as a model file is: regular, at most model_file_max_bytes) without its last
/// 4 bytes, its own checksum: a digest of the file's content, for a checkpoint to record which file a run started from
/// whatever its path. (The CRC of bytes followed by their CRC is the same for every file, hence the 4 bytes left out.)
inline std::uint32_t model_file_crc32(const std::string& path) {
  const std::string bytes = detail::read_model_bytes(path);
  return detail::model_crc(std::string_view(bytes).substr(0, bytes.size() - std::min<std::size_t>(bytes.size(), 4)));
}

/// Reads and checks the model file at `path` completely and returns its metadata, without a model: a program
/// can rebuild the architecture from it before calling load_model. Throws DataError naming the path.
inline std::string read_model_metadata(const std::string& path) {
  return deserialize_model_metadata(detail::read_model_bytes(path), path);
}

/// Loads model-file bytes into `model`, which must have the architecture that was saved (same layers, same tensor
/// names and shapes); a float file loads into a double model and vice versa. Returns the metadata.
/// Throws DataError for bytes that are not a valid model file, a NaN or infinite value (or a double value beyond
/// float's range), ShapeError
/// when the model does not match; on any error the model is left unchanged.
template <class Scalar>
std::string deserialize_model(Sequential<Scalar>& model, std::string_view bytes,
                              const std::string& source = "<memory>") {
  detail::check_model_scalar<Scalar>();
  const detail::ModelHeader h = detail::check_model_bytes(bytes, source);
  const std::string fix = "; build the model with the same architecture as when it was saved";
  const std::string file = "model file '" + source + "': ";
  if (h.layer_count != static_cast<std::uint64_t>(model.size())) {
    throw ShapeError(file + "the file has " + std::to_string(h.layer_count) + " layers but the model has " +
                     std::to_string(model.size()) + fix);
  }
  // Match every tensor with its target before touching any (the structure is known to be valid by now).
  std::vector<std::pair<Matrix<Scalar>*, detail::FileTensor>> plan;
  detail::ModelReader in(h.layers, source);
  for (Index i = 0; i < model.size(); ++i) {
    Layer<Scalar>& layer = model.layer(i);
    const std::string type(layer.name());
    const std::string where = "layer " + std::to_string(i);
    const std::string_view file_type = in.str("type name");
    if (file_type != type) {
      throw ShapeError(file + where + " is " + detail::model_quote(file_type) + " in the file but " + type +
                       " in the model" + fix);
    }
    std::vector<StateTensor<Scalar>> mine;  // the layer's tensors in file order; the first n_params are parameters
    for (auto* p : layer.parameters()) mine.push_back({p->name, &p->value});
    const std::size_t n_params = mine.size();
    for (auto& s : layer.state()) mine.push_back(s);
    const std::uint64_t count = in.le(4, "tensor count");
    if (count != mine.size()) {
      std::string names;
      for (const auto& t : mine) names += (names.empty() ? "" : ", ") + t.name;
      throw ShapeError(file + where + " (" + type + ") has " + std::to_string(count) + " tensors in the file but " +
                       std::to_string(mine.size()) + " in the model (" + names + ")" + fix);
    }
    const char* kinds[] = {"parameter", "state"};
    for (std::size_t j = 0; j < mine.size(); ++j) {
      const detail::FileTensor t = detail::read_tensor(in, h.scalar_bytes);
      const std::string& name = mine[j].name;
      Matrix<Scalar>* target = mine[j].value;
      if (t.name != name || t.kind != (j >= n_params)) {
        throw ShapeError(file + where + " (" + type + ") tensor " + std::to_string(j) + " is " +
                         detail::model_quote(t.name) + " (" + kinds[t.kind] + ") in the file but '" + name + "' (" +
                         kinds[j >= n_params] + ") in the model" + fix);
      }
      if (t.rows != target->rows() || t.cols != target->cols()) {
        throw ShapeError(file + where + " (" + type + ") tensor '" + name + "' is " +
                         detail::shape_string(t.rows, t.cols) + " in the file but " +
                         detail::shape_string(target->rows(), target->cols()) + " in the model" + fix);
      }
      if (sizeof(Scalar) < h.scalar_bytes) {  // double into float: out-of-range values must not become inf
        for (std::int64_t k = 0; k < t.rows * t.cols; ++k) {
          const double v = detail::model_value<double>(t.values + 8 * k, 8);
          if (std::isfinite(v) && std::fabs(v) > double(std::numeric_limits<Scalar>::max())) {
            throw detail::model_error(source, where + " (" + type + ") tensor '" + name +
                                                  "' holds values beyond float's range; load it into a double model");
          }
        }
      }
      for (std::int64_t k = 0; k < t.rows * t.cols; ++k) {  // NaN or infinity: a run that diverged was saved
        const double v = detail::model_value<double>(t.values + k * h.scalar_bytes, h.scalar_bytes);
        if (!std::isfinite(v)) {
          throw detail::model_error(source, where + " (" + type + ") tensor '" + name + "' holds " +
                                                (std::isnan(v) ? "NaN" : "an infinite value") + " at entry " +
                                                std::to_string(k) +
                                                ": the model diverged before it was saved; retrain it (a lower "
                                                "learning rate, say)");
        }
      }
      plan.push_back({target, t});
    }
  }
  for (auto& [target, t] : plan) {
    for (Index k = 0; k < target->size(); ++k) {
      target->data()[k] = detail::model_value<Scalar>(t.values + k * h.scalar_bytes, h.scalar_bytes);
    }
  }
  return std::string(h.metadata);
}

/// Loads the model file at `path` into `model` (see deserialize_model) and returns its metadata. Files above
/// model_file_max_bytes are refused unread. Throws DataError or ShapeError naming the path; on error the model is
/// unchanged.
template <class Scalar>
std::string load_model(Sequential<Scalar>& model, const std::string& path) {
  return deserialize_model(model, detail::read_model_bytes(path), path);
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template std::string serialize_model(const Sequential<float>&, const std::string&);
extern template std::string deserialize_model(Sequential<float>&, std::string_view, const std::string&);
extern template void save_model(const Sequential<float>&, const std::string&, const std::string&);
extern template std::string load_model(Sequential<float>&, const std::string&);
extern template std::string serialize_model(const Sequential<double>&, const std::string&);
extern template std::string deserialize_model(Sequential<double>&, std::string_view, const std::string&);
extern template void save_model(const Sequential<double>&, const std::string&, const std::string&);
extern template std::string load_model(Sequential<double>&, const std::string&);
#endif

}  // namespace bayesdrop
