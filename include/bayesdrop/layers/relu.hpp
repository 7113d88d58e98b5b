// Rectified linear unit, element-wise: y = max(x, 0); dx = dy where x > 0, else 0. Same in both modes.
#pragma once

#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/instantiation.hpp"
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

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override {
    this->check_forward(x, ctx);
    y = x.cwiseMax(Scalar(0));
  }

  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_backward(x, dy);
    if (dx) *dx = (x.array() > Scalar(0)).select(dy, Scalar(0));
  }

  /// compact(): a ReLU over the kept rows; constants pass through it as max(c, 0).
  std::shared_ptr<CompactForm<Scalar>> compact_form() const override { return std::make_shared<Form>(); }

 private:
  struct Form : CompactForm<Scalar> {
    CompactRows<Scalar> fold(CompactRows<Scalar> a, const std::string&) override {
      a.value = a.value.cwiseMax(Scalar(0));
      return a;
    }
    std::vector<Index> build(const std::vector<Index>& have, const std::vector<char>&,
                             std::vector<LayerPtr<Scalar>>& layers, const CompactOptions&,
                             const std::string&) const override {
      layers.push_back(std::make_unique<ReLU>(Index(have.size())));
      return have;
    }
  };

  Index units_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(ReLU)

}  // namespace bayesdrop
