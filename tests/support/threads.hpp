// Eigen's thread count (which the library's products, fills and element-wise passes use) set for a scope.
#pragma once

#include <Eigen/Core>

namespace bayesdrop::test {

class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : old_(Eigen::nbThreads()) { Eigen::setNbThreads(n); }
  ~ScopedThreads() { Eigen::setNbThreads(old_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int old_;
};

}  // namespace bayesdrop::test
