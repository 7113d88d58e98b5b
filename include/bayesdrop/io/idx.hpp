// Reading IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/).
//
// Layout: magic bytes 0x00 0x00 <type> <ndims>, then ndims big-endian uint32 sizes, then the elements in row-major
// order. Only type 0x08 (unsigned byte) is accepted: it is what both data sets use.
//
// Why so many checks: these files come from the network and are often truncated or swapped. Every problem becomes
// a DataError naming the file and what is wrong instead of garbage pixels or a crash. The reader never trusts the
// header for an allocation: the buffer grows as data actually arrives, elements are capped at idx_max_elements,
// and at most one byte beyond what the header promises is decompressed (so a gzip bomb costs nothing).
//
// One reading routine serves three byte sources: a file (plain or .gz, through zlib's gzread), bytes in memory, and
// gzip bytes in memory (zlib's inflate). The in-memory sources exist for the fuzzer (tests/fuzz/fuzz_idx.cpp).
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

/// The largest number of elements an IDX file may hold (2^31 bytes); larger headers are rejected as corrupt.
inline constexpr std::uint64_t idx_max_elements = std::uint64_t{1} << 31;

/// The contents of an IDX file of unsigned bytes.
struct IdxData {
  std::vector<Index> dims;          ///< sizes from the header; dims[0] is the number of items
  std::vector<std::uint8_t> bytes;  ///< product(dims) elements in file (row-major) order

  /// Number of items (images or labels).
  Index count() const { return dims.empty() ? 0 : dims[0]; }
  /// Elements per item: product of dims[1..] (1 for a labels file).
  Index item_size() const {
    Index n = 1;
    for (std::size_t i = 1; i < dims.size(); ++i) n *= dims[i];
    return n;
  }
};

namespace detail {

inline DataError idx_error(const std::string& source, const std::string& what) {
  return DataError("IDX file '" + source + "': " + what);
}

inline std::string idx_hex(std::uint32_t value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*X", digits, static_cast<unsigned>(value));
  return buf;
}

inline std::uint32_t idx_be32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}

inline const char* idx_type_name(std::uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "not an IDX type";
  }
}

/// What a file with `dimensions` dimensions is, for messages.
inline std::string idx_kind(int dimensions) {
  if (dimensions == 3) return "IDX images (unsigned bytes, 3 dimensions)";
  if (dimensions == 1) return "IDX labels (unsigned bytes, 1 dimension)";
  return "IDX unsigned bytes, " + std::to_string(dimensions) + " dimensions";
}

