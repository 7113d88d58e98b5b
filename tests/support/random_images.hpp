// Random 28x28 "images" with labels cycling through the ten classes: data for tests of training mechanics
// (schedules, optimisers, checkpoints), where what is learned does not matter.
#pragma once

#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/io/dataset.hpp"

namespace bayesdrop::test {

/// n images of uniform pixels drawn from `rng`; image i has label (i * label_step) mod 10.
inline Dataset<float> random_images(Index n, Rng& rng, Index label_step = 1) {
  Dataset<float> d;
  d.shape = ImageShape{1, 28, 28};
  d.images.resize(784, n);
  rng.uniform(d.images);
  d.labels.resize(n);
  for (Index i = 0; i < n; ++i) d.labels[i] = Label((i * label_step) % 10);
  return d;
}

}  // namespace bayesdrop::test
