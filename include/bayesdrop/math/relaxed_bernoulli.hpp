// The relaxed Bernoulli (binary Concrete) draw shared by the gates that sample one: beta-Bernoulli and dependent
// beta-Bernoulli dropout (Lee et al. 2018) and generalized dropout (Srinivas and Babu 2016).
//
// @inproceedings{maddison2017concrete,
//   title     = {The Concrete Distribution: A Continuous Relaxation of Discrete Random Variables},
//   author    = {Maddison, Chris J. and Mnih, Andriy and Teh, Yee Whye},
//   booktitle = {International Conference on Learning Representations},
//   year      = {2017}
// }
#pragma once

#include <cmath>

#include "bayesdrop/core/types.hpp"

namespace bayesdrop::detail {

/// 1/tau when it is an integer in [1, 64], else 0: relaxed_bernoulli_from_odds's power then takes a few products.
inline int relaxed_integer_power(double temperature) {
  const double inv_tau = 1.0 / temperature;
  return (inv_tau >= 1 && inv_tau <= 64 && inv_tau == std::round(inv_tau)) ? int(inv_tau) : 0;
}

/// The relaxed Bernoulli draw's last step (the binary Concrete distribution of Maddison, Mnih and Teh 2017):
/// out = sigmoid((logit(p) + logit(v)) / tau) = 1 / (1 + odds^(1/tau)), odds = (1 - p) / p * (1 - v) / v.
/// `odds` is overwritten (scratch) and `power` is scratch of the same size. The power by repeated squaring when
/// 1/tau is the integer `integer_power` > 0 (10 for tau = 0.1: four products instead of a log and an exp), else
/// exp(log(odds) * inv_tau). Over- and underflow of the power give out = 0 and out = 1, its limits.
template <class Vector, class Out>
void relaxed_bernoulli_from_odds(Vector& odds, int integer_power, typename Vector::Scalar inv_tau, Vector& power,
                                 Out&& out) {
  using S = typename Vector::Scalar;
  if (integer_power > 0) {
    bool started = false;
    for (int n = integer_power;;) {  // power = odds^n, squaring odds in place
      if (n & 1) {
        if (started) {
          power.array() *= odds.array();
        } else {
          power = odds;
          started = true;
        }
      }
      n >>= 1;
      if (n == 0) break;
      odds.array() = odds.array().square();
    }
  } else {
    power.array() = (odds.array().log() * inv_tau).exp();
  }
  out = (S(1) + power.array()).inverse();
}
}  // namespace bayesdrop::detail
