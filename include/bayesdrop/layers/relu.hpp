// Rectified linear unit, element-wise: y = max(x, 0); dx = dy where x > 0, else 0. Same in both modes.
#pragma once

#include "bayesdrop/core/layer.hpp"

namespace bayesdrop {

template <class Scalar>
class ReLU final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  /// units > 0: features per observation (input and output).
  explicit ReLU(Index units) : units_(units) {
    if (units <= 0) throw InvalidArgument("ReLU: units must be positive, got " + std::to_string(units));
  }

  std::string_view name() const override { return "ReLU"; }
  Index input_rows() const override { return units_; }
  Index output_rows() const override { return units_; }

  void forward(const MatrixType& x, MatrixType& y, const Context&) override {
    this->check_input(x);
    y = x.cwiseMax(Scalar(0));
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_output_grad(x, dy);
    if (dx) *dx = (x.array() > Scalar(0)).select(dy, Scalar(0));
  }

 private:
  Index units_;
};

}  // namespace bayesdrop
