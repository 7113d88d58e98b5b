// The authors' training choices that act on the model rather than on the optimiser, as named recipe options
// (Recipe::train_clip, Recipe::kl_scales, Recipe::pretrain_epochs; Recipe::sbp_authors() holds SBP's Adam):
//
//  * train_clip: sparse VD's layers mask the weights of log alpha >= 3 in training as well as in evaluation.
//    Molchanov, Ashukha, Vetrov 2017, "Variational Dropout Sparsifies Deep Neural Networks"; the authors'
//    repository ars-ashuha/variational-dropout-sparsifies-dnn, whose LeNet scripts (experiments/lenet/
//    lenet300-100-ard.py and lenet5-ard.py) both build their layers with train_clip=True.
//  * pretrain_epochs: the network starts from a plain network's trained weights, its noise parameters at their
//    initial values (sparse VD: log sigma^2 = -10, the scripts' lsinit=-10 in build_params_from_init, lenet5-ard.py;
//    SBP and beta-Bernoulli: every reference script restores a pretrained base, e.g. necludov/group-sparsity-sbp
//    scripts/lenet/lenet5-sbp.py and OpenXAIProject/Network-Structure-Dropout scripts/lenet_dense/bbdropout.py).
//  * kl_scales: the KL of each noise layer is multiplied by its own factor. Lee et al. 2018, "Adaptive Network
//    Sparsification with Dependent Variational Beta-Bernoulli Dropout" (arXiv 1805.10896), in the authors' PyTorch
//    code (juho-lee/bbdrop, configs for LeNet-5-Caffe with *_scale): kl_scale 40 on conv1's gate and 16 on conv2's,
//    1 on the dense gates. authors_bbd_lenet5_kl_scales() gives that list for this library's LeNet-5.
//  * the beta-Bernoulli start of dependent beta-Bernoulli dropout: DBB always trains from a finished
//    beta-Bernoulli model, its weights and its gates (Lee et al. 2018; OpenXAIProject/Variational_Dropouts
//    src/experiments/run.py, dbbd_train restores the bbd run's weights and gates and trains only the dependent
//    parameters and the weights; juho-lee/bbdrop scripts/dprune.py loads the BB model likewise).
//    copy_beta_bernoulli_gates() carries the gates over, copy_pretrained_weights() the weights.
#pragma once

#include <string>
#include <vector>

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_dropout.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "bayesdrop/training/recipe.hpp"