inline std::string idx_dims_string(const std::vector<Index>& dims) {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

/// Checks the 4 magic bytes (of which `got` were read). Throws DataError.
inline void idx_check_magic(const std::uint8_t* b, std::size_t got, int dimensions, const std::string& source) {
  const std::uint32_t expected = 0x0800u | static_cast<std::uint32_t>(dimensions);
  if (got < 4) {
    const std::string have = got == 0 ? std::string("the file is empty") : "only " + std::to_string(got) + " byte(s)";
    throw idx_error(source, "truncated header: " + have + ", but an " + idx_kind(dimensions) +
                                " header starts with the 4-byte magic number " + idx_hex(expected, 8));
  }
  const std::uint32_t found = idx_be32(b);
  if (b[0] != 0 || b[1] != 0) {
    std::string hint;
    if (b[0] == 0x1F && b[1] == 0x8B) hint = " (these are gzip-compressed bytes; decompress them first)";
    throw idx_error(source, "wrong magic number " + idx_hex(found, 8) + ", expected " + idx_hex(expected, 8) + " (" +
                                idx_kind(dimensions) + "): not an IDX file" + hint);
  }
  if (b[2] != 0x08) {
    throw idx_error(source, "wrong magic number " + idx_hex(found, 8) + ", expected " + idx_hex(expected, 8) +
                                ": data type byte " + idx_hex(b[2], 2) + " (" + idx_type_name(b[2]) +
                                "), expected 0x08 (unsigned byte) as in MNIST and Fashion-MNIST");
  }
  if (b[3] != dimensions) {
    std::string hint;
    if (dimensions == 3 && b[3] == 1) hint = "; this is a labels file, was it given in place of the images?";
    if (dimensions == 1 && b[3] == 3) hint = "; this is an images file, was it given in place of the labels?";
    throw idx_error(source, "wrong magic number " + idx_hex(found, 8) + ", expected " + idx_hex(expected, 8) + ": " +
                                std::to_string(b[3]) + " dimension(s), expected " + std::to_string(dimensions) + " (" +
                                idx_kind(dimensions) + ")" + hint);
  }
}

/// Reads the dimension sizes (after the magic) and caps their product. Throws DataError.
inline std::vector<Index> idx_parse_dims(const std::uint8_t* b, std::size_t got, int dimensions,
                                         const std::string& source, std::uint64_t& elements) {
  const std::size_t need = 4 * static_cast<std::size_t>(dimensions);
  if (got < need) {
    throw idx_error(source, "truncated header: " + std::to_string(4 + got) + " bytes, an " + idx_kind(dimensions) +
                                " header has " + std::to_string(4 + need) + " (magic and " +
                                std::to_string(dimensions) + " big-endian uint32 sizes)");
  }
  std::vector<Index> dims(static_cast<std::size_t>(dimensions));
  for (int i = 0; i < dimensions; ++i) dims[static_cast<std::size_t>(i)] = idx_be32(b + 4 * i);
  // Product of the per-item sizes first (all must be positive), then times the item count; each step is checked
  // against the cap before multiplying, so nothing overflows.
  std::uint64_t item = 1;
  for (int i = 1; i < dimensions; ++i) {
    const auto d = static_cast<std::uint64_t>(dims[static_cast<std::size_t>(i)]);
    if (d == 0) {
      throw idx_error(source, "header dimensions " + idx_dims_string(dims) + ": dimension " + std::to_string(i + 1) +
                                  " of " + std::to_string(dimensions) +
                                  " is 0, items cannot be empty (corrupt header?)");
    }
    if (d > idx_max_elements / item) {
      item = idx_max_elements + 1;  // over the cap; reported below
      break;
    }
    item *= d;
  }
  const auto n = static_cast<std::uint64_t>(dims[0]);
  if (item > idx_max_elements || (n != 0 && n > idx_max_elements / item)) {
    throw idx_error(source, "header dimensions " + idx_dims_string(dims) +
                                " give more than 2^31 elements, "
                                "far beyond MNIST-sized data: the header is corrupt");
  }
  elements = n * item;
  return dims;
}

/// A plausible upper bound on the bytes `stored` compressed bytes inflate to, for the first buffer allocation only
/// (the buffer still grows past it if needed): deflate rarely beats 16:1 on image data, and a lying header on a
/// small file then costs at most 16 times the file's size.
inline std::size_t idx_inflate_hint(std::size_t stored) {
  const std::size_t slack = std::size_t{1} << 16;
  return stored > (SIZE_MAX - slack) / 16 ? SIZE_MAX : 16 * stored + slack;
}

/// Reads from a file through zlib: .gz files are decompressed, plain files read as they are.
class IdxGzFileReader {
 public:
  explicit IdxGzFileReader(const std::string& path) : path_(path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size <= SIZE_MAX) stored_ = static_cast<std::size_t>(size);
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) {
      const int err = errno;
      throw idx_error(path, std::string("cannot open: ") + (err ? std::strerror(err) : "out of memory"));
    }
    gzbuffer(file_, 1u << 20);  // large input buffer: fewer read() calls on the 47 MB training images
  }
  ~IdxGzFileReader() { gzclose(file_); }
  IdxGzFileReader(const IdxGzFileReader&) = delete;
  IdxGzFileReader& operator=(const IdxGzFileReader&) = delete;

  /// Reads up to n bytes; fewer only at the end of the data. Throws DataError on read or gzip errors.
  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t total = 0;
    while (total < n) {
      const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - total, std::size_t{1} << 30));
      errno = 0;
      const int got = gzread(file_, dst + total, chunk);
      const int err = errno;
      check(err);
      if (got <= 0) break;
      total += static_cast<std::size_t>(got);
    }
    return total;
  }
  bool decompressed() const { return gzdirect(file_) == 0; }
  /// Likely upper bound on the remaining output (0: unknown); valid once read() has been called.
  std::size_t size_hint() const { return decompressed() ? idx_inflate_hint(stored_) : stored_; }

 private:
  void check(int saved_errno) {
    int code = Z_OK;
    const char* msg = gzerror(file_, &code);
    if (code == Z_OK) return;
    if (code == Z_MEM_ERROR) throw std::bad_alloc();
    std::string text = msg ? msg : "";
    const std::string prefix = path_ + ": ";  // zlib prepends the path; we already name it
    if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
    if (code == Z_BUF_ERROR) {
      throw idx_error(path_, "corrupt gzip file: the compressed stream ends early (truncated download?)");
    }
    if (code == Z_ERRNO) {
      throw idx_error(path_, "read error: " + (saved_errno ? std::string(std::strerror(saved_errno)) : text));
    }
    throw idx_error(path_, "corrupt gzip file: " + text);
  }

  std::string path_;
  std::size_t stored_ = 0;
  gzFile file_ = nullptr;
};

