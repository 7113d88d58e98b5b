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

#include <Eigen/Core>
#include <algorithm>
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
/// Entries [begin, begin + length) of a units x B matrix z (column-major, units = q.size()) hold uniforms v on entry
/// and become relaxed Bernoulli gates z = 1 / (1 + (q_unit (1 - v) / v)^(1/tau)), v clamped to [eps, 1 - eps], where
/// q_unit = (1 - p) / p is the odds of the entry's unit. A column's segment at a time through buffers on the stack,
/// so that chunks of one matrix can run on different threads (the gates' fused draw, Rng::uniform(out, n, then));
/// each entry is the same expression as over a whole column.
template <class Scalar, class OddsVector>
void relaxed_bernoulli_gates(Scalar* z, Index begin, Index length, const OddsVector& q, double eps, int integer_power,
                             Scalar inv_tau) {
  using Segment = Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>;
  constexpr Index kBlock = 512;
  Scalar odds_buffer[kBlock], power_buffer[kBlock];
  const Scalar lo(eps), hi(1.0 - eps);  // the bounds rounded from double, as the gates always did
  const Index units = q.size(), end = begin + length;
  for (Index i = begin; i < end;) {
    const Index unit = i % units, len = std::min({units - unit, end - i, kBlock});
    auto zs = Segment(z + i, len).array();
    const auto v = zs.max(lo).min(hi);
    Segment odds(odds_buffer, len), power(power_buffer, len);
    odds.array() = (Scalar(1) - v) / v * q.array().segment(unit, len);
    relaxed_bernoulli_from_odds(odds, integer_power, inv_tau, power, zs);
    i += len;
  }
}

}  // namespace bayesdrop::detail
