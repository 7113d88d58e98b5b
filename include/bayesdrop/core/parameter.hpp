// A trained tensor with its gradient. Owned by its layer; optimisers keep state per Parameter, never per address.
#pragma once

#include <string>

#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

/// What a parameter is for. Recipes train the groups at different rates and decay only some of them:
/// the methods' reference code applies L2 weight decay to `weight` and `bias` and a 10x learning rate to `noise`.
enum class ParamRole {
  weight,  ///< multiplicative weights of Linear / Conv layers
  bias,    ///< additive biases
  noise,   ///< parameters of a noise distribution (log alpha, log sigma^2, Kumaraswamy a and b, SBP mu and log sigma)
};

template <class Scalar>
struct Parameter {
  std::string name;  ///< e.g. "weight"; the model prefixes the layer ("2.weight")
  ParamRole role = ParamRole::weight;
  Matrix<Scalar> value;  ///< the trained values
  Matrix<Scalar> grad;   ///< d loss / d value, same shape; accumulated by backward, cleared by zero_grad()

  Parameter(std::string name_, ParamRole role_, Index rows, Index cols)
      : name(std::move(name_)),
        role(role_),
        value(Matrix<Scalar>::Zero(rows, cols)),
        grad(Matrix<Scalar>::Zero(rows, cols)) {}

  Index size() const { return value.size(); }
  void zero_grad() { grad.setZero(); }
};

/// A named tensor of layer state that is not trained but belongs to the model (BatchNorm's running mean and
/// variance): saved and loaded with it, never touched by an optimiser. Points into the layer that owns it.
template <class Scalar>
struct StateTensor {
  std::string name;       ///< e.g. "running_mean"
  Matrix<Scalar>* value;  ///< owned by the layer; valid for the layer's lifetime
};

}  // namespace bayesdrop
