// Where a report came from: the library version, the commit the program was built from, the command line, the
// machine, the date the run started and its thread count, as the "provenance" object of every report the programs
// write, so that a result can be tied to its code and its run without the git history.
//
//   "provenance": {"version": "0.1.0", "commit": "6efe2d6...", "command_line": "bayesdrop-mnist --dropout bbd ...",
//                  "date": "2026-12-07T10:11:12Z", "machine": {"cpu": "...", "logical_cores": 2, "os": "Linux ..."},
//                  "compiler": "GCC 12.2.0", "backend": "eigen", "threads": 2}
//
// The commit comes from bayesdrop_build_info.hpp, which cmake/stamp_build_info.cmake writes into the build tree at
// every build (CMake: bayesdrop_stamp_build_info(<target>)); without it (a program compiled by hand) it is "unknown".
// The host name is left out on purpose: reports are committed and shared.
#pragma once

#if !defined(_WIN32)
#include <sys/utsname.h>
#endif

#include <cstddef>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "bayesdrop/core/gemm.hpp"
#include "bayesdrop/version.hpp"

#if __has_include("bayesdrop_build_info.hpp")
#include "bayesdrop_build_info.hpp"
#endif
#ifndef BAYESDROP_BUILD_COMMIT
#define BAYESDROP_BUILD_COMMIT "unknown"
#endif

namespace provenance {

/// The commit the program was built from: 40 hex digits, with "-dirty" appended when the checkout had uncommitted
/// changes to tracked files; "unknown" when it was not built from a git checkout.
inline std::string commit() {
  return BAYESDROP_BUILD_COMMIT;
}

/// The line --version prints: "bayesdrop-mnist 0.1.0 (commit 6efe2d6...)".
inline std::string version_text(const std::string& program) {
  return program + " " + bayesdrop::version() + " (commit " + commit() + "; products on " +
         bayesdrop::product_backend() + ")";
}

/// One argument as a POSIX shell reads it back: as it is when it holds only characters the shell leaves alone,
/// otherwise in single quotes (a quote inside as '\'').
inline std::string shell_quote(const std::string& arg) {
  static const std::string safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";
  if (!arg.empty() && arg.find_first_not_of(safe) == std::string::npos) return arg;
  std::string out = "'";
  for (const char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// argv joined by spaces, each argument quoted where a shell needs it: pasted into a shell, it runs the same command.
inline std::string command_line(int argc, const char* const* argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) out += (i ? " " : "") + shell_quote(argv[i] ? argv[i] : "");
  return out;
}

/// The current time in UTC, ISO 8601 to the second: "2026-12-07T10:11:12Z".
inline std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
#if defined(_WIN32)
  gmtime_s(&utc, &now);
#else
  gmtime_r(&now, &utc);
#endif
  char buf[32];
  return std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc) ? buf : "unknown";
}

/// The CPU's model name (/proc/cpuinfo's first "model name"), or "unknown" where there is none.
inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const std::size_t first = line.find_first_not_of(" \t", colon + 1);
    if (first == std::string::npos) break;
    return line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
  }
  return "unknown";
}

/// The operating system as uname names it: "Linux 6.1.0-18-amd64 x86_64".
inline std::string os_name() {
#if defined(_WIN32)
  return "Windows";
#else
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
#endif
}

/// The compiler the program was built with.
inline std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#elif defined(_MSC_VER)
  return "MSVC " + std::to_string(_MSC_VER);
#else
  return "unknown";
#endif
}

/// The machine: CPU model, logical cores (std::thread::hardware_concurrency, 0 when unknown) and operating system.
inline nlohmann::json machine_json() {
  return {{"cpu", cpu_model()}, {"logical_cores", std::thread::hardware_concurrency()}, {"os", os_name()}};
}

/// What a run records when it starts: its command line and the date.
struct Start {
  std::string command_line;
  std::string date;  ///< utc_now() when the run started
};

/// Call first thing in main(): the report's date is when the run started, not when it ended.
inline Start start(int argc, const char* const* argv) {
  return {command_line(argc, argv), utc_now()};
}

/// The report's "provenance" object; `threads`: the thread count the run used.
inline nlohmann::json json(const Start& start, int threads) {
  return {{"version", bayesdrop::version()},
          {"commit", commit()},
          {"command_line", start.command_line},
          {"date", start.date},
          {"machine", machine_json()},
          {"compiler", compiler()},
          {"backend", bayesdrop::product_backend()},  // the dense products' back end (core/gemm.hpp)
          {"threads", threads}};
}

}  // namespace provenance
