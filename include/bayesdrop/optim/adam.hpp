// Adam (Kingma & Ba 2015, Algorithm 1, with PyTorch's placement of epsilon):
//   g = grad + weight_decay * value
//   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
//   value -= lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)
// TensorFlow adds eps to sqrt(v) before the bias correction instead; the two differ only while v is tiny.
#pragma once

#include <cmath>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/optim/optimizer.hpp"

namespace bayesdrop {

struct AdamOptions {
  double beta1 = 0.9;    ///< in [0, 1). Default: 0.9
  double beta2 = 0.999;  ///< in [0, 1). Default: 0.999
  double eps = 1e-8;     ///< > 0. Default: 1e-8

  AdamOptions& with_betas(double b1, double b2) {
    beta1 = b1;
    beta2 = b2;
    return *this;
  }
  AdamOptions& with_eps(double e) {
    eps = e;
    return *this;
  }
};

template <class Scalar>
class Adam final : public Optimizer<Scalar> {
 public:
  explicit Adam(std::vector<ParamGroup<Scalar>> groups, AdamOptions options = {})
      : Optimizer<Scalar>(std::move(groups)), options_(options) {
    if (!(options.beta1 >= 0 && options.beta1 < 1) || !(options.beta2 >= 0 && options.beta2 < 1)) {
      throw InvalidArgument("Adam: beta1 and beta2 must be in [0, 1), got " + std::to_string(options.beta1) + " and " +
                            std::to_string(options.beta2));
    }
    if (!(options.eps > 0)) throw InvalidArgument("Adam: eps must be > 0, got " + std::to_string(options.eps));
    for (const auto& g : this->groups()) {
      for (const auto* p : g.params) {
        m_.push_back(Matrix<Scalar>::Zero(p->value.rows(), p->value.cols()));
        v_.push_back(Matrix<Scalar>::Zero(p->value.rows(), p->value.cols()));
      }
    }
  }

  std::string name() const override { return "adam"; }
  const AdamOptions& options() const { return options_; }
  /// First and second moments of every slot: "m0", "v0", "m1", "v1", ...
  std::vector<StateTensor<Scalar>> state() override {
    std::vector<StateTensor<Scalar>> out;
    for (std::size_t i = 0; i < m_.size(); ++i) {
      out.push_back({"m" + std::to_string(i), &m_[i]});
      out.push_back({"v" + std::to_string(i), &v_[i]});
    }
    return out;
  }

 protected:
  void begin_step() override {
    const double t = double(this->steps() + 1);
    bias1_ = 1.0 - std::pow(options_.beta1, t);
    bias2_ = 1.0 - std::pow(options_.beta2, t);
  }

  void update_chunk(Parameter<Scalar>& p, std::size_t slot, Index s, Index len, Scalar lr, Scalar wd) override {
    const Scalar b1 = Scalar(options_.beta1), b2 = Scalar(options_.beta2), eps = Scalar(options_.eps);
    const Scalar step_size = lr / Scalar(bias1_);
    const Scalar inv_sqrt_bias2 = Scalar(1.0 / std::sqrt(bias2_));
    using Arr = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
    Eigen::Map<Arr> val(p.value.data() + s, len), mm(m_[slot].data() + s, len), vv(v_[slot].data() + s, len);
    Eigen::Map<const Arr> g(p.grad.data() + s, len);
    if (wd == Scalar(0)) {
      mm = b1 * mm + (Scalar(1) - b1) * g;
      vv = b2 * vv + (Scalar(1) - b2) * g.square();
    } else {
      mm = b1 * mm + (Scalar(1) - b1) * (g + wd * val);
      vv = b2 * vv + (Scalar(1) - b2) * (g + wd * val).square();
    }
    val -= step_size * mm / (vv.sqrt() * inv_sqrt_bias2 + eps);
  }

 private:
  AdamOptions options_;
  std::vector<Matrix<Scalar>> m_, v_;
  double bias1_ = 1.0, bias2_ = 1.0;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(Adam)

}  // namespace bayesdrop
