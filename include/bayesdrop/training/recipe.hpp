// Training recipes: the optimiser settings of each method's reference code, as named presets.
//
//   Recipe r = recipe_for_dropout("bbd");             // the course assignment's recipe (training/family_recipes.hpp)
//   Adam<float> adam(r.param_groups(model, 600, 60));  // weights and noise parameters at their own rates
//   runner.set_kl_weight(r.kl_schedule(epochs).at(epoch));
//
// "assignment" (the course assignment's code base, OpenXAIProject/Network-Structure-Dropout; all gate types and the
// plain network): Adam, weights and biases at 1e-3 with
// L2 1e-4 (coupled, as TF's 1e-4 * l2_loss), noise parameters at 1e-2 without L2, both divided by 10 at 50 % and by
// 100 at 75 % of the steps; no KL warm-up.
// "sparsevd" (section 5, LeNet-300-100 script): Adam 1e-3 for every parameter, no L2, constant for the first half
// then linear to 0 (lr_linear); the KL weight ramps from 0 at epoch 5 to 1 at epoch 20 (rw_linear), both epochs
// scaled down for runs shorter than 60 epochs so that short runs still warm up.
// "sparsevd_lenet5" (lenet5-ard.py): as sparsevd with the rate linear to 0 from the start (lr_linear_to0).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/optim/lr_schedule.hpp"
#include "bayesdrop/optim/optimizer.hpp"
#include "bayesdrop/training/elbo.hpp"

namespace bayesdrop {

struct Recipe {
  enum class LrShape { piecewise, linear_decay };

  std::string name = "assignment";
  double lr_weights = 1e-3;    ///< Adam rate of weights and biases
  double lr_noise = 1e-2;      ///< Adam rate of noise parameters (ParamRole::noise)
  double weight_decay = 1e-4;  ///< coupled L2 on weights and biases
  LrShape lr_shape = LrShape::piecewise;
  std::vector<double> boundaries{0.5, 0.75};    ///< piecewise: fractions of the steps where the rate changes
  std::vector<double> factors{1.0, 0.1, 0.01};  ///< piecewise: multipliers before, between and after them
  double decay_start = 0.5;  ///< linear_decay: fraction of the steps after which the rate falls linearly to 0
  double warmup_start = 0;   ///< KL warm-up: epoch where the KL weight leaves 0 (0 and 0: no warm-up)
  double warmup_end = 0;     ///< and epoch where it reaches 1
  int epochs = 60;           ///< the preset's length (the course assignment's table is 60 epochs)
  Index batch = 100;
  double adam_beta1 = 0.9;  ///< Adam's beta1 (0.95 in SBP's LeNet-5 script)
  /// Adam's epsilon, > 0. The sparse VD authors' loss is N times ours (a sum over the data set, not a mean), which
  /// Adam cancels except through epsilon: 1e-8 / N (1.7e-13 on MNIST) mimics their scale.
  double adam_eps = 1e-8;
  /// Reshuffle the training set every epoch (false: the stored order every epoch, the last batch shorter, as SBP's
  /// LeNet-5 scripts slice it).
  bool shuffle = true;
  // The authors' choices that act on the model (training/authors_choices.hpp applies them, and cites each):
  bool train_clip = false;        ///< sparse VD: mask weights of log alpha >= 3 in training too (train_clip=True)
  int pretrain_epochs = 0;        ///< epochs of the plain network whose weights the model starts from
  std::vector<double> kl_scales;  ///< KL multiplier of each gate or sparse VD layer in model order; empty: all 1

  /// The course assignment's recipe (gates and the plain network).
  static Recipe assignment() { return Recipe{}; }

  /// Sparse VD's LeNet-300-100 recipe.
  static Recipe sparsevd() {
    Recipe r;
    r.name = "sparsevd";
    r.lr_noise = r.lr_weights;
    r.weight_decay = 0;
    r.lr_shape = LrShape::linear_decay;
    r.decay_start = 0.5;
    r.warmup_start = 5;
    r.warmup_end = 20;
    return r;
  }

  /// Sparse VD's LeNet-5 recipe.
  static Recipe sparsevd_lenet5() {
    Recipe r = sparsevd();
    r.name = "sparsevd_lenet5";
    r.decay_start = 0.0;
    return r;
  }

  /// SBP's LeNet-5 script (Neklyudov et al. 2017, "Structured Bayesian Pruning via Log-Normal Multiplicative
  /// Noise"; necludov/group-sparsity-sbp, scripts/lenet/lenet5-sbp.py): one Adam with beta1 = 0.95 at 1e-3 for
  /// every parameter, no L2, constant for the first half and linear to 0 at the end (from epoch 100 of 200).
  static Recipe sbp_authors() {
    Recipe r;
    r.name = "sbp_authors";
    r.lr_noise = r.lr_weights;
    r.weight_decay = 0;
    r.adam_beta1 = 0.95;
    r.lr_shape = LrShape::linear_decay;
    r.decay_start = 0.5;
    return r;
  }

  /// The same recipe with its learning rates held constant (short runs and tests, where the steps would come
  /// before the network has learnt anything).
  Recipe with_constant_lr() const {
    Recipe r = *this;
    r.lr_shape = LrShape::piecewise;
    r.boundaries.clear();
    r.factors = {1.0};
    return r;
  }

  /// The learning-rate schedule of a run of `run_epochs` epochs of `steps_per_epoch` optimiser steps. The piecewise
  /// boundaries sit where the reference code puts them, at int(steps_per_epoch * (epochs - 1) * fraction): steps
  /// 17700 and 26550 for 60 epochs of 600 batches.
  LrSchedule schedule(std::int64_t steps_per_epoch, int run_epochs) const {
    const std::int64_t total = steps_per_epoch * run_epochs;
    if (lr_shape == LrShape::linear_decay) return LrSchedule::linear_decay(total, decay_start, 0.0);
    return LrSchedule::piecewise(boundaries, factors, run_epochs > 1 ? steps_per_epoch * (run_epochs - 1) : total);
  }

  /// The KL weight per epoch for a run of `run_epochs`: the warm-up epochs shrink in proportion for runs shorter
  /// than 60 epochs (at 60 epochs and more they are the script's absolute epochs).
  KlSchedule kl_schedule(int run_epochs) const {
    if (warmup_end <= 0) return KlSchedule::constant(1.0);
    const double scale = std::min(1.0, double(run_epochs) / 60.0);
    return KlSchedule::linear(warmup_start * scale, warmup_end * scale);
  }

  /// Adam/SGD parameter groups: "weights" (weight and bias roles, decayed) and, when the model has any, "noise".
  template <class Scalar>
  std::vector<ParamGroup<Scalar>> param_groups(Layer<Scalar>& model, std::int64_t steps_per_epoch,
                                               int run_epochs) const {
    const auto params = model.parameters();
    std::vector<ParamGroup<Scalar>> groups;
    groups.push_back({"weights", with_roles(params, {ParamRole::weight, ParamRole::bias}), lr_weights, weight_decay,
                      schedule(steps_per_epoch, run_epochs)});
    auto noise = with_roles(params, {ParamRole::noise});
    if (!noise.empty())
      groups.push_back({"noise", std::move(noise), lr_noise, 0.0, schedule(steps_per_epoch, run_epochs)});
    return groups;
  }
};

}  // namespace bayesdrop
