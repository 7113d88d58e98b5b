// The programs' output files and folders: checked (and created) before the work starts, written with every step
// checked, so that an unwritable path fails in a second instead of after a whole run, and a failed write (a full
// disk, say) fails the run with the path named instead of leaving an empty file behind an exit code of 0.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "bayesdrop/core/error.hpp"

namespace outputs {

namespace fs = std::filesystem;

namespace detail {

inline std::string errno_text(int err) {
  return std::strerror(err ? err : EIO);
}

/// Creates `dir` and its missing parents; a message naming the flag and the path when that is impossible (a parent
/// is a regular file, no permission, ...).
inline void make_folders(const fs::path& dir, const std::string& flag, const std::string& shown) {
  if (dir.empty()) return;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {  // name the culprit: the first existing non-folder
    if (fs::exists(fs::symlink_status(p, ec)) && !fs::is_directory(p, ec)) {
      throw bayesdrop::InvalidArgument(flag + ": cannot use '" + shown + "': '" + p.string() +
                                       "' exists and is not a directory");
    }
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    throw bayesdrop::InvalidArgument(flag + ": cannot create the directory '" + dir.string() + "' for '" + shown +
                                     "': " + ec.message());
  }
}

/// Creates and removes an empty file at `probe`: proves that the folder takes new files.
inline void probe_new_file(const fs::path& probe, const std::string& flag, const std::string& shown) {
  errno = 0;
  std::FILE* f = std::fopen(probe.c_str(), "wb");
  if (!f) {
    throw bayesdrop::InvalidArgument(flag + ": cannot write into '" + probe.parent_path().string() + "' (for '" +
                                     shown + "'): " + errno_text(errno));
  }
  std::fclose(f);
  std::error_code ec;
  fs::remove(probe, ec);
}

}  // namespace detail

/// Checks, before any work, that `path` (the value of `flag`) can be written as a file: creates its missing parent
/// folders, refuses a directory, and tries to open it for appending (an existing file is left as it is; a file that
/// did not exist is created and removed again). Devices and pipes pass (a report may go to /dev/stdout).
/// Throws bayesdrop::InvalidArgument naming the flag and the path.
inline void check_output_file(const std::string& path, const std::string& flag) {
  if (path.empty()) throw bayesdrop::InvalidArgument(flag + ": the path is empty");
  const fs::path p(path);
  detail::make_folders(p.parent_path(), flag, path);
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    throw bayesdrop::InvalidArgument(flag + ": '" + path + "' is a directory; give a file name");
  }
  const bool existed = fs::exists(p, ec);
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw bayesdrop::InvalidArgument(flag + ": cannot write '" + path + "': " + detail::errno_text(errno));
  std::fclose(f);
  if (!existed) fs::remove(p, ec);
}

/// check_output_file for a file that is replaced through a temporary file and a rename (bayesdrop::save_model):
/// the path must be a regular file or not exist yet (a symlink counts as its target), and the folder must take
/// the temporary file `path`.tmp. Throws bayesdrop::InvalidArgument naming the flag and the path.
inline void check_replaced_file(const std::string& path, const std::string& flag) {
  if (path.empty()) throw bayesdrop::InvalidArgument(flag + ": the path is empty");
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::path(path), ec);  // follows symlinks, as save_model does
  if (ec || p.empty()) p = fs::path(path);
  detail::make_folders(p.parent_path(), flag, path);
  const auto status = fs::status(p, ec);
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    throw bayesdrop::InvalidArgument(flag + ": '" + path + "' exists and is not a regular file (" +
                                     (fs::is_directory(status) ? "a directory" : "a device, pipe or socket") +
                                     "); give the path of a new or regular file");
  }
  detail::probe_new_file(fs::path(p.string() + ".tmp"), flag, path);
}

/// Checks, before any work, that `dir` (the value of `flag`) is a folder that takes new files: creates it and its
/// parents if missing, refuses a path that is a file, and creates and removes a probe file in it.
/// Throws bayesdrop::InvalidArgument naming the flag and the path.
inline void check_output_folder(const std::string& dir, const std::string& flag) {
  if (dir.empty()) throw bayesdrop::InvalidArgument(flag + ": the path is empty");
  detail::make_folders(fs::path(dir), flag, dir);
  detail::probe_new_file(fs::path(dir) / ".bayesdrop-write-probe", flag, dir);
}

/// Writes `bytes` to `path` (replacing it), checking the open, the write, the flush and the close. Throws
/// bayesdrop::DataError naming the flag and the path (and the system's reason) when any of them fails.
inline void write_file(const std::string& path, const std::string& bytes, const std::string& flag) {
  auto fail = [&](const char* step, int err) {
    return bayesdrop::DataError(flag + ": " + step + " '" + path + "' failed: " + detail::errno_text(err));
  };
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw fail("opening", errno);
  errno = 0;
  const bool wrote = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  int err = wrote ? 0 : errno;
  if (wrote) {
    errno = 0;
    if (std::fflush(f) != 0) err = errno ? errno : EIO;
  }
  errno = 0;
  const bool closed = std::fclose(f) == 0;
  if (!wrote) throw fail("writing", err);
  if (err) throw fail("flushing", err);
  if (!closed) throw fail("closing", errno);
}

}  // namespace outputs
