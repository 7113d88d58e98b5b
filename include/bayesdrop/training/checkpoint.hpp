// Checkpoints of a training run: everything fit() needs to continue a run as if it had never stopped.
//
//   fit(model, recipe, train, &test, rng, FitOptions{}.with_checkpoint("run.ckpt", settings_json));  // interrupted
//   fit(model, recipe, train, &test, rng, FitOptions{}.with_checkpoint("run.ckpt",
//   settings_json).with_resume("run.ckpt"));
//
// A checkpoint holds the model (a complete model file, models/model_file.hpp), the optimiser's state (its step count,
// which is the learning-rate schedules' position, and its per-parameter state: Adam's moments, SGD's momentum), the
// generator's state, the epochs done (the KL warm-up's position) and the history so far. A run resumed from it
// draws the same numbers and takes the same steps as the run that wrote it, so it ends with the same model bytes
// and the same history (timings aside).
//
// Format, version 2 (integers little-endian, values as the bits of their IEEE-754 patterns, as in the model file):
//   magic "BDCHECKP", u32 version, u32 scalar size (4 or 8), metadata (u64 length + bytes, the caller's text),
//   u32 epochs done, u32 epochs of the run, u64 batch,
//   generator (core/rng.hpp's Rng::Snapshot): u64 key, u64 next block, 2 x u64 next_u64 outputs, u32 of them still
//              buffered,
//   optimiser: name (u32 length + bytes), u64 steps, u32 groups, per group name, u32 parameter count, f64 base rate,
//              f64 weight decay, f64 rate at the next step; u32 state tensors, per tensor name, i64 rows, i64 cols,
//              values,
//   history: u32 epochs, per epoch its EpochLog (every field, doubles as f64),
//   model: u64 length + a model file,
//   u32 zlib crc32 of every byte before it.
// Version 1, written before the counter-based generator, differs only in the generator: 5 x 8 u64 (the four words of
// eight xoshiro256+ lanes, eight buffered outputs), u32 outputs still buffered. It still loads: its generator becomes
// the Philox generator whose key is a splitmix64 hash of those 41 numbers, at block 0 (generator_from_version1). The
// resumed run is a valid continuation, but it draws other noise than the older build would have drawn, so its
// numbers differ from that build's uninterrupted run.
// Writing goes through a temporary file of the writing process in the same folder (io/durable_file.hpp), flushed to
// disk (fsync), then renamed over the old checkpoint, and the folder is synced: at every moment `path` holds either the
// previous complete checkpoint or the new one, never a broken one. Loading checks everything (magic, version, checksum,
// lengths, the model's architecture, the optimiser's layout and settings) before it changes anything.
#pragma once

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/io/durable_file.hpp"
#include "bayesdrop/models/model_file.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "bayesdrop/optim/optimizer.hpp"
#include "bayesdrop/training/epoch_log.hpp"

