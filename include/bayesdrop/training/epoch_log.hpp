// What one epoch of fit() measured: the record of a training run's history, which checkpoints also carry.
#pragma once

#include <vector>

#include "bayesdrop/core/types.hpp"
#include "bayesdrop/training/epoch_runner.hpp"

namespace bayesdrop {

/// What one epoch of fit() measured.
struct EpochLog {
  int epoch = 0;                ///< 1-based
  EpochResult train;            ///< training pass (cross-entropy and accuracy under the noise, ELBO parts)
  EpochResult test;             ///< evaluation pass on the test set (zeros without one)
  std::vector<double> lr;       ///< learning rate of each optimiser group at the start of the epoch
  double kl_weight = 1;         ///< KL warm-up weight used in the epoch
  std::vector<Index> n_active;  ///< every gate's n_active after the epoch, in model order
};

}  // namespace bayesdrop
