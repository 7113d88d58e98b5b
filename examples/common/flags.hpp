// Checks of the programs' numeric flags (CLI11 validators, which see the text before it is converted): a value out
// of range, not finite (nan, inf) or not a number at all is refused with the flag named, never replaced silently by
// a default or clamped, and --help shows every flag's range, e.g. "--lr FLOAT:(0, inf)".
#pragma once

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>

namespace flags {

namespace internal {

/// A bound as a person writes it: 0.001, 1e+06, inf.
inline std::string bound(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace internal

/// A finite real number in [lo, hi] ((lo, hi] if `open_low`); hi may be infinity (no upper bound).
inline CLI::Validator real(double lo, double hi, bool open_low = false) {
  const std::string range =
      (open_low ? "(" : "[") + internal::bound(lo) + ", " + internal::bound(hi) + (std::isinf(hi) ? ")" : "]");
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        errno = 0;
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size()) return "'" + text + "' is not a number";
        if (!std::isfinite(v)) return "'" + text + "' is not a finite number; give one in " + range;
        if (v < lo || (open_low && v == lo) || v > hi) return text + " is outside the valid range " + range;
        return {};
      },
      range);
}

/// A whole number in [lo, hi].
inline CLI::Validator whole(long long lo, long long hi) {
  const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        errno = 0;
        char* end = nullptr;
        const long long v = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || end != text.c_str() + text.size()) return "'" + text + "' is not a whole number";
        if (errno == ERANGE || v < lo || v > hi) return text + " is outside the valid range " + range;
        return {};
      },
      range);
}

/// A 64-bit seed: a whole number in [0, 2^64 - 1], written in decimal digits (no sign: -1 must not wrap around,
/// and 2^64 or more must not be clamped to 2^64 - 1).
inline CLI::Validator seed() {
  const std::string range = "[0, 2^64-1]";
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits) return "'" + text + "' is not a whole number in " + range;
        errno = 0;
        std::strtoull(text.c_str(), nullptr, 10);
        if (errno == ERANGE) return text + " is outside the valid range " + range;
        return {};
      },
      range);
}

/// A thread count: "auto" or a whole number in [1, hi].
inline CLI::Validator threads(long long hi) {
  const CLI::Validator count = whole(1, hi);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        if (text == "auto") return {};
        std::string copy = text;
        const std::string why = count(copy);
        return why.empty() ? why : why + ", and not auto";
      },
      "[1, " + std::to_string(hi) + "] or auto");
}

/// A file or folder path: any text but the empty one, which names no file ("--save ''" is not a path; quietly
/// skipping the output, or writing a checkpoint nowhere, would lose the run's result).
inline CLI::Validator path() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty()) return "the path is empty";
        return {};
      },
      "");  // no description: --help shows the flag as before
}

/// An input file the program reads more than once (a model's metadata first, then the model; a checkpoint's settings,
/// then the checkpoint): a path that exists must be a regular file (a symlink counts as its target). A pipe or a
/// process substitution (/dev/fd/N) gives its bytes once, so the second read would find it empty ("truncated (0
/// bytes)"); it is refused, saying a regular file is needed. A missing path passes: the reader names it.
inline CLI::Validator regular_input() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::error_code ec;
        const auto status = std::filesystem::status(text, ec);
        if (ec || !std::filesystem::exists(status) || std::filesystem::is_regular_file(status)) return {};
        const char* what = std::filesystem::is_directory(status) ? "a directory"
                           : std::filesystem::is_fifo(status)    ? "a pipe (or a process substitution)"
                                                                 : "a device or socket";
        return "'" + text + "' is " + what + ", not a regular file; a regular file is needed" +
               (std::filesystem::is_fifo(status) ? std::string(": the file is read more than once, and a pipe only "
                                                               "once (save the stream to a file first)")
                                                 : std::string());
      },
      "");
}

}  // namespace flags
