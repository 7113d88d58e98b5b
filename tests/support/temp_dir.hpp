// A folder of the test's own under the system's temporary directory, removed with everything in it at the end of
// the scope. The name has a random part and a per-process counter, so tests running side by side never share one.
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace test_support {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "bayesdrop-test-") {
    static unsigned counter = 0;
    path = std::filesystem::temp_directory_path() /
           (prefix + std::to_string(std::random_device{}()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace test_support
