// Stochastic gradient descent with momentum (PyTorch's convention):
//   g = grad + weight_decay * value;  buf = momentum * buf + g;  value -= lr * (nesterov ? g + momentum * buf : buf)
#pragma once

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/optim/optimizer.hpp"

namespace bayesdrop {

struct SgdOptions {
  double momentum = 0.0;  ///< in [0, 1). Default: 0 (plain SGD)
  bool nesterov = false;  ///< Nesterov momentum. Default: false

  SgdOptions& with_momentum(double m) {
    momentum = m;
    return *this;
  }
  SgdOptions& with_nesterov(bool n) {
    nesterov = n;
    return *this;
  }
};

template <class Scalar>
class Sgd final : public Optimizer<Scalar> {
 public:
  explicit Sgd(std::vector<ParamGroup<Scalar>> groups, SgdOptions options = {})
      : Optimizer<Scalar>(std::move(groups)), options_(options) {
    if (!(options.momentum >= 0 && options.momentum < 1)) {
      throw InvalidArgument("Sgd: momentum must be in [0, 1), got " + std::to_string(options.momentum));
    }
    for (const auto& g : this->groups()) {
      for (const auto* p : g.params) buffers_.push_back(Matrix<Scalar>::Zero(p->value.rows(), p->value.cols()));
    }
  }

  std::string name() const override { return "sgd"; }
  const SgdOptions& options() const { return options_; }
  /// The momentum buffer of every slot: "momentum0", "momentum1", ...
  std::vector<StateTensor<Scalar>> state() override {
    std::vector<StateTensor<Scalar>> out;
    for (std::size_t i = 0; i < buffers_.size(); ++i) out.push_back({"momentum" + std::to_string(i), &buffers_[i]});
    return out;
  }

 protected:
  void update_chunk(Parameter<Scalar>& p, std::size_t slot, Index s, Index len, Scalar lr, Scalar wd) override {
    const Scalar mu = Scalar(options_.momentum);
    using Arr = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
    Eigen::Map<Arr> v(p.value.data() + s, len), b(buffers_[slot].data() + s, len);
    Eigen::Map<const Arr> g(p.grad.data() + s, len);
    if (mu == Scalar(0)) {
      v -= lr * (g + wd * v);
      return;
    }
    b = mu * b + g + wd * v;
    if (options_.nesterov) {
      v -= lr * (g + wd * v + mu * b);
    } else {
      v -= lr * b;
    }
  }

 private:
  SgdOptions options_;
  std::vector<Matrix<Scalar>> buffers_;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(Sgd)

}  // namespace bayesdrop