namespace bayesdrop {

/// The format version this build writes; it reads this one and version 1 (see above).
inline constexpr std::uint32_t checkpoint_file_version = 2;
/// The oldest format version this build reads.
inline constexpr std::uint32_t checkpoint_oldest_version = 1;

/// What a checkpoint records about the run besides the model, optimiser and generator.
struct CheckpointInfo {
  int epochs_done = 0;            ///< epochs completed (the history's length)
  int epochs = 0;                 ///< epochs of the whole run
  Index batch = 0;                ///< mini-batch size
  std::string metadata;           ///< the caller's text (e.g. the program's settings as JSON); compared on resume
  std::vector<EpochLog> history;  ///< one entry per completed epoch
};

namespace detail {

inline constexpr std::string_view checkpoint_magic = "BDCHECKP";

inline DataError checkpoint_error(const std::string& source, const std::string& what) {
  return DataError("checkpoint '" + source + "': " + what);
}

inline void checkpoint_put_f64(ModelWriter& w, double v) {
  w.le(model_bit_cast<std::uint64_t>(v), 8);
}
inline double checkpoint_get_f64(ModelReader& in, const char* what) {
  return model_bit_cast<double>(in.le(8, what));
}

inline void checkpoint_put_result(ModelWriter& w, const EpochResult& r) {
  for (double v : {r.cross_entropy, r.accuracy, r.kl, r.seconds}) checkpoint_put_f64(w, v);
  w.le(static_cast<std::uint64_t>(r.examples), 8);
  for (double v : {r.elbo.cross_entropy, r.elbo.kl, r.elbo.kl_weight, r.elbo.n, r.elbo.l2}) checkpoint_put_f64(w, v);
}
inline EpochResult checkpoint_get_result(ModelReader& in) {
  EpochResult r;
  for (double* v : {&r.cross_entropy, &r.accuracy, &r.kl, &r.seconds}) *v = checkpoint_get_f64(in, "a result");
  r.examples = static_cast<Index>(in.le(8, "a result"));
  for (double* v : {&r.elbo.cross_entropy, &r.elbo.kl, &r.elbo.kl_weight, &r.elbo.n, &r.elbo.l2}) {
    *v = checkpoint_get_f64(in, "a result");
  }
  return r;
}

}  // namespace detail

/// The checkpoint's bytes (see the format above) for a run at the end of epoch info.epochs_done.
template <class Scalar>
std::string serialize_checkpoint(const Sequential<Scalar>& model, Optimizer<Scalar>& optimizer, const Rng& rng,
                                 const CheckpointInfo& info) {
  detail::check_model_scalar<Scalar>();
  if (info.epochs_done < 0 || info.epochs_done > info.epochs ||
      info.history.size() != static_cast<std::size_t>(info.epochs_done)) {
    throw InvalidArgument("serialize_checkpoint: " + std::to_string(info.epochs_done) + " epochs done of " +
                          std::to_string(info.epochs) + " with a history of " + std::to_string(info.history.size()) +
                          " epochs; they must agree");
  }
  detail::ModelWriter w;
  w.out.append(detail::checkpoint_magic);
  w.le(checkpoint_file_version, 4);
  w.le(sizeof(Scalar), 4);
  w.le(info.metadata.size(), 8);
  w.out.append(info.metadata);
  w.le(static_cast<std::uint64_t>(info.epochs_done), 4);
  w.le(static_cast<std::uint64_t>(info.epochs), 4);
  w.le(static_cast<std::uint64_t>(info.batch), 8);

  const Rng::Snapshot s = rng.snapshot();
  w.le(s.key, 8);
  w.le(s.block, 8);
  for (std::uint64_t word : s.buffer) w.le(word, 8);
  w.le(static_cast<std::uint64_t>(s.buffered), 4);

  w.str(optimizer.name());
  w.le(static_cast<std::uint64_t>(optimizer.steps()), 8);
  const auto& groups = optimizer.groups();
  w.le(groups.size(), 4);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    w.str(groups[g].name);
    w.le(groups[g].params.size(), 4);
    detail::checkpoint_put_f64(w, groups[g].lr);
    detail::checkpoint_put_f64(w, groups[g].weight_decay);
    detail::checkpoint_put_f64(w, optimizer.current_lr(g));
  }
  const auto state = optimizer.state();
  w.le(state.size(), 4);
  for (const auto& t : state) {
    w.str(t.name);
    w.le(static_cast<std::uint64_t>(t.value->rows()), 8);
    w.le(static_cast<std::uint64_t>(t.value->cols()), 8);
    for (Index k = 0; k < t.value->size(); ++k) w.value(t.value->data()[k]);
  }

  w.le(info.history.size(), 4);
  for (const auto& log : info.history) {
    w.le(static_cast<std::uint64_t>(log.epoch), 4);
    detail::checkpoint_put_result(w, log.train);
    detail::checkpoint_put_result(w, log.test);
    w.le(log.lr.size(), 4);
    for (double v : log.lr) detail::checkpoint_put_f64(w, v);
    detail::checkpoint_put_f64(w, log.kl_weight);
    w.le(log.n_active.size(), 4);
    for (Index v : log.n_active) w.le(static_cast<std::uint64_t>(v), 8);
  }

  const std::string model_bytes = serialize_model(model);
  w.le(model_bytes.size(), 8);
  w.out.append(model_bytes);
  w.le(detail::model_crc(w.out), 4);
  return std::move(w.out);
}

