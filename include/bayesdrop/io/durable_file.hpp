// Writing a file so that a failure never costs the previous one: the one helper behind every file the library and the
// programs write (save_model, save_checkpoint, the programs' reports and pictures).
//
//   write_file_durably("run.json", bytes, "report", DurableWrite::streams_too);
//
// The bytes go to a temporary file of this process beside the target (`target.tmp.<pid>`, so that two writers never
// share one), which is synced to disk (fsync), renamed over the target and the folder synced: at every moment the
// target holds either its previous contents or the new ones, never a part of them, whatever fails (a full disk, a
// crash, a power cut). A symlink is followed and the file at the end of its chain replaced (the link stays a link).
// Temporary files a killed writer left behind do not block anyone (each writer has its own name); remove_stale_temps
// removes those whose process has gone.
#pragma once

#if !defined(_WIN32)
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#else
#include <process.h>
#endif

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "bayesdrop/core/error.hpp"

namespace bayesdrop {

/// What write_file_durably does with a target that exists and is not a regular file.
enum class DurableWrite {
  regular_only,  ///< refuse it (a model or checkpoint into a device or pipe is a mistake)
  streams_too,   ///< write into it directly, every step checked (a report to /dev/stdout); nothing can be kept
};

namespace detail {

inline long durable_pid() {
#if defined(_WIN32)
  return static_cast<long>(_getpid());
#else
  return static_cast<long>(::getpid());
#endif
}

/// Writes `bytes` into the open file `fd` and syncs it. Returns 0 or the errno of the failed step; `step` says which.
inline int durable_write_fd(int fd, std::string_view bytes, bool sync, const char*& step) {
#if defined(_WIN32)
  (void)fd, (void)bytes, (void)sync, (void)step;
  return ENOSYS;
#else
  step = "write";
  for (std::size_t at = 0; at < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    at += static_cast<std::size_t>(n);
  }
  step = "fsync";
  if (sync && ::fsync(fd) != 0 && errno != EINVAL) return errno;  // EINVAL: a pipe or device cannot be synced
  return 0;
#endif
}

/// Makes a rename in `dir` durable (fsync of the folder). Returns 0 or the errno; a file system that cannot sync a
/// folder (EINVAL) makes the rename as durable as it can.
inline int durable_sync_folder(const std::filesystem::path& dir) {
#if defined(_WIN32)
  (void)dir;
  return 0;
#else
  const std::string name = dir.empty() ? std::string(".") : dir.string();
  const int fd = ::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = ::fsync(fd) != 0 ? errno : 0;
  if (err == EINVAL) err = 0;
  ::close(fd);
  return err;
#endif
}

}  // namespace detail

/// The file a write to `path` replaces: `path` itself or, when it is a symlink, the file at the end of its chain of
/// links (relative links resolved from their own folder). Throws DataError for a loop of links or an unreadable link.
inline std::filesystem::path durable_target(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path target(path);
  std::error_code ec;
  for (int hops = 0; fs::is_symlink(fs::symlink_status(target, ec)); ++hops) {
    if (hops == 40) throw DataError("'" + path + "': cannot write: too many levels of symbolic links");
    const fs::path next = fs::read_symlink(target, ec);
    if (ec) throw DataError("'" + path + "': cannot write: cannot read the symbolic link: " + ec.message());
    target = next.is_absolute() ? next : target.parent_path() / next;
  }
  return target;
}

/// The temporary file this process writes before it replaces `target` (a file, links already followed).
inline std::string durable_temp_path(const std::filesystem::path& target) {
  return target.string() + ".tmp." + std::to_string(detail::durable_pid());
}

/// Writes `bytes` to `path` durably (see the top of this file): through durable_temp_path, fsync, rename, and a sync
/// of the folder. `what` begins every message ("checkpoint", "model file", "report"), followed by the quoted path.
/// A target that exists and is not a regular file is refused, or written in place with `mode` streams_too. On any
/// failure the temporary file is removed, the target is left as it was, and DataError says which step failed and why.
inline void write_file_durably(const std::string& path, std::string_view bytes, const std::string& what,
                               DurableWrite mode = DurableWrite::regular_only) {
  namespace fs = std::filesystem;
  const std::string named = what + " '" + path + "'";
  fs::path target;
  try {
    target = durable_target(path);
  } catch (const DataError& e) {
    throw DataError(what + " " + e.what());
  }
  std::error_code ec;
  const auto status = fs::status(target, ec);
  const bool stream = fs::exists(status) && !fs::is_regular_file(status);
  if (stream && mode == DurableWrite::regular_only) {
    throw DataError(named + ": cannot write: it exists and is not a regular file (" +
                    (fs::is_directory(status) ? "a directory" : "a device, pipe or socket") +
                    "); write to a new file or over a regular one");
  }
#if defined(_WIN32)
  // No fsync or atomic replacement here: a checked write of a temporary file, then the target replaced by it.
  const std::string tmp = stream ? target.string() : durable_temp_path(target);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw DataError(named + ": cannot write (open '" + tmp + "'): " + std::strerror(errno ? errno : EIO));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0;
  ok = std::fclose(f) == 0 && ok;
  if (ok && !stream) {
    fs::rename(tmp, target, ec);
    ok = !ec;
  }
  if (!ok) {
    if (!stream) std::remove(tmp.c_str());
    throw DataError(named + ": cannot write '" + tmp + "'");
  }
#else
  const std::string tmp = stream ? target.string() : durable_temp_path(target);
  auto fail = [&](const std::string& step, int err) {
    if (!stream) ::unlink(tmp.c_str());
    return DataError(named + ": cannot write (" + step + " '" + tmp + "'): " + std::strerror(err ? err : EIO) +
                     (stream ? "" : "; the previous file, if any, is unchanged"));
  };
  const int fd = stream ? ::open(tmp.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC)
                        : ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw fail("open", errno);
  const char* step = "write";
  int err = detail::durable_write_fd(fd, bytes, !stream || fs::is_regular_file(status), step);
  if (::close(fd) != 0 && !err) {
    err = errno;
    step = "close";
  }
  if (err) throw fail(step, err);
  if (stream) return;
  if (std::rename(tmp.c_str(), target.c_str()) != 0) throw fail("rename", errno);
  err = detail::durable_sync_folder(target.parent_path());
  if (err) {
    throw DataError(named + ": written, but its folder could not be synced after the rename: " + std::strerror(err));
  }
#endif
}

/// Removes the temporary files (`target.tmp.<pid>`, and the `target.tmp` of older versions) that writers of `path`
/// which no longer run left behind, e.g. after a kill -9 during a write. Call it only while no other writer of the
/// same file can start (the trainer holds its checkpoint's lock). Returns how many it removed; errors are ignored.
inline int remove_stale_temps(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path target;
  try {
    target = durable_target(path);
  } catch (const DataError&) {
    return 0;
  }
  const std::string prefix = target.filename().string() + ".tmp";
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  int removed = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0 || !it->is_regular_file(ec)) continue;
    const std::string rest = name.substr(prefix.size());
    bool stale = rest.empty();
    if (rest.size() > 1 && rest[0] == '.' && rest.find_first_not_of("0123456789", 1) == std::string::npos) {
      const long pid = std::strtol(rest.c_str() + 1, nullptr, 10);
#if defined(_WIN32)
      stale = pid != detail::durable_pid();
#else
      stale = pid != detail::durable_pid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
#endif
    }
    if (stale && fs::remove(it->path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace bayesdrop
