// Learning-rate schedules: a factor that multiplies a parameter group's base learning rate at each optimiser step.
//
//   constant()                                   factor 1
//   piecewise({0.5, 0.75}, {1, 0.1, 0.01}, T)    1 until step floor(0.5 T), 0.1 until floor(0.75 T), then 0.01
//                                                (the BBD/SBP code base: gates 1e-2 -> 1e-3 -> 1e-4)
//   linear_decay(T, 0.5)                         1 until step 0.5 T, then linear down to final_factor (0) at T
//                                                (sparse VD's lr_linear; start 0 gives lr_linear_to0)
// Steps are counted from 0 by the optimiser; T is the number of steps the schedule spans (steps per epoch times
// epochs, or a value of the recipe's own choosing). Past T the last factor holds.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bayesdrop/core/error.hpp"

namespace bayesdrop {

class LrSchedule {
 public:
  static LrSchedule constant() { return LrSchedule(); }

  static LrSchedule piecewise(std::vector<double> fractions, std::vector<double> factors, std::int64_t total_steps) {
    check_total(total_steps, "piecewise");
    if (factors.size() != fractions.size() + 1) {
      throw InvalidArgument("LrSchedule::piecewise: need one more factor than boundaries, got " +
                            std::to_string(factors.size()) + " factors for " + std::to_string(fractions.size()) +
                            " boundaries");
    }
    LrSchedule s;
    s.kind_ = Kind::piecewise;
    double previous = 0;
    for (double f : fractions) {
      if (!(f > previous && f <= 1)) {
        throw InvalidArgument("LrSchedule::piecewise: boundaries must be increasing fractions in (0, 1], got " +
                              std::to_string(f));
      }
      previous = f;
      s.boundaries_.push_back(static_cast<std::int64_t>(std::floor(f * double(total_steps))));
    }
    for (double f : factors) check_factor(f, "piecewise");
    s.factors_ = std::move(factors);
    return s;
  }

  static LrSchedule linear_decay(std::int64_t total_steps, double start_fraction = 0.0, double final_factor = 0.0) {
    check_total(total_steps, "linear_decay");
    if (!(start_fraction >= 0 && start_fraction < 1)) {
      throw InvalidArgument("LrSchedule::linear_decay: start_fraction must be in [0, 1), got " +
                            std::to_string(start_fraction));
    }
    check_factor(final_factor, "linear_decay");
    LrSchedule s;
    s.kind_ = Kind::linear;
    s.total_ = total_steps;
    s.start_ = static_cast<std::int64_t>(std::floor(start_fraction * double(total_steps)));
    s.final_ = final_factor;
    return s;
  }

  /// The factor at optimiser step `step` (0-based).
  double factor(std::int64_t step) const {
    switch (kind_) {
      case Kind::constant:
        return 1.0;
      case Kind::piecewise: {
        std::size_t k = 0;
        while (k < boundaries_.size() && step >= boundaries_[k]) ++k;
        return factors_[k];
      }
      case Kind::linear: {
        if (step <= start_) return 1.0;
        if (step >= total_) return final_;
        const double t = double(step - start_) / double(total_ - start_);
        return 1.0 + t * (final_ - 1.0);
      }
    }
    return 1.0;
  }

 private:
  enum class Kind { constant, piecewise, linear };
  LrSchedule() = default;

  static void check_total(std::int64_t total, const char* who) {
    if (total <= 0) {
      throw InvalidArgument(std::string("LrSchedule::") + who + ": total_steps must be positive, got " +
                            std::to_string(total));
    }
  }
  static void check_factor(double f, const char* who) {
    if (!(f >= 0) || !std::isfinite(f)) {
      throw InvalidArgument(std::string("LrSchedule::") + who + ": factors must be finite and >= 0, got " +
                            std::to_string(f));
    }
  }

  Kind kind_ = Kind::constant;
  std::vector<std::int64_t> boundaries_;
  std::vector<double> factors_;
  std::int64_t start_ = 0, total_ = 1;
  double final_ = 0;
};

}  // namespace bayesdrop