namespace detail {
/// The checkpoint's bytes without their checksum, after checking the magic, the length, the version and the
/// checksum. Throws DataError naming `source`.
inline std::string_view checked_checkpoint_body(std::string_view b, const std::string& source) {
  constexpr std::size_t min_bytes = 8 + 4 + 4 + 4;
  if (b.substr(0, detail::checkpoint_magic.size()) != detail::checkpoint_magic) {
    if (b.size() < detail::checkpoint_magic.size() && detail::checkpoint_magic.substr(0, b.size()) == b) {
      throw detail::checkpoint_error(source, "the file is truncated (" + std::to_string(b.size()) + " bytes)");
    }
    throw detail::checkpoint_error(source, "not a bayesdrop checkpoint (it does not start with \"BDCHECKP\")");
  }
  if (b.size() < min_bytes) {
    throw detail::checkpoint_error(source, "the file is truncated (" + std::to_string(b.size()) + " bytes)");
  }
  const auto version = static_cast<std::uint32_t>(detail::model_le(b.data() + 8, 4));
  if (version < checkpoint_oldest_version || version > checkpoint_file_version) {
    throw detail::checkpoint_error(
        source, "format version " + std::to_string(version) + "; this build reads versions " +
                    std::to_string(checkpoint_oldest_version) + " to " + std::to_string(checkpoint_file_version));
  }
  const std::string_view body = b.substr(0, b.size() - 4);
  if (detail::model_crc(body) != detail::model_le(b.data() + body.size(), 4)) {
    throw detail::checkpoint_error(source,
                                   "checksum mismatch: the file is corrupt or truncated; start the run "
                                   "afresh without resuming");
  }
  return body;
}

/// The bytes of the checkpoint file at `path`. Throws DataError naming the path.
inline std::string read_checkpoint_bytes(const std::string& path) {
  try {
    return detail::read_model_bytes(path);
  } catch (const DataError&) {
    errno = 0;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    const int err = errno;
    if (f) std::fclose(f);
    throw detail::checkpoint_error(path, f ? "cannot be read (larger than 1 GiB or a read error)"
                                           : std::string("cannot open: ") + std::strerror(err ? err : ENOENT));
  }
}
}  // namespace detail

