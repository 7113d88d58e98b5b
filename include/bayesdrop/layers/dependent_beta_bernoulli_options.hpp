// The options of dependent beta-Bernoulli dropout (layers/dependent_beta_bernoulli_dropout.hpp, Lee et al. 2018):
// its part's beta-Bernoulli options, the per-example threshold, the temperature, the shift's initial value and prior,
// raw_sigma's initialiser, the batch normalisation of the gate's input, and whether the beta-Bernoulli part trains.
//
// Where the references differ (the authors' class-style TensorFlow code, OpenXAIProject/Variational_Dropouts
// src/model/dbbdropout.py, which produced the published LeNet-500-300 points, and their PyTorch code,
// juho-lee/bbdrop modules/dbbdropout.py); the defaults follow the former:
//   option        default (class-style TF)             PyTorch
//   shift_init    10                                   1
//   raw_sigma     Glorot uniform (sigma ~ 0.69)        0.5413 (sigma = 1)
//   BN            momentum 0.01 (TF's 0.99), eps 1e-3  0.1, 1e-5
//   threshold     1e-3 on z                            1e-3 on z
// Both train only the dependent part (and the weights) from a finished beta-Bernoulli model, whose gates stay as
// they are: the default here.
#pragma once

#include <cmath>
#include <string>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"

namespace bayesdrop {

/// Threshold on the evaluation gate z = g clamp(h, 0, 1) per example (class-style TF and PyTorch code).
inline constexpr double kDependentGateThreshold = 1e-3;
/// Initial shift beta of the input-dependent gate in the class-style TF code: h starts near 10, the gate fully open.
inline constexpr double kDependentShiftInit = 10.0;
/// Initial shift in the authors' PyTorch code.
inline constexpr double kDependentShiftInitPyTorch = 1.0;
/// Standard deviation rho of the shift's prior N(0, rho^2): sqrt(5) in every reference implementation.
inline constexpr double kDependentShiftPriorStd = 2.2360679774997896964;  // sqrt(5)
/// Batch normalisation of the gate's input: weight of the new batch in the running statistics (TF momentum 0.99).
inline constexpr double kDependentBnMomentum = 0.01;
/// Batch normalisation of the gate's input: eps added to the variance (tf.nn.batch_normalization call of the code).
inline constexpr double kDependentBnEps = 1e-3;

struct DependentBetaBernoulliOptions {
  /// How raw_sigma starts.
  enum class SigmaInit {
    glorot_uniform,  ///< U(-sqrt(3/K), sqrt(3/K)) for K units (a TF [K] variable without initialiser; default)
    constant,        ///< every unit at raw_sigma_init (PyTorch: 0.5413, sigma = 1)
  };

  BetaBernoulliOptions beta_bernoulli{};             ///< the beta-Bernoulli part. Default: its defaults
  double threshold = kDependentGateThreshold;        ///< on z per example, in [0, 1). Default: 1e-3
  double temperature = kBetaBernoulliTemperature;    ///< of the dependent relaxed Bernoulli, > 0. Default: 0.1
  double shift_init = kDependentShiftInit;           ///< initial beta, finite. Default: 10
  double prior_std = kDependentShiftPriorStd;        ///< rho of N(0, rho^2), > 0. Default: sqrt(5)
  SigmaInit sigma_kind = SigmaInit::glorot_uniform;  ///< initialiser of raw_sigma. Default: Glorot uniform
  double raw_sigma_init = kBetaBernoulliRawBInit;    ///< raw_sigma for SigmaInit::constant. Default: 0.5413
  double bn_momentum = kDependentBnMomentum;         ///< new batch's weight in the running statistics, (0, 1]
  double bn_eps = kDependentBnEps;                   ///< added to the variance, > 0. Default: 1e-3
  bool train_beta_bernoulli = false;                 ///< train raw_a and raw_b too. Default: no (the authors')

  DependentBetaBernoulliOptions& with_beta_bernoulli(const BetaBernoulliOptions& o) {
    o.validate();
    beta_bernoulli = o;
    return *this;
  }
  DependentBetaBernoulliOptions& with_threshold(double v) {
    threshold = v;
    check_threshold();
    return *this;
  }
  DependentBetaBernoulliOptions& with_temperature(double v) {
    temperature = v;
    check_temperature();
    return *this;
  }
  DependentBetaBernoulliOptions& with_shift_init(double v) {
    shift_init = v;
    check_inits();
    return *this;
  }
  DependentBetaBernoulliOptions& with_prior_std(double v) {
    prior_std = v;
    check_prior();
    return *this;
  }
  /// raw_sigma starts at the constant v for every unit.
  DependentBetaBernoulliOptions& with_raw_sigma_init(double v) {
    sigma_kind = SigmaInit::constant;
    raw_sigma_init = v;
    check_inits();
    return *this;
  }
  DependentBetaBernoulliOptions& with_batch_norm(double momentum, double eps) {
    bn_momentum = momentum;
    bn_eps = eps;
    check_batch_norm();
    return *this;
  }
  DependentBetaBernoulliOptions& with_train_beta_bernoulli(bool on) {
    train_beta_bernoulli = on;
    return *this;
  }

  /// The authors' PyTorch variant (juho-lee/bbdrop): shift 1, sigma 1, PyTorch's batch-norm momentum and eps.
  static DependentBetaBernoulliOptions pytorch() {
    return DependentBetaBernoulliOptions{}
        .with_shift_init(kDependentShiftInitPyTorch)
        .with_raw_sigma_init(kBetaBernoulliRawBInit)
        .with_batch_norm(0.1, 1e-5);
  }

  /// Throws InvalidArgument naming the first invalid field (for structs filled in field by field).
  void validate() const {
    beta_bernoulli.validate();
    check_threshold();
    check_temperature();
    check_inits();
    check_prior();
    check_batch_norm();
  }

 private:
  static void fail(const std::string& what) { throw InvalidArgument("DependentBetaBernoulliOptions: " + what); }
  void check_threshold() const {
    if (!(threshold >= 0 && threshold < 1)) {
      fail("threshold on the per-example gate must be in [0, 1), got " + std::to_string(threshold) +
           "; the reference value is 1e-3");
    }
  }
  void check_temperature() const {
    if (!(temperature > 0) || !std::isfinite(temperature)) {
      fail("temperature of the dependent relaxed Bernoulli must be finite and > 0, got " + std::to_string(temperature) +
           "; the reference value is 0.1");
    }
  }
  void check_inits() const {
    if (!std::isfinite(shift_init)) fail("shift_init must be finite, got " + std::to_string(shift_init));
    if (!std::isfinite(raw_sigma_init)) fail("raw_sigma_init must be finite, got " + std::to_string(raw_sigma_init));
  }
  void check_prior() const {
    if (!(prior_std > 0) || !std::isfinite(prior_std)) {
      fail("prior_std (rho of the shift's prior N(0, rho^2)) must be finite and > 0, got " + std::to_string(prior_std) +
           "; the reference value is sqrt(5)");
    }
  }
  void check_batch_norm() const {
    if (!(bn_momentum > 0 && bn_momentum <= 1)) {
      fail("bn_momentum (the new batch's weight in the running statistics) must be in (0, 1], got " +
           std::to_string(bn_momentum) + "; TensorFlow's momentum 0.99 is 0.01 here");
    }
    if (!(bn_eps > 0) || !std::isfinite(bn_eps)) fail("bn_eps must be finite and > 0, got " + std::to_string(bn_eps));
  }
};

}  // namespace bayesdrop