/// Reads plain bytes from memory.
class IdxMemoryReader {
 public:
  IdxMemoryReader(const std::uint8_t* data, std::size_t size) : data_(data), left_(size) {}
  std::size_t read(std::uint8_t* dst, std::size_t n) {
    const std::size_t k = std::min(n, left_);
    if (k) std::memcpy(dst, data_, k);
    data_ += k;
    left_ -= k;
    return k;
  }
  bool decompressed() const { return false; }
  std::size_t size_hint() const { return left_; }

 private:
  const std::uint8_t* data_;
  std::size_t left_;
};

/// Decompresses gzip bytes in memory (one or more concatenated members, nothing after them).
class IdxGzipMemoryReader {
 public:
  IdxGzipMemoryReader(const std::uint8_t* data, std::size_t size, const std::string& source)
      : next_(data), left_(size), source_(source) {
    const int ret = inflateInit2(&strm_, 15 + 16);  // 16: gzip wrapper only, trailer CRC and length checked
    if (ret == Z_MEM_ERROR) throw std::bad_alloc();
    if (ret != Z_OK) throw idx_error(source_, "cannot initialise zlib inflate (error " + std::to_string(ret) + ")");
  }
  ~IdxGzipMemoryReader() { inflateEnd(&strm_); }
  IdxGzipMemoryReader(const IdxGzipMemoryReader&) = delete;
  IdxGzipMemoryReader& operator=(const IdxGzipMemoryReader&) = delete;

  /// Reads up to n decompressed bytes; fewer only at the end of the stream. Throws DataError on corrupt gzip data.
  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t total = 0;
    while (total < n && !done_) {
      if (strm_.avail_in == 0 && left_ > 0) {
        const auto k = static_cast<uInt>(std::min<std::size_t>(left_, UINT_MAX));
        strm_.next_in = const_cast<Bytef*>(next_);  // zlib does not write through next_in
        strm_.avail_in = k;
        next_ += k;
        left_ -= k;
      }
      const auto room = static_cast<uInt>(std::min<std::size_t>(n - total, std::size_t{1} << 30));
      strm_.next_out = dst + total;
      strm_.avail_out = room;
      const int ret = inflate(&strm_, Z_NO_FLUSH);
      total += room - strm_.avail_out;
      if (ret == Z_OK) continue;
      if (ret == Z_STREAM_END) {
        // Input not yet consumed is contiguous: strm_.next_in .. +avail_in, then next_ .. +left_.
        const std::size_t rest = strm_.avail_in + left_;
        if (rest == 0) {
          done_ = true;
        } else if (rest >= 2 && strm_.next_in[0] == 0x1F && strm_.next_in[1] == 0x8B) {
          inflateReset(&strm_);  // another gzip member follows, as gzip -c a b > ab makes
        } else {
          throw idx_error(source_,
                          "corrupt gzip data: " + std::to_string(rest) + " byte(s) after the end of the gzip stream");
        }
        continue;
      }
      if (ret == Z_MEM_ERROR) throw std::bad_alloc();
      if (ret == Z_BUF_ERROR && strm_.avail_in == 0 && left_ == 0) {
        throw idx_error(source_, "corrupt gzip data: the compressed stream ends early (truncated?)");
      }
      throw idx_error(source_, std::string("corrupt gzip data: ") +
                                   (strm_.msg ? strm_.msg : "inflate error " + std::to_string(ret)));
    }
    return total;
  }
  bool decompressed() const { return true; }
  std::size_t size_hint() const { return idx_inflate_hint(strm_.avail_in + left_); }

 private:
  z_stream strm_{};
  const std::uint8_t* next_;
  std::size_t left_;
  std::string source_;
  bool done_ = false;
};

