// Typed exceptions. Every message names the thing that is wrong and, where there is one, the fix.
#pragma once

#include <stdexcept>
#include <string>

namespace bayesdrop {

/// Base of every exception bayesdrop throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Matrix or tensor shapes that do not fit together (a caller bug).
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// A hyperparameter or option outside its valid range (drop rate, size, learning rate, ...).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A data file that is missing, truncated or not what it claims to be.
class DataError : public Error {
 public:
  using Error::Error;
};

/// A loss or gradient that became NaN or Inf.
class NumericalError : public Error {
 public:
  using Error::Error;
};

namespace detail {

inline std::string shape_string(long rows, long cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

/// Throws ShapeError("<where>: expected <what> RxC, got R'xC'") unless the shape matches.
template <class M>
void require_shape(const M& m, long rows, long cols, const char* where, const char* what) {
  if (m.rows() != rows || m.cols() != cols) {
    throw ShapeError(std::string(where) + ": expected " + what + " of shape " + shape_string(rows, cols) + ", got " +
                     shape_string(static_cast<long>(m.rows()), static_cast<long>(m.cols())));
  }
}

/// Throws ShapeError unless m has `rows` rows (any number of columns, i.e. observations).
template <class M>
void require_rows(const M& m, long rows, const char* where, const char* what) {
  if (m.rows() != rows) {
    throw ShapeError(std::string(where) + ": expected " + what + " with " + std::to_string(rows) +
                     " rows (features; one column per observation), got " +
                     shape_string(static_cast<long>(m.rows()), static_cast<long>(m.cols())));
  }
}

}  // namespace detail
}  // namespace bayesdrop
