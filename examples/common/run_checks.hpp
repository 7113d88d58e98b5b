// Checks around a training run: data that does not fit the model is refused before any work, naming the file; a
// run that diverges says so (a warning on stderr and in the report) instead of ending quietly at chance accuracy.
#pragma once

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "bayesdrop/bayesdrop.hpp"
#include "outputs.hpp"

namespace run_checks {

namespace bd = bayesdrop;

inline std::string shape_text(const bd::ImageShape& s) {
  return std::to_string(s.height) + "x" + std::to_string(s.width) +
         (s.channels == 1 ? "" : "x" + std::to_string(s.channels));
}

/// Throws bayesdrop::DataError naming `images_file` unless its images fit the network `model_name` built as
/// `model`: as many pixels as the model reads, and for a convolutional network (lenet5) 28x28 images, since a
/// 16x49 image has 784 pixels too but would be read as a scrambled 28x28 one.
template <class Scalar>
void check_images_fit(const bd::Dataset<Scalar>& data, const std::string& images_file,
                      const bd::Sequential<Scalar>& model, const std::string& model_name) {
  const bd::Index pixels = data.images.rows();
  const bool spatial = bd::model_reads_images(model_name);
  const bool fits = pixels == model.input_rows() &&
                    (!spatial || (data.shape.channels == 1 && data.shape.height == 28 && data.shape.width == 28));
  if (fits) return;
  const std::string reads = spatial ? "28x28 images (784 pixels)" : std::to_string(model.input_rows()) + " pixels";
  throw bd::DataError("'" + images_file + "' holds " + shape_text(data.shape) + " images (" + std::to_string(pixels) +
                      " pixels) but the model " + model_name + " reads " + reads +
                      "; use MNIST-format files of 28x28 images");
}

/// The IDX files load_mnist reads from `dir` for each of `splits` ("train", "t10k"), each named by `flag` (the flag
/// that gave the folder), for outputs::check_outputs_apart. A missing file is left out: loading names it.
inline std::vector<outputs::FlagPath> data_files(const std::string& dir, const std::string& flag,
                                                 std::initializer_list<const char*> splits) {
  std::vector<outputs::FlagPath> out;
  for (const std::string split : splits) {
    for (const auto& file : bd::mnist_files(dir, split == "train" ? bd::Split::train : bd::Split::test)) {
      out.push_back({flag, file});
    }
  }
  return out;
}

/// load_mnist, with how to get MNIST in the program's terms added when the folder or one of the split's files is
/// missing: scripts/fetch-mnist.sh and `flag`, the option that names the folder (the library's message says what the
/// data is and where it looked). Other errors (a corrupt file) pass unchanged.
template <class Scalar>
bd::Dataset<Scalar> load_data(const std::string& dir, bd::Split split, const std::string& flag) {
  try {
    return bd::load_mnist<Scalar>(dir, split);
  } catch (const bd::DataError& e) {
    namespace fs = std::filesystem;
    std::error_code ec;
    bool missing = !fs::is_directory(dir, ec);
    const std::string prefix = split == bd::Split::train ? "train" : "t10k";
    for (const char* kind : {"-images-idx3-ubyte", "-labels-idx1-ubyte"}) {
      const fs::path base = fs::path(dir) / (prefix + kind);
      if (!fs::exists(base, ec) && !fs::exists(fs::path(base.string() + ".gz"), ec)) missing = true;
    }
    if (!missing) throw;
    throw bd::DataError(std::string(e.what()) + " To download MNIST, run scripts/fetch-mnist.sh DIR, then pass " +
                        flag + " DIR.");
  }
}

/// The CRC-32 (zlib's, as model and checkpoint files use) of a data set as decoded: its pixel values, then its labels,
/// as 8 hex digits. Equal for the same images and labels whether read from .gz or plain files; a checkpoint's settings
/// record it, so a --resume with other data of the same size is refused.
template <class Scalar>
std::string data_crc32(const bd::Dataset<Scalar>& data) {
  const auto bytes = [](const auto& m) {
    return std::string_view(reinterpret_cast<const char*>(m.data()), std::size_t(m.size()) * sizeof(*m.data()));
  };
  const std::string_view labels = bytes(data.labels);
  const auto crc =
      crc32_combine(bd::bytes_crc32(bytes(data.images)), bd::bytes_crc32(labels), static_cast<z_off_t>(labels.size()));
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08lx", static_cast<unsigned long>(crc));
  return hex;
}

/// The CRC-32 of the model file at `path` (read as a model file is: regular, at most 1 GiB), as 8 hex digits: the
/// checkpoint records the --init-from file by content, not by the spelling of its path. It is the CRC of the bytes
/// before the file's last 4, its own checksum: the CRC of bytes followed by their CRC is the same for every file.
inline std::string file_crc32(const std::string& path) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08lx", static_cast<unsigned long>(bd::model_file_crc32(path)));
  return hex;
}

/// The cores this process may run on: its affinity mask (taskset, a container's cpuset), else the machine's.
inline int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return std::max(1, int(std::thread::hardware_concurrency()));
}

/// `requested` threads, capped at available_cores(): more threads than cores only wait for each other, each product
/// as slow as its slowest thread (40x to 400x slower on 2 cores). Says so on stderr, naming `program`, when it caps.
inline int capped_threads(int requested, const char* program) {
  const int cores = available_cores();
  if (requested <= cores) return requested;
  std::fprintf(stderr,
               "%s: warning: --threads %d is more than the %d core(s) this process may run on; running %d thread(s) "
               "(more would only wait for each other)\n",
               program, requested, cores, cores);
  return cores;
}

/// Watches the epochs of a run for divergence. Each kind of warning is raised once per run:
///  - the training cross-entropy is not finite or above 2 ln 10 (twice that of guessing every class with
///    probability 1/10): the network does far worse than knowing nothing;
///  - the training cross-entropy rose above 10 times its first-epoch value (and above 1);
///  - the test accuracy is at chance level (at most 0.15 for 10 classes) after an epoch.
class DivergenceWatch {
 public:
  /// Checks one epoch; returns the warnings it raised now (also kept in warnings()).
  std::vector<std::string> check(const bd::EpochLog& log) {
    std::vector<std::string> now;
    const double ce = log.train.cross_entropy;
    const std::string at = "epoch " + std::to_string(log.epoch) + ": ";
    const std::string fix = "; the run diverged: lower the learning rate (--lr)";
    if (first_ < 0 && std::isfinite(ce)) first_ = ce;
    if (!std::isfinite(ce) || ce > 2 * std::log(10.0)) {
      raise(0, at + "the training cross-entropy is " + number(ce) + ", worse than guessing (ln 10 = 2.30)" + fix, now);
    } else if (first_ >= 0 && ce > 10 * first_ && ce > 1) {
      raise(1,
            at + "the training cross-entropy rose to " + number(ce) + " from " + number(first_) +
                " in the first epoch" + fix,
            now);
    }
    if (log.test.examples > 0 && log.test.accuracy <= 0.15) {
      raise(2, at + "the test accuracy is " + number(log.test.accuracy) + ", at chance level (0.1)" + fix, now);
    }
    return now;
  }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  static std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
  }
  void raise(int kind, const std::string& text, std::vector<std::string>& now) {
    if (raised_[kind]) return;
    raised_[kind] = true;
    warnings_.push_back(text);
    now.push_back(text);
  }
  double first_ = -1;
  bool raised_[3] = {false, false, false};
  std::vector<std::string> warnings_;
};

}  // namespace run_checks