namespace detail {

/// The run's description at the start of a checkpoint's body: the scalar size (which must be Scalar's), the metadata,
/// the epochs done and of the whole run, the batch. The history comes later in the file.
template <class Scalar>
CheckpointInfo read_checkpoint_header(ModelReader& in, const std::string& label) {
  const auto scalar_bytes = static_cast<std::uint32_t>(in.le(4, "the scalar size"));
  if (scalar_bytes != sizeof(Scalar)) {
    throw InvalidArgument(label + ": written by a " + (scalar_bytes == 4 ? "float" : "double") +
                          " run; resume it with the same scalar type");
  }
  CheckpointInfo info;
  const std::uint64_t meta = in.le(8, "the metadata length");
  info.metadata.assign(in.take(meta, "the metadata"), static_cast<std::size_t>(meta));
  info.epochs_done = static_cast<int>(in.le(4, "the epochs done"));
  info.epochs = static_cast<int>(in.le(4, "the epochs"));
  info.batch = static_cast<Index>(in.le(8, "the batch size"));
  return info;
}

/// A checkpoint's generator state, read but not yet checked: `invalid` says why no generator can be in it.
struct CheckpointGenerator {
  Rng::Snapshot snap;
  std::string invalid;
};

/// The generator that continues a version-1 checkpoint's xoshiro256+ state: `words` are its four lanes' words
/// (s0[0..8), s1, s2, s3) and the eight buffered outputs, `buffered` their count. The key is splitmix64 folded over
/// the 41 numbers, the position block 0: deterministic, and as unlikely as any other key to meet another run's stream.
inline CheckpointGenerator generator_from_version1(const std::array<std::uint64_t, 40>& words, std::uint64_t buffered) {
  CheckpointGenerator g;
  if (buffered > 8) g.invalid = "buffered outputs must be in [0, 8], got " + std::to_string(buffered);
  for (int k = 0; k < 8 && g.invalid.empty(); ++k) {
    if ((words[k] | words[8 + k] | words[16 + k] | words[24 + k]) == 0) {
      g.invalid = "xoshiro lane " + std::to_string(k) + " is all zero, a state xoshiro never reaches";
    }
  }
  std::uint64_t key = 0;
  for (std::uint64_t word : words) {
    std::uint64_t x = key ^ word;
    key = splitmix64(x);
  }
  std::uint64_t x = key ^ buffered;
  g.snap.key = splitmix64(x);
  return g;
}

/// The generator's state as written by format `version` (checked when it is restored).
inline CheckpointGenerator read_checkpoint_generator(ModelReader& in, std::uint32_t version) {
  if (version == 1) {
    std::array<std::uint64_t, 40> words{};
    for (auto& word : words) word = in.le(8, "the generator state");
    return generator_from_version1(words, in.le(4, "the generator state"));
  }
  CheckpointGenerator g;
  g.snap.key = in.le(8, "the generator state");
  g.snap.block = in.le(8, "the generator state");
  for (auto& word : g.snap.buffer) word = in.le(8, "the generator state");
  const std::uint64_t buffered = in.le(4, "the generator state");
  g.snap.buffered = buffered <= 2 ? static_cast<int>(buffered) : -1;
  if (buffered > 2) g.invalid = "buffered outputs must be in [0, 2], got " + std::to_string(buffered);
  return g;
}

/// The optimiser's part of a checkpoint, read and compared with the resuming run's optimiser but not applied.
template <class Scalar>
struct CheckpointOptimizer {
  std::int64_t steps = 0;
  std::vector<StateTensor<Scalar>> state;  ///< the resuming optimiser's state tensors, which the values fill
  std::vector<const char*> state_values;   ///< where each tensor's values start in the checkpoint's bytes
  std::string settings_error;              ///< the first difference from the resuming optimiser; empty if none
};

/// A group's name, size, rates and schedule against the resuming optimiser's group `g`: the difference, or empty.
template <class Scalar>
std::string checkpoint_group_difference(const ParamGroup<Scalar>& mine, std::uint64_t g, std::string_view name,
                                        std::uint64_t count, double lr, double wd, double next_lr, std::int64_t steps) {
  const std::string which = "group '" + mine.name + "'";
  if (name != mine.name || count != mine.params.size()) {
    return "group " + std::to_string(g) + " is " + model_quote(name) + " of " + std::to_string(count) +
           " parameters in the checkpoint but '" + mine.name + "' of " + std::to_string(mine.params.size()) + " here";
  }
  if (lr != mine.lr || wd != mine.weight_decay) {
    return which + " has rate " + std::to_string(lr) + " and weight decay " + std::to_string(wd) +
           " in the checkpoint but " + std::to_string(mine.lr) + " and " + std::to_string(mine.weight_decay) + " here";
  }
  if (steps >= 0 && next_lr != mine.lr * mine.schedule.factor(steps)) {
    return which + "'s schedule gives rate " + std::to_string(next_lr) + " at step " + std::to_string(steps) +
           " in the checkpoint but " + std::to_string(mine.lr * mine.schedule.factor(steps)) +
           " here (another schedule or length)";
  }
  return {};
}

/// One optimiser state tensor's name, shape and where its values start; DataError if its values overrun the file.
template <class Scalar>
FileTensor read_checkpoint_state_tensor(ModelReader& in, const std::string& source) {
  FileTensor f{};
  f.name = in.str("a state tensor's name");
  f.rows = static_cast<std::int64_t>(in.le(8, "rows"));
  f.cols = static_cast<std::int64_t>(in.le(8, "cols"));
  const std::uint64_t room = in.left() / sizeof(Scalar);
  if (f.rows < 0 || f.cols < 0 ||
      (f.rows > 0 && static_cast<std::uint64_t>(f.cols) > room / static_cast<std::uint64_t>(f.rows))) {
    throw checkpoint_error(source, "optimiser state " + model_quote(f.name) + " claims " +
                                       shape_string(f.rows, f.cols) +
                                       " values beyond the end of the file: the file is corrupt");
  }
  f.values = in.take(static_cast<std::uint64_t>(f.rows * f.cols) * sizeof(Scalar), "values");
  return f;
}

/// The optimiser's kind, steps, groups as they were built and state tensors, each compared with `optimizer`'s; the
/// first difference is kept, not thrown, so that the rest of the file is still checked (and the model can say
/// whether the real difference is the architecture).
template <class Scalar>
CheckpointOptimizer<Scalar> read_checkpoint_optimizer(ModelReader& in, Optimizer<Scalar>& optimizer,
                                                      const std::string& source) {
  CheckpointOptimizer<Scalar> r;
  std::string& error = r.settings_error;
  const std::string_view opt_name = in.str("the optimiser's name");
  r.steps = static_cast<std::int64_t>(in.le(8, "the optimiser's steps"));
  const auto& groups = optimizer.groups();
  const std::uint64_t group_count = in.le(4, "the group count");
  if (opt_name != optimizer.name()) {
    error = "the optimiser is " + model_quote(opt_name) + " in the checkpoint but '" + optimizer.name() + "' here";
  } else if (group_count != groups.size()) {
    error = "the optimiser has " + std::to_string(group_count) + " parameter groups in the checkpoint but " +
            std::to_string(groups.size()) + " here";
  }
  for (std::uint64_t g = 0; g < group_count; ++g) {
    const std::string_view name = in.str("a group's name");
    const std::uint64_t count = in.le(4, "a group's size");
    const double lr = checkpoint_get_f64(in, "a group's rate");
    const double wd = checkpoint_get_f64(in, "a group's weight decay");
    const double next_lr = checkpoint_get_f64(in, "a group's rate");
    if (!error.empty() || g >= groups.size()) continue;
    error = checkpoint_group_difference(groups[static_cast<std::size_t>(g)], g, name, count, lr, wd, next_lr, r.steps);
  }
  r.state = optimizer.state();
  const std::uint64_t state_count = in.le(4, "the state count");
  if (error.empty() && state_count != r.state.size()) {
    error = "the optimiser has " + std::to_string(state_count) + " state tensors in the checkpoint but " +
            std::to_string(r.state.size()) + " here";
  }
  for (std::uint64_t i = 0; i < state_count; ++i) {
    in.layer = -1;
    const FileTensor t = read_checkpoint_state_tensor<Scalar>(in, source);
    if (error.empty()) {
      const auto& mine = r.state[static_cast<std::size_t>(i)];
      if (t.name != mine.name || t.rows != mine.value->rows() || t.cols != mine.value->cols()) {
        error = "optimiser state " + std::to_string(i) + " is " + model_quote(t.name) + " " +
                shape_string(t.rows, t.cols) + " in the checkpoint but '" + mine.name + "' " +
                shape_string(mine.value->rows(), mine.value->cols()) + " here";
      }
    }
    r.state_values.push_back(t.values);
  }
  return r;
}

/// The history: one EpochLog per epoch done.
inline std::vector<EpochLog> read_checkpoint_history(ModelReader& in, const std::string& source) {
  std::vector<EpochLog> history;
  const std::uint64_t epochs_logged = in.le(4, "the history length");
  for (std::uint64_t e = 0; e < epochs_logged; ++e) {
    EpochLog log;
    log.epoch = static_cast<int>(in.le(4, "an epoch number"));
    log.train = checkpoint_get_result(in);
    log.test = checkpoint_get_result(in);
    const std::uint64_t lrs = in.le(4, "the rates' count");
    if (lrs > in.left() / 8) throw checkpoint_error(source, "a history entry is corrupt");
    for (std::uint64_t k = 0; k < lrs; ++k) log.lr.push_back(checkpoint_get_f64(in, "a rate"));
    log.kl_weight = checkpoint_get_f64(in, "a KL weight");
    const std::uint64_t gates = in.le(4, "the gates' count");
    if (gates > in.left() / 8) throw checkpoint_error(source, "a history entry is corrupt");
    for (std::uint64_t k = 0; k < gates; ++k) log.n_active.push_back(static_cast<Index>(in.le(8, "an n_active")));
    history.push_back(std::move(log));
  }
  return history;
}

/// The resuming run's settings against the checkpoint's: InvalidArgument for other metadata, epochs or batch, or an
/// optimiser built otherwise. For the last, another architecture is the likelier cause: the checkpoint's model is
/// tried on `model` first (a failed load changes nothing and names the difference; a successful one is undone).
template <class Scalar>
void check_checkpoint_settings(const CheckpointInfo& info, const CheckpointInfo& expect,
                               const std::string& settings_error, Sequential<Scalar>& model,
                               std::string_view model_bytes, const std::string& source, const std::string& label) {
  const std::string fix = "; resume with the settings of the run that wrote it, or start afresh without resuming";
  if (info.metadata != expect.metadata) {
    throw InvalidArgument(label + ": written by a run with other settings (checkpoint: " + info.metadata +
                          "; this run: " + expect.metadata + ")" + fix);
  }
  if (info.epochs != expect.epochs || info.batch != expect.batch) {
    throw InvalidArgument(label + ": written by a run of " + std::to_string(info.epochs) + " epochs of batch " +
                          std::to_string(info.batch) + ", this run has " + std::to_string(expect.epochs) +
                          " epochs of batch " + std::to_string(expect.batch) + fix);
  }
  if (!settings_error.empty()) {
    const std::string mine = serialize_model(model);
    deserialize_model(model, model_bytes, source + " (its model)");
    deserialize_model(model, mine);
    throw InvalidArgument(label + ": " + settings_error + fix);
  }
}

/// The optimiser's step count and state values must be usable: a negative count, NaN or infinity (a moment that would
/// poison every step, as in a model) is DataError.
template <class Scalar>
void check_checkpoint_optimizer_values(const CheckpointOptimizer<Scalar>& opt, const std::string& source) {
  if (opt.steps < 0) throw checkpoint_error(source, "a negative step count: the file is corrupt");
  for (std::size_t i = 0; i < opt.state.size(); ++i) {
    for (Index k = 0; k < opt.state[i].value->size(); ++k) {
      const Scalar v = model_value<Scalar>(opt.state_values[i] + k * sizeof(Scalar), sizeof(Scalar));
      if (!std::isfinite(v)) {
        throw checkpoint_error(source, "optimiser state '" + opt.state[i].name + "' holds " +
                                           (std::isnan(v) ? "NaN" : "an infinite value") + " at entry " +
                                           std::to_string(k) +
                                           ": the run diverged before it was checkpointed, or the file is "
                                           "damaged; start the run afresh without resuming");
      }
    }
  }
}

/// The generator the checkpoint's state describes; DataError for a state no generator can be in.
inline Rng restored_checkpoint_generator(const CheckpointGenerator& g, const std::string& source) {
  Rng restored(0);
  try {
    if (!g.invalid.empty()) throw InvalidArgument(g.invalid);
    restored.restore(g.snap);
  } catch (const InvalidArgument& e) {
    throw checkpoint_error(source,
                           std::string("the generator state is invalid (") + e.what() + "): the file is corrupt");
  }
  return restored;
}

}  // namespace detail