/// The one IDX reading routine, over any reader with read(dst, n), decompressed() and size_hint().
/// Throws DataError.
template <class Reader>
IdxData read_idx_from(Reader& in, int dimensions, const std::string& source) {
  if (dimensions < 1 || dimensions > 255) {
    throw InvalidArgument("read_idx: dimensions must be in 1..255 (3 for images, 1 for labels), got " +
                          std::to_string(dimensions));
  }
  std::uint8_t magic[4] = {0, 0, 0, 0};
  idx_check_magic(magic, in.read(magic, 4), dimensions, source);

  std::vector<std::uint8_t> header(4 * static_cast<std::size_t>(dimensions));
  std::uint64_t elements = 0;
  IdxData out;
  out.dims = idx_parse_dims(header.data(), in.read(header.data(), header.size()), dimensions, source, elements);

  // Grow the buffer as data arrives (never trust the header alone with an allocation), up to one byte more than
  // promised: that byte tells trailing garbage from a clean end without reading (or inflating) any further.
  // The first allocation is the smaller of the promise and the reader's size hint, so real files are read into
  // one buffer without copies while a lying header on a small file allocates little.
  const auto expected = static_cast<std::size_t>(elements);
  const std::size_t limit = expected + 1;
  const std::size_t first = std::min(limit, std::max(in.size_hint(), std::size_t{1} << 16));
  std::vector<std::uint8_t>& data = out.bytes;
  std::size_t filled = 0;
  for (;;) {
    if (filled == data.size()) {
      if (data.size() == limit) break;
      data.resize(std::min(limit, std::max(2 * data.size(), first)));
    }
    const std::size_t got = in.read(data.data() + filled, data.size() - filled);
    if (got == 0) break;
    filled += got;
  }
  const std::string where = in.decompressed() ? " after decompression" : "";
  const std::string header_bytes = std::to_string(4 + header.size());
  if (filled < expected) {
    throw idx_error(source, "truncated data: the header promises " + idx_dims_string(out.dims) + " = " +
                                std::to_string(expected) + " bytes after its " + header_bytes + " bytes, but only " +
                                std::to_string(filled) + " follow" + where + " (incomplete download?)");
  }
  if (filled > expected) {
    throw idx_error(source, "trailing bytes: more data than the header's " + idx_dims_string(out.dims) + " = " +
                                std::to_string(expected) + " bytes" + where +
                                "; the file is corrupt or the header is wrong");
  }
  data.resize(expected);
  return out;
}

}  // namespace detail

/// Parses an IDX file of unsigned bytes with `dimensions` dimensions (3: images, 1: labels) from plain bytes in
/// memory. `source` names the bytes in messages. Throws DataError if the bytes are not exactly such a file.
inline IdxData parse_idx(const std::uint8_t* bytes, std::size_t size, int dimensions,
                         const std::string& source = "<memory>") {
  detail::IdxMemoryReader in(bytes, size);
  return detail::read_idx_from(in, dimensions, source);
}

/// As parse_idx, for gzip-compressed bytes (a .gz file in memory; concatenated members allowed).
/// Throws DataError on corrupt or truncated gzip data as well.
inline IdxData parse_idx_gzip(const std::uint8_t* bytes, std::size_t size, int dimensions,
                              const std::string& source = "<memory>") {
  detail::IdxGzipMemoryReader in(bytes, size, source);
  return detail::read_idx_from(in, dimensions, source);
}

/// Reads an IDX file of unsigned bytes with `dimensions` dimensions; a gzip-compressed file is decompressed.
/// Throws DataError (naming `path`) if it cannot be opened or read, is corrupt gzip, or is not exactly such a file.
inline IdxData read_idx(const std::string& path, int dimensions) {
  detail::IdxGzFileReader in(path);
  return detail::read_idx_from(in, dimensions, path);
}

/// Reads an IDX images file (magic 0x00000803: count x rows x cols bytes), plain or .gz. Throws DataError.
inline IdxData read_idx_images(const std::string& path) {
  return read_idx(path, 3);
}

/// Reads an IDX labels file (magic 0x00000801: count bytes), plain or .gz. Throws DataError.
inline IdxData read_idx_labels(const std::string& path) {
  return read_idx(path, 1);
}

}  // namespace bayesdrop
