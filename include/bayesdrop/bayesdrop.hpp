// The whole library in one include: `#include <bayesdrop/bayesdrop.hpp>`.
//
// Every public header under include/bayesdrop/ must be listed here. The ctest test `test_headers_umbrella`
// (tests/headers/check_umbrella.cmake) fails when one is missing. To regenerate this file from the tree:
//   cmake -DBAYESDROP_INCLUDE_DIR=include -DUPDATE=ON -P tests/headers/check_umbrella.cmake
// Each header also compiles on its own (target test_headers_compile) and may be included directly instead.
#pragma once

// core: types, errors, random numbers, the layer contract
#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/context.hpp"
#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/gemm.hpp"
#include "bayesdrop/core/init.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/core/parallel.hpp"
#include "bayesdrop/core/parameter.hpp"
#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/core/sparsity.hpp"
#include "bayesdrop/core/thread_budget.hpp"
#include "bayesdrop/core/types.hpp"

// math: special functions, distributions, KL terms
#include "bayesdrop/math/digamma.hpp"
#include "bayesdrop/math/erfcx.hpp"
#include "bayesdrop/math/kl_sparse_vd.hpp"
#include "bayesdrop/math/kl_variational.hpp"
#include "bayesdrop/math/kumaraswamy.hpp"
#include "bayesdrop/math/ndtri.hpp"
#include "bayesdrop/math/normal.hpp"
#include "bayesdrop/math/relaxed_bernoulli.hpp"
#include "bayesdrop/math/truncated_log_normal.hpp"

// data: IDX/MNIST readers (io/idx.hpp needs zlib, which the bayesdrop target links)
#include "bayesdrop/io/dataset.hpp"
#include "bayesdrop/io/durable_file.hpp"
#include "bayesdrop/io/idx.hpp"
#include "bayesdrop/io/json_object.hpp"
#include "bayesdrop/io/mnist.hpp"

// layers
#include "bayesdrop/layers/batch_norm1d.hpp"
#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/channel_bias.hpp"
#include "bayesdrop/layers/conv2d.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_compact.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_options.hpp"
#include "bayesdrop/layers/eval_only.hpp"
#include "bayesdrop/layers/flatten.hpp"
#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/layers/gaussian_dropout.hpp"
#include "bayesdrop/layers/generalized_dropout.hpp"
#include "bayesdrop/layers/group_lasso_linear.hpp"
#include "bayesdrop/layers/im2col.hpp"
#include "bayesdrop/layers/l0_gate.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/max_pool2d.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/layers/sparse_vd_options.hpp"
#include "bayesdrop/layers/sparse_vd_posterior.hpp"
#include "bayesdrop/layers/structured_bayesian_pruning.hpp"
#include "bayesdrop/layers/variational_dropout.hpp"
#include "bayesdrop/layers/variational_information_bottleneck.hpp"
#include "bayesdrop/layers/variational_linear.hpp"

// losses
#include "bayesdrop/losses/softmax_cross_entropy.hpp"

// models: networks, the dropout-family registry and zoo, compact(), model files
#include "bayesdrop/models/builtin_families.hpp"
#include "bayesdrop/models/compact.hpp"
#include "bayesdrop/models/dropout_family.hpp"
#include "bayesdrop/models/lenet5.hpp"
#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/models/model_file.hpp"
#include "bayesdrop/models/registry.hpp"
#include "bayesdrop/models/saved_model.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "bayesdrop/models/summary.hpp"
#include "bayesdrop/models/zoo.hpp"

// optimisers and learning-rate schedules
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/optim/lr_schedule.hpp"
#include "bayesdrop/optim/optimizer.hpp"
#include "bayesdrop/optim/sgd.hpp"

// training loop
#include "bayesdrop/training/authors_choices.hpp"
#include "bayesdrop/training/checkpoint.hpp"
#include "bayesdrop/training/diagnose.hpp"
#include "bayesdrop/training/elbo.hpp"
#include "bayesdrop/training/epoch_log.hpp"
#include "bayesdrop/training/epoch_runner.hpp"
#include "bayesdrop/training/family_recipes.hpp"
#include "bayesdrop/training/fit.hpp"
#include "bayesdrop/training/recipe.hpp"

// top-level headers
#include "bayesdrop/version.hpp"

// methods
#include "bayesdrop/methods/run.hpp"

// uncertainty
#include "bayesdrop/uncertainty/mc_predict.hpp"
#include "bayesdrop/uncertainty/metrics.hpp"
