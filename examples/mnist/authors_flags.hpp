// The trainer's flags for the authors' training choices (bayesdrop/training/authors_choices.hpp and
// Recipe::sbp_authors()), kept apart from main.cpp: each flag sets one named recipe option.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "../common/flags.hpp"
#include "bayesdrop/bayesdrop.hpp"

namespace trainer {

struct AuthorsFlags {
  bool train_clip = false;
  bool sbp_adam = false;
  std::string kl_scales;  // "40,16,1,1" or "bbd-lenet5"
  bool center_inputs = false;
  double adam_eps = 0;  // 0: the recipe's
  bool pretrain_sbp_adam = false;
  double dense_init_std = 0;  // 0: the plain dense layers start Glorot uniform
  bool fixed_order = false;
};

/// Reads a --kl-scales list (not bbd-lenet5): comma-separated finite decimal numbers >= 0, such as 40,16,1,1; no
/// empty item (a trailing comma), no hexadecimal, inf or nan. Returns why `text` is refused ("" when it is not) and
/// puts the numbers into `scales` when given.
inline std::string read_kl_scales(const std::string& text, std::vector<double>* scales = nullptr) {
  const std::string example = "; give a comma-separated list of numbers >= 0 such as 40,16,1,1, or bbd-lenet5";
  if (text.empty()) return "the list is empty" + example;
  std::vector<double> out;
  for (std::size_t start = 0;;) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) return "'" + text + "' has an empty item" + example;
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    const bool decimal = item.find_first_not_of("0123456789.eE+-") == std::string::npos;
    if (!decimal || end != item.c_str() + item.size() || !std::isfinite(v) || !(v >= 0)) {
      return "'" + item + "' is not a finite decimal number >= 0" + example;
    }
    out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (scales) *scales = out;
  return {};
}

inline void add_authors_flags(CLI::App& app, AuthorsFlags& f) {
  app.add_flag("--train-clip", f.train_clip,
               "sparsevd: mask weights of log alpha >= 3 in training too, as both of the authors' LeNet scripts do "
               "(train_clip=True)");
  app.add_flag("--sbp-adam", f.sbp_adam,
               "SBP's LeNet-5 script's optimiser: one Adam with beta1 = 0.95 at --lr for every parameter, no L2, "
               "constant for the first half, then linear to 0");
  app.add_option("--kl-scales", f.kl_scales,
                 "KL multiplier of each noise layer in model order, comma-separated (e.g. 40,16,1,1), or bbd-lenet5 "
                 "for the beta-Bernoulli authors' conv scales 40 and 16")
      ->check(
          CLI::Validator([](std::string& text) { return text == "bbd-lenet5" ? std::string() : read_kl_scales(text); },
                         ""));  // no description: --help shows the flag as before
  app.add_flag("--pretrain-sbp-adam", f.pretrain_sbp_adam,
               "--pretrain with SBP's LeNet-5 pretraining script's optimiser (Adam beta1 = 0.95 at 1e-3, no L2, "
               "linear to 0 from half way, batches of --batch) instead of the assignment's constant Adam with L2");
  app.add_option("--adam-eps", f.adam_eps,
                 "Adam's epsilon (default 1e-8), also the pretraining's with --pretrain-sbp-adam; 1.7e-13 = 1e-8 / "
                 "60000 behaves as the authors' loss, summed over the data set rather than averaged")
      ->check(flags::real(0, 1, true));
  app.add_flag("--center-inputs", f.center_inputs,
               "subtract the training set's mean image from every training and test image, as the sparse VD "
               "authors' MNIST reader does; a model saved so is evaluated (--load) or warm-started from "
               "(--init-from) with the flag again");
  app.add_option("--dense-init-std", f.dense_init_std,
                 "start the plain dense layers' weights from a normal of this std truncated at two stds "
                 "(TensorFlow's truncated_normal_initializer; SBP's LeNet-5 scripts use 0.01) instead of Glorot "
                 "uniform; the gate families only (sparse VD's dense layers have their own start)")
      ->check(flags::real(0, 1, true))
      ->excludes("--load");
  app.add_flag("--fixed-order", f.fixed_order,
               "train on the batches in the data set's stored order, the same every epoch with a shorter last one, "
               "as SBP's LeNet-5 scripts do, instead of reshuffling every epoch (the pretraining too)")
      ->excludes("--load");
}

/// The plain dense layers' initialiser of --dense-init-std (Glorot uniform without it). Throws
/// bayesdrop::InvalidArgument, naming the flag, for a family that builds its own dense layers.
inline bayesdrop::Init dense_init(const AuthorsFlags& f, const std::string& dropout) {
  if (f.dense_init_std <= 0) return bayesdrop::Init::glorot_uniform();
  if (bayesdrop::dropout_family(dropout, "--dense-init-std").has_dense()) {
    throw bayesdrop::InvalidArgument("--dense-init-std sets the start of the plain dense layers, and --dropout " +
                                     dropout +
                                     " builds its own (with their own initialiser); drop the flag, or use a gate "
                                     "family");
  }
  return bayesdrop::Init::truncated_normal(f.dense_init_std);
}

