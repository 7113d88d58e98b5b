// The trainer's flags for the authors' training choices (bayesdrop/training/authors_choices.hpp and
// Recipe::sbp_authors()), kept apart from main.cpp: each flag sets one named recipe option.
#pragma once

#include <CLI/CLI.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bayesdrop/bayesdrop.hpp"

namespace trainer {

struct AuthorsFlags {
  bool train_clip = false;
  bool sbp_adam = false;
  std::string kl_scales;  // "40,16,1,1" or "bbd-lenet5"
};

inline void add_authors_flags(CLI::App& app, AuthorsFlags& f) {
  app.add_flag("--train-clip", f.train_clip,
               "sparsevd: mask weights of log alpha >= 3 in training too, as both of the authors' LeNet scripts do "
               "(train_clip=True)");
  app.add_flag("--sbp-adam", f.sbp_adam,
               "SBP's LeNet-5 script's optimiser: one Adam with beta1 = 0.95 at --lr for every parameter, no L2, "
               "constant for the first half, then linear to 0");
  app.add_option("--kl-scales", f.kl_scales,
                 "KL multiplier of each noise layer in model order, comma-separated (e.g. 40,16,1,1), or bbd-lenet5 "
                 "for the beta-Bernoulli authors' conv scales 40 and 16");
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
  if (f.kl_scales == "bbd-lenet5") {
    r.kl_scales = bayesdrop::authors_bbd_lenet5_kl_scales();
  } else if (!f.kl_scales.empty()) {
    r.kl_scales.clear();
    std::stringstream list(f.kl_scales);
    for (std::string item; std::getline(list, item, ',');) {
      std::size_t used = 0;
      double v = -1;
      try {
        v = std::stod(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != item.size() || !(v >= 0)) {
        throw bayesdrop::InvalidArgument("--kl-scales: '" + item +
                                         "' is not a number >= 0; give a comma-separated "
                                         "list such as 40,16,1,1, or bbd-lenet5");
      }
      r.kl_scales.push_back(v);
    }
  }
}

}  // namespace trainer
