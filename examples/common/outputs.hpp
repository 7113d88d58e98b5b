// The programs' output files and folders: checked (and created) before the work starts, written with every step
// checked, so that an unwritable path fails in a second instead of after a whole run, and a failed write (a full
// disk, say) fails the run with the path named and leaves the previous file as it was.
#pragma once

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/io/durable_file.hpp"

namespace outputs {

namespace fs = std::filesystem;

namespace internal {

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

}  // namespace internal

/// The file a write to `path` lands on: `path` itself or, when it is a symlink, the file at the end of its chain of
/// links (bayesdrop::durable_target, which every durable write follows; the link stays a link). Throws
/// bayesdrop::InvalidArgument naming the flag for a loop of links or a link that cannot be read.
inline fs::path write_target(const std::string& path, const std::string& flag) {
  try {
    return bayesdrop::durable_target(path);
  } catch (const bayesdrop::DataError& e) {
    throw bayesdrop::InvalidArgument(flag + ": " + e.what());
  }
}

/// Checks, before any work, that `path` (the value of `flag`) can be written as a file: creates its missing parent
/// folders, refuses a directory, and tries to open it for appending (an existing file is left as it is; a file that
/// did not exist is created and removed again) and, for a regular file, to create the temporary file write_file
/// replaces it with. Devices and pipes pass (a report may go to /dev/stdout).
/// Throws bayesdrop::InvalidArgument naming the flag and the path.
inline void check_output_file(const std::string& path, const std::string& flag) {
  if (path.empty()) throw bayesdrop::InvalidArgument(flag + ": the path is empty");
  const fs::path p(path);
  internal::make_folders(p.parent_path(), flag, path);
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    throw bayesdrop::InvalidArgument(flag + ": '" + path + "' is a directory; give a file name");
  }
  const bool existed = fs::exists(p, ec);
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw bayesdrop::InvalidArgument(flag + ": cannot write '" + path + "': " + internal::errno_text(errno));
  std::fclose(f);
  const fs::path target = write_target(path, flag);
  if (!existed) fs::remove(target, ec);  // the file the open created: a symlink stays a symlink
  // A regular file is replaced through a temporary file beside it (write_file): its folder must take new files too.
  if (!existed || fs::is_regular_file(fs::status(target, ec))) {
    internal::probe_new_file(fs::path(bayesdrop::durable_temp_path(target)), flag, path);
  }
}

/// check_output_file for a file that is replaced through a temporary file and a rename (bayesdrop::save_model, the
/// checkpoints): the path must be a regular file or not exist yet (a symlink counts as its target), and the folder of
/// the file at the end of its chain of symlinks (write_target, the file replaced; the links stay) must take the
/// temporary file of this process (bayesdrop::durable_temp_path). Throws bayesdrop::InvalidArgument naming the flag and
/// the path.
inline void check_replaced_file(const std::string& path, const std::string& flag) {
  if (path.empty()) throw bayesdrop::InvalidArgument(flag + ": the path is empty");
  std::error_code ec;
  const auto status = fs::status(fs::path(path), ec);  // follows symlinks
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    throw bayesdrop::InvalidArgument(flag + ": '" + path + "' exists and is not a regular file (" +
                                     (fs::is_directory(status) ? "a directory" : "a device, pipe or socket") +
                                     "); give the path of a new or regular file");
  }
  const fs::path target = write_target(path, flag);
  internal::make_folders(target.parent_path(), flag, path);
  internal::probe_new_file(fs::path(bayesdrop::durable_temp_path(target)), flag, path);
}

/// Checks, before any work, that `dir` (the value of `flag`) is a folder that takes new files: creates it and its
/// parents if missing, refuses a path that is a file, and creates and removes a probe file in it.
/// Throws bayesdrop::InvalidArgument naming the flag and the path.
inline void check_output_folder(const std::string& dir, const std::string& flag) {
  if (dir.empty()) throw bayesdrop::InvalidArgument(flag + ": the path is empty");
  internal::make_folders(fs::path(dir), flag, dir);
  internal::probe_new_file(fs::path(dir) / ".bayesdrop-write-probe", flag, dir);
}

/// Whether the paths `a` and `b` name the same file, by identity rather than spelling: std::filesystem::equivalent
/// when both exist (hard links and symlinks included), otherwise (an output not written yet) their weakly canonical
/// forms after following symlinks. `flag_a`, `flag_b`: for messages.
inline bool same_file(const std::string& a, const std::string& flag_a, const std::string& b,
                      const std::string& flag_b) {
  std::error_code ea, eb;
  const bool a_exists = fs::exists(fs::path(a), ea), b_exists = fs::exists(fs::path(b), eb);  // follow symlinks
  if (a_exists && b_exists) {
    const bool same = fs::equivalent(fs::path(a), fs::path(b), ea);
    return !ea && same;
  }
  if (a_exists != b_exists) return false;
  // Neither exists yet: where each would be written. absolute first, since weakly_canonical leaves a relative path
  // whose first part does not exist relative ("o" against "./o").
  const fs::path ta = fs::absolute(write_target(a, flag_a), ea), tb = fs::absolute(write_target(b, flag_b), eb);
  if (ea || eb) return fs::path(a).lexically_normal() == fs::path(b).lexically_normal();
  const fs::path ca = fs::weakly_canonical(ta, ea), cb = fs::weakly_canonical(tb, eb);
  if (ea || eb) return ta.lexically_normal() == tb.lexically_normal();
  return ca == cb;
}