/// Restores a run from checkpoint bytes into `model`, `optimizer` and `rng` and returns what else it recorded.
/// `expect` names the resuming run's settings: its epochs, batch and metadata must equal the checkpoint's, and the
/// model and optimiser must be built as in the run that wrote it (same layers and shapes, same optimiser, groups,
/// rates and schedules). Throws DataError for bytes that are not a valid checkpoint, ShapeError for another
/// architecture, InvalidArgument for other settings; on any error nothing is changed.
template <class Scalar>
CheckpointInfo deserialize_checkpoint(Sequential<Scalar>& model, Optimizer<Scalar>& optimizer, Rng& rng,
                                      std::string_view b, const CheckpointInfo& expect,
                                      const std::string& source = "<memory>") {
  detail::check_model_scalar<Scalar>();
  const std::string_view body = detail::checked_checkpoint_body(b, source);
  const std::string label = "checkpoint '" + source + "'";
  // Read and check everything in the file's order (see the format above), changing nothing.
  const auto version = static_cast<std::uint32_t>(detail::model_le(body.data() + 8, 4));
  detail::ModelReader in(body.substr(12), label);
  CheckpointInfo info = detail::read_checkpoint_header<Scalar>(in, label);
  const detail::CheckpointGenerator generator = detail::read_checkpoint_generator(in, version);
  const detail::CheckpointOptimizer<Scalar> opt = detail::read_checkpoint_optimizer(in, optimizer, source);
  info.history = detail::read_checkpoint_history(in, source);
  const std::uint64_t model_size = in.le(8, "the model's length");
  const std::string_view model_bytes(in.take(model_size, "the model"), static_cast<std::size_t>(model_size));
  if (in.left() != 0) {
    throw detail::checkpoint_error(source, std::to_string(in.left()) +
                                               " unexpected bytes after the model: the file "
                                               "is corrupt");
  }
  if (info.history.size() != static_cast<std::size_t>(info.epochs_done) || info.epochs_done > info.epochs) {
    throw detail::checkpoint_error(source, "its history does not match its epoch count: the file is corrupt");
  }
  detail::check_checkpoint_settings(info, expect, opt.settings_error, model, model_bytes, source, label);
  detail::check_checkpoint_optimizer_values(opt, source);
  const Rng restored = detail::restored_checkpoint_generator(generator, source);

  // The model last: it checks itself completely and changes nothing on failure; after it nothing can fail.
  deserialize_model(model, model_bytes, source + " (its model)");
  for (std::size_t i = 0; i < opt.state.size(); ++i) {
    Matrix<Scalar>& target = *opt.state[i].value;
    for (Index k = 0; k < target.size(); ++k) {
      target.data()[k] = detail::model_value<Scalar>(opt.state_values[i] + k * sizeof(Scalar), sizeof(Scalar));
    }
  }
  optimizer.set_steps(opt.steps);
  rng = restored;
  return info;
}

