// Loading MNIST and Fashion-MNIST: the same four IDX file names and format, so one loader serves both.
//
// A missing directory or file is the first thing a new user hits, so those errors say how to get the data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/types.hpp"
#include "bayesdrop/io/dataset.hpp"
#include "bayesdrop/io/idx.hpp"

namespace bayesdrop {

/// Which half of the data set: 60000 training or 10000 test examples.
enum class Split { train, test };

/// Where a data set lives unless the user says otherwise: "mnist" -> $BAYESDROP_MNIST_DIR if set, else
/// "data/mnist" (where the repository's download script puts it); "fashion" -> $BAYESDROP_FASHION_DIR if set, else
/// "/usr/share/datasets/fashion-mnist" (Debian package dataset-fashion-mnist).
/// Throws InvalidArgument for any other name.
inline std::string default_data_dir(const std::string& dataset) {
  const char* variable = nullptr;
  const char* fallback = nullptr;
  if (dataset == "mnist") {
    variable = "BAYESDROP_MNIST_DIR";
    fallback = "data/mnist";
  } else if (dataset == "fashion") {
    variable = "BAYESDROP_FASHION_DIR";
    fallback = "/usr/share/datasets/fashion-mnist";
  } else {
    throw InvalidArgument("default_data_dir: unknown data set '" + dataset + "'; use \"mnist\" or \"fashion\"");
  }
  const char* value = std::getenv(variable);
  return value && *value ? std::string(value) : std::string(fallback);
}

namespace detail {

inline std::string mnist_how_to_get_data() {
  return "MNIST is four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
         "t10k-labels-idx1-ubyte, each plain or .gz) in one folder; load_mnist reads the folder it is given, and "
         "default_data_dir(\"mnist\") the one in BAYESDROP_MNIST_DIR. For Fashion-MNIST, apt-get install "
         "dataset-fashion-mnist; default_data_dir(\"fashion\") reads it from " +
         default_data_dir("fashion") + ".";
}

/// dir/base.gz if it exists, else dir/base. Throws DataError (with how to get the data) if neither exists.
inline std::string mnist_find_file(const std::string& dir, const std::string& base) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const std::string& name : {base + ".gz", base}) {
    const fs::path path = fs::path(dir) / name;
    if (fs::exists(path, ec)) return path.string();
  }
  throw DataError("MNIST-format data directory '" + dir + "' has neither " + base + ".gz nor " + base + ". " +
                  mnist_how_to_get_data());
}

}  // namespace detail

/// Turns an IDX images file and an IDX labels file into a Dataset: pixels become byte / 255, labels must be below
/// `classes`. The names are used in messages. Throws InvalidArgument if the IdxData are not 3-d / 1-d or classes
/// is not positive; DataError if the counts differ, there are no images, or a label is out of range.
template <class Scalar>
Dataset<Scalar> dataset_from_idx(const IdxData& images, const std::string& images_name, const IdxData& labels,
                                 const std::string& labels_name, int classes = 10) {
  static_assert(std::is_floating_point<Scalar>::value, "dataset_from_idx: Scalar must be float or double");
  if (images.dims.size() != 3 || labels.dims.size() != 1) {
    throw InvalidArgument("dataset_from_idx: expected 3-d images and 1-d labels, got " +
                          std::to_string(images.dims.size()) + "-d and " + std::to_string(labels.dims.size()) +
                          "-d; read them with read_idx_images / read_idx_labels");
  }
  if (classes <= 0 || classes > 256) {
    throw InvalidArgument("dataset_from_idx: classes must be in 1..256, got " + std::to_string(classes));
  }
  const Index n = images.count();
  if (n != labels.count()) {
    throw DataError("image and label counts differ: '" + images_name + "' holds " + std::to_string(n) +
                    " images but '" + labels_name + "' holds " + std::to_string(labels.count()) +
                    " labels; the two files must come from the same data set and split");
  }
  if (n == 0) throw DataError("'" + images_name + "' holds no images");

  Dataset<Scalar> out;
  out.shape = ImageShape{1, images.dims[1], images.dims[2]};
  const Index pixels = out.shape.size();
  out.images.resize(pixels, n);
  // One flat loop over all pixels: the compiler vectorises the byte -> Scalar conversion. Division (not
  // multiplication by 1/255) keeps 255 -> exactly 1 and every value correctly rounded.
  const std::uint8_t* src = images.bytes.data();
  Scalar* dst = out.images.data();
  const std::size_t total = images.bytes.size();
  for (std::size_t i = 0; i < total; ++i) dst[i] = static_cast<Scalar>(src[i]) / Scalar(255);

  out.labels.resize(n);
  for (Index i = 0; i < n; ++i) {
    const int label = labels.bytes[static_cast<std::size_t>(i)];
    if (label >= classes) {
      throw DataError("'" + labels_name + "': label " + std::to_string(label) + " of example " + std::to_string(i) +
                      " is outside 0.." + std::to_string(classes - 1) + " (corrupt file or not a labels file?)");
    }
    out.labels(i) = static_cast<Label>(label);
  }
  return out;
}

/// Loads one split of MNIST or Fashion-MNIST from `dir`, which holds train-images-idx3-ubyte,
/// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each .gz (preferred) or plain.
/// Throws DataError if the directory or a file is missing (saying how to get the data), a file is corrupt, or the
/// image and label counts differ.
template <class Scalar>
Dataset<Scalar> load_mnist(const std::string& dir, Split split) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw DataError("MNIST-format data directory '" + dir + "' does not exist or is not a directory. " +
                    detail::mnist_how_to_get_data());
  }
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string images_path = detail::mnist_find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = detail::mnist_find_file(dir, prefix + "-labels-idx1-ubyte");
  const IdxData labels = read_idx_labels(labels_path);
  const IdxData images = read_idx_images(images_path);
  return dataset_from_idx<Scalar>(images, images_path, labels, labels_path, 10);
}

/// The images file load_mnist reads for `split` from `dir` (the .gz or the plain one), for messages that name it.
/// Throws DataError (with how to get the data) if there is none.
inline std::string mnist_images_file(const std::string& dir, Split split) {
  return detail::mnist_find_file(dir, split == Split::train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte");
}

/// The images and labels files load_mnist reads for `split` from `dir` that exist (a missing one is left out: loading
/// names it), e.g. to check that no output of a program overwrites them.
inline std::vector<std::string> mnist_files(const std::string& dir, Split split) {
  std::vector<std::string> out;
  const std::string prefix = split == Split::train ? "train" : "t10k";
  for (const char* kind : {"-images-idx3-ubyte", "-labels-idx1-ubyte"}) {
    try {
      out.push_back(detail::mnist_find_file(dir, prefix + kind));
    } catch (const DataError&) {
    }
  }
  return out;
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template Dataset<float> load_mnist(const std::string&, Split);
extern template Dataset<double> load_mnist(const std::string&, Split);
#endif

}  // namespace bayesdrop