/// A path given with a flag ("--save", "model.bdm"); for a data file, the flag that names its folder ("--data").
struct FlagPath {
  std::string flag, path;
};

/// Refuses, before any work, an output that is one of the run's inputs (writing it would destroy what the run reads)
/// and two outputs that are one file (one would overwrite the other), comparing files by identity (same_file).
/// `allowed`: (output flag, input flag) pairs that may name one file, e.g. {"--checkpoint", "--resume"}: a resumed run
/// checkpoints into the file it continues. Empty paths are skipped. Throws bayesdrop::InvalidArgument naming both
/// flags and paths.
inline void check_outputs_apart(const std::vector<FlagPath>& outputs, const std::vector<FlagPath>& inputs,
                                const std::vector<std::pair<std::string, std::string>>& allowed = {}) {
  auto named = [](const FlagPath& f) { return f.flag + " '" + f.path + "'"; };
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const FlagPath& out = outputs[i];
    if (out.path.empty()) continue;
    for (std::size_t j = i + 1; j < outputs.size(); ++j) {
      const FlagPath& other = outputs[j];
      if (!other.path.empty() && same_file(out.path, out.flag, other.path, other.flag)) {
        throw bayesdrop::InvalidArgument(named(out) + " and " + named(other) +
                                         " are the same file: one output would overwrite the other; give each its "
                                         "own file");
      }
    }
    for (const FlagPath& in : inputs) {
      if (in.path.empty()) continue;
      bool exempt = false;
      for (const auto& [o, i_flag] : allowed) exempt = exempt || (o == out.flag && i_flag == in.flag);
      if (!exempt && same_file(out.path, out.flag, in.path, in.flag)) {
        throw bayesdrop::InvalidArgument(named(out) + " and " + named(in) +
                                         " are the same file: the output would overwrite one of the run's inputs; "
                                         "write it elsewhere");
      }
    }
  }
}

/// One writer per file: an advisory lock (flock) on `<file>.lock` beside the file at the end of `path`'s chain of
/// symlinks, held until the object is destroyed (or the process ends, however it ends: the system releases it), with
/// the holder's pid written in it. A second run given the same file is refused at its start, naming the lock file and
/// the run that holds it, instead of both writing one file. The lock file stays (removing it could let two runs lock
/// two different files of one name). Throws bayesdrop::InvalidArgument naming the flag.
class FileLock {
 public:
  FileLock() = default;
  FileLock(const std::string& path, const std::string& flag) {
#if !defined(_WIN32)
    lock_path_ = write_target(path, flag).string() + ".lock";
    internal::make_folders(fs::path(lock_path_).parent_path(), flag, path);
    fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      throw bayesdrop::InvalidArgument(flag + ": cannot create the lock file '" + lock_path_ +
                                       "': " + internal::errno_text(errno));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::string holder;
      for (int tries = 0; holder.empty() && tries < 50; ++tries) {  // the holder writes its pid just after locking
        char buf[32] = {};
        const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
        holder = std::string(buf, n > 0 ? std::size_t(n) : 0);
        holder.erase(holder.find_last_not_of(" \n") + 1);
        if (holder.empty()) ::usleep(10000);
      }
      ::close(fd_);
      fd_ = -1;
      if (err != EWOULDBLOCK) {
        throw bayesdrop::InvalidArgument(flag + ": cannot lock '" + lock_path_ + "': " + internal::errno_text(err));
      }
      throw bayesdrop::InvalidArgument(flag + " '" + path + "' is in use by another run (pid " +
                                       (holder.empty() ? std::string("unknown") : holder) + ", which holds the lock '" +
                                       lock_path_ + "'); wait for it to end, or give this run another file");
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
      // The lock holds anyway; only the message of a refused run would lack the pid.
    }
#else
    (void)path, (void)flag;
#endif
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock(FileLock&& other) noexcept {
    *this = std::move(other);
  }
  FileLock& operator=(FileLock&& other) noexcept {
    std::swap(fd_, other.fd_);
    std::swap(lock_path_, other.lock_path_);
    return *this;
  }
  ~FileLock() {
#if !defined(_WIN32)
    if (fd_ >= 0) ::close(fd_);  // releases the lock
#endif
  }
  const std::string& lock_path() const {
    return lock_path_;
  }

 private:
  int fd_ = -1;
  std::string lock_path_;
};

/// Writes `bytes` to `path` (replacing it) durably: a temporary file beside it, synced and renamed over it
/// (bayesdrop::write_file_durably), so that a failed write (a full disk) leaves the previous file intact; a device or
/// pipe (/dev/stdout) is written in place. Throws bayesdrop::DataError naming the flag and the path (and the step
/// that failed, and why).
inline void write_file(const std::string& path, const std::string& bytes, const std::string& flag) {
  bayesdrop::write_file_durably(path, bytes, flag, bayesdrop::DurableWrite::streams_too);
}

}  // namespace outputs