namespace bayesdrop {

/// The beta-Bernoulli authors' KL scales for LeNet-5-Caffe's gates in model order: conv1 40, conv2 16, then 1 for
/// the two dense gates.
inline std::vector<double> authors_bbd_lenet5_kl_scales() {
  return {40.0, 16.0, 1.0, 1.0};
}

/// The layers that carry a KL term (Layer::has_kl(): variational dropout of both types, sparse VD, beta-Bernoulli,
/// dependent beta-Bernoulli and SBP; not binary or Gaussian dropout), by index in the model, in order.
template <class Scalar>
std::vector<Index> noise_layers(const Sequential<Scalar>& model) {
  std::vector<Index> out;
  for (Index i = 0; i < model.size(); ++i) {
    if (model.layer(i).has_kl()) out.push_back(i);
  }
  return out;
}

/// Applies the recipe's choices that live in the model: train_clip on every layer with a train mask (sparse VD),
/// and kl_scales on the layers with a KL term in order. Throws InvalidArgument when kl_scales does not have one
/// entry per such layer, or when train_clip is asked of a model without a layer that takes it.
template <class Scalar>
void apply_model_choices(Sequential<Scalar>& model, const Recipe& recipe) {
  if (recipe.train_clip) {
    int found = 0;
    for (Index i = 0; i < model.size(); ++i) found += model.layer(i).set_train_mask(true);
    if (found == 0)
      throw InvalidArgument("train_clip: the model has no sparse VD layers (it applies to sparsevd only)");
  }
  if (!recipe.kl_scales.empty()) {
    const auto layers = noise_layers(model);
    if (layers.size() != recipe.kl_scales.size()) {
      throw InvalidArgument("kl_scales: " + std::to_string(recipe.kl_scales.size()) + " scales for a model with " +
                            std::to_string(layers.size()) +
                            " noise layers (layers with a KL term: variational, sparse VD, beta-Bernoulli or SBP); "
                            "give one per layer in model order");
    }
    for (std::size_t k = 0; k < layers.size(); ++k) model.set_kl_scale(layers[k], recipe.kl_scales[k]);
  }
}

/// Copies the weights and biases of a trained plain network `from` into `to` (the same network with noise layers),
/// leaving `to`'s noise parameters at their initial values. The two must have their weights and biases in the same
/// order and shapes (a gated network and its plain version; a sparse VD network and its plain version, whose theta
/// is the plain weight). Throws InvalidArgument otherwise.
template <class Scalar>
void copy_pretrained_weights(Sequential<Scalar>& from, Sequential<Scalar>& to) {
  const auto roles = {ParamRole::weight, ParamRole::bias};
  const auto src = with_roles(from.parameters(), roles), dst = with_roles(to.parameters(), roles);
  if (src.size() != dst.size()) {
    throw InvalidArgument("pretraining: the plain network has " + std::to_string(src.size()) +
                          " weight tensors and the model " + std::to_string(dst.size()) +
                          "; they must be the same "
                          "network");
  }
  for (std::size_t i = 0; i < src.size(); ++i) {
    if (src[i]->value.rows() != dst[i]->value.rows() || src[i]->value.cols() != dst[i]->value.cols()) {
      throw InvalidArgument("pretraining: weight '" + dst[i]->name + "' is " +
                            detail::shape_string(dst[i]->value.rows(), dst[i]->value.cols()) + " in the model but " +
                            detail::shape_string(src[i]->value.rows(), src[i]->value.cols()) + " in the plain network");
    }
  }
  for (std::size_t i = 0; i < src.size(); ++i) dst[i]->value = src[i]->value;
}

/// The dependent beta-Bernoulli gates of `model`, in model order.
template <class Scalar>
std::vector<DependentBetaBernoulliDropout<Scalar>*> dependent_gates(Sequential<Scalar>& model) {
  std::vector<DependentBetaBernoulliDropout<Scalar>*> out;
  for (Index i = 0; i < model.size(); ++i) {
    if (auto* g = dynamic_cast<DependentBetaBernoulliDropout<Scalar>*>(&model.layer(i))) out.push_back(g);
  }
  return out;
}

/// Copies every beta-Bernoulli gate's raw_a and raw_b of a trained model `from` into the beta-Bernoulli part of the
/// dependent gate at the same position of `to`, in model order (see the header comment: the authors' DBB start).
/// The weights are copy_pretrained_weights()' job. Throws InvalidArgument unless both have the same number of such
/// gates with the same units and spatial sizes.
template <class Scalar>
void copy_beta_bernoulli_gates(Sequential<Scalar>& from, Sequential<Scalar>& to) {
  std::vector<BetaBernoulliDropout<Scalar>*> src;
  for (Index i = 0; i < from.size(); ++i) {
    if (auto* g = dynamic_cast<BetaBernoulliDropout<Scalar>*>(&from.layer(i))) src.push_back(g);
  }
  const auto dst = dependent_gates(to);
  if (src.size() != dst.size() || src.empty()) {
    throw InvalidArgument("dependent beta-Bernoulli start: the model has " + std::to_string(dst.size()) +
                          " dependent gates but the trained model " + std::to_string(src.size()) +
                          " beta-Bernoulli gates; start a dbb model from a bbd model of the same network");
  }
  for (std::size_t i = 0; i < src.size(); ++i) {
    if (src[i]->units() != dst[i]->units() || src[i]->spatial() != dst[i]->spatial()) {
      throw InvalidArgument("dependent beta-Bernoulli start: gate " + std::to_string(i) + " has " +
                            std::to_string(dst[i]->units()) + " units of " + std::to_string(dst[i]->spatial()) +
                            " values in the model but " + std::to_string(src[i]->units()) + " of " +
                            std::to_string(src[i]->spatial()) + " in the trained model");
    }
  }
  for (std::size_t i = 0; i < src.size(); ++i) {
    dst[i]->beta_bernoulli().raw_a().value = src[i]->raw_a().value;
    dst[i]->beta_bernoulli().raw_b().value = src[i]->raw_b().value;
  }
}

#if BAYESDROP_EXTERN_TEMPLATES
extern template void apply_model_choices(Sequential<float>&, const Recipe&);
extern template void copy_pretrained_weights(Sequential<float>&, Sequential<float>&);
extern template void copy_beta_bernoulli_gates(Sequential<float>&, Sequential<float>&);
extern template void apply_model_choices(Sequential<double>&, const Recipe&);
extern template void copy_pretrained_weights(Sequential<double>&, Sequential<double>&);
extern template void copy_beta_bernoulli_gates(Sequential<double>&, Sequential<double>&);
#endif

}  // namespace bayesdrop