/// A model file's inputs must be prepared as this run prepares them: a model trained on centred images gives
/// wrong predictions on raw pixels, without any error. Throws bayesdrop::InvalidArgument naming `flag`.
inline void check_input_centring(const AuthorsFlags& f, const std::string& path, const std::string& flag) {
  namespace bd = bayesdrop;
  const bd::JsonObject meta = bd::parse_json_object(bd::read_model_metadata(path), path);
  const bd::JsonValue* v = meta.find("center_inputs");
  const bool centred = v != nullptr && v->kind == bd::JsonValue::Kind::boolean && v->number != 0;
  if (centred && !f.center_inputs) {
    throw bd::InvalidArgument(flag + " " + path +
                              ": the model was trained on centred images (--center-inputs); give --center-inputs "
                              "again so that its inputs are prepared the same way");
  }
  if (!centred && f.center_inputs) {
    throw bd::InvalidArgument(flag + " " + path +
                              ": the model was trained on raw pixels in [0, 1], not with --center-inputs; drop "
                              "--center-inputs, or train its start with it");
  }
}

/// Applies the flags to the recipe: after its preset is chosen, before --lr and the other flags override rates.
/// Throws bayesdrop::InvalidArgument for a --kl-scales list that is not numbers.
inline void apply_authors_flags(const AuthorsFlags& f, bayesdrop::Recipe& r) {
  if (f.sbp_adam) {
    const bayesdrop::Recipe sbp = bayesdrop::Recipe::sbp_authors();
    r.name = sbp.name;
    r.lr_weights = r.lr_noise = sbp.lr_weights;
    r.weight_decay = sbp.weight_decay;
    r.adam_beta1 = sbp.adam_beta1;
    r.lr_shape = sbp.lr_shape;
    r.decay_start = sbp.decay_start;
  }
  if (f.train_clip) r.train_clip = true;
  if (f.adam_eps > 0) r.adam_eps = f.adam_eps;
  if (f.fixed_order) r.shuffle = false;
  if (f.kl_scales == "bbd-lenet5") {
    r.kl_scales = bayesdrop::authors_bbd_lenet5_kl_scales();
  } else if (!f.kl_scales.empty()) {
    r.kl_scales.clear();
    const std::string why = read_kl_scales(f.kl_scales, &r.kl_scales);
    if (!why.empty()) throw bayesdrop::InvalidArgument("--kl-scales: " + why);
  }
}

/// The name --pretrain-sbp-adam's pretraining recipe goes by in reports and checkpoint settings.
inline constexpr const char* kSbpPretrainRecipe = "sbp_authors_pretrain";

/// The plain network's recipe for --pretrain: the library's default, or with --pretrain-sbp-adam SBP's LeNet-5
/// pretraining (necludov/group-sparsity-sbp, scripts/lenet/lenet5.py) at the run's batch size; --fixed-order holds
/// its batches in the stored order too, and with --pretrain-sbp-adam --adam-eps sets its epsilon as the SBP phase's.
/// Throws bayesdrop::InvalidArgument for --pretrain-sbp-adam without --pretrain.
inline bayesdrop::Recipe pretrain_recipe(const AuthorsFlags& f, int pretrain_epochs, const bayesdrop::Recipe& method) {
  if (!f.pretrain_sbp_adam) {
    bayesdrop::Recipe r = bayesdrop::RunSpec{}.pretrain_recipe;
    r.shuffle = !f.fixed_order;
    return r;
  }
  if (pretrain_epochs <= 0) {
    throw bayesdrop::InvalidArgument(
        "--pretrain-sbp-adam sets the optimiser of --pretrain N, which is not given; add "
        "--pretrain 200 (the authors' length) or drop the flag");
  }
  bayesdrop::Recipe r = bayesdrop::Recipe::sbp_authors();
  r.name = kSbpPretrainRecipe;
  r.batch = method.batch;
  r.shuffle = !f.fixed_order;
  if (f.adam_eps > 0) r.adam_eps = f.adam_eps;  // their pretraining's loss is a sum over the data set too
  return r;
}

/// Checks the flags against the network before any training (the pretraining included), naming the flag: --train-clip
/// needs sparse VD layers, and --kl-scales (read into `r`) one scale per noise layer. Throws
/// bayesdrop::InvalidArgument; fit() would refuse the same, but only when the gated training starts.
template <class Scalar>
void check_authors_flags(const AuthorsFlags& f, const bayesdrop::Recipe& r, const bayesdrop::Sequential<Scalar>& model,
                         const std::string& dropout) {
  namespace bd = bayesdrop;
  if (f.train_clip) {
    bool sparse_vd = false;
    for (bd::Index i = 0; i < model.size(); ++i) {
      const bd::Layer<Scalar>* l = &model.layer(i);
      sparse_vd = sparse_vd || dynamic_cast<const bd::SparseVDLinear<Scalar>*>(l) ||
                  dynamic_cast<const bd::SparseVDConv2d<Scalar>*>(l);
    }
    if (!sparse_vd) {
      throw bd::InvalidArgument("--train-clip: --dropout " + dropout +
                                " has no sparse VD layers (no log alpha to clip); it applies to --dropout sparsevd");
    }
  }
  if (!f.kl_scales.empty()) {
    const std::size_t layers = bd::noise_layers(model).size();
    if (r.kl_scales.size() != layers) {
      throw bd::InvalidArgument(
          "--kl-scales " + f.kl_scales + ": " + std::to_string(r.kl_scales.size()) + " scales for a model with " +
          std::to_string(layers) +
          " noise layers (layers with a KL term: variational, sparse VD, beta-Bernoulli or SBP; binary and "
          "Gaussian dropout have none); give one per layer in model order");
    }
  }
}

}  // namespace trainer