/// Writes a checkpoint of the run to `path` durably (see the top of this file). Throws DataError naming the path.
template <class Scalar>
void save_checkpoint(const std::string& path, const Sequential<Scalar>& model, Optimizer<Scalar>& optimizer,
                     const Rng& rng, const CheckpointInfo& info) {
  write_file_durably(path, serialize_checkpoint(model, optimizer, rng, info), "checkpoint");
}

/// Restores the run checkpointed at `path` (see deserialize_checkpoint). Throws DataError, ShapeError or
/// InvalidArgument naming the path; on any error nothing is changed.
template <class Scalar>
CheckpointInfo load_checkpoint(const std::string& path, Sequential<Scalar>& model, Optimizer<Scalar>& optimizer,
                               Rng& rng, const CheckpointInfo& expect) {
  return deserialize_checkpoint(model, optimizer, rng, detail::read_checkpoint_bytes(path), expect, path);
}

/// Whether the file at `path` starts as a checkpoint does (damaged or not): a program can refuse to start a new run
/// over it, which would replace that run's progress. False for a missing or unreadable file.
inline bool is_checkpoint_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(detail::checkpoint_magic.size(), '\0');
  return in.read(head.data(), std::streamsize(head.size())) && head == detail::checkpoint_magic;
}

/// The metadata text of the checkpoint at `path` (checked as load_checkpoint checks the file: magic, version,
/// checksum), to learn which run or phase of a run wrote it before building the model it restores into.
/// Throws DataError naming the path.
inline std::string read_checkpoint_metadata(const std::string& path) {
  const std::string bytes = detail::read_checkpoint_bytes(path);
  const std::string label = "checkpoint '" + path + "'";
  detail::ModelReader in(detail::checked_checkpoint_body(bytes, path).substr(12), label);
  in.le(4, "the scalar size");
  const std::uint64_t meta = in.le(8, "the metadata length");
  return std::string(in.take(meta, "the metadata"), static_cast<std::size_t>(meta));
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template std::string serialize_checkpoint(const Sequential<float>&, Optimizer<float>&, const Rng&,
                                                 const CheckpointInfo&);
extern template CheckpointInfo deserialize_checkpoint(Sequential<float>&, Optimizer<float>&, Rng&, std::string_view,
                                                      const CheckpointInfo&, const std::string&);
extern template std::string serialize_checkpoint(const Sequential<double>&, Optimizer<double>&, const Rng&,
                                                 const CheckpointInfo&);
extern template CheckpointInfo deserialize_checkpoint(Sequential<double>&, Optimizer<double>&, Rng&, std::string_view,
                                                      const CheckpointInfo&, const std::string&);
#endif

}  // namespace bayesdrop
