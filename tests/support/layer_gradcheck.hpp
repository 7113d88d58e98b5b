// The three finite-difference checks a noise layer's test runs (support/gradcheck.hpp), as Catch checks with the
// tolerances the layer tests share: the input gradient (1e-7), the parameter gradients with a KL term (1e-6) and the
// KL's own gradient (1e-6). Include after catch2/catch.hpp.
#pragma once

#include <cstdint>

#include "support/gradcheck.hpp"

namespace bayesdrop::test {

/// Checks `layer`'s input, parameter (plus kl_coeff * KL) and KL gradients at x, with the noise of `seed`.
inline void check_layer_gradients(Layer<double>& layer, const Matrix<double>& x, std::uint64_t seed,
                                  double kl_coeff = 0.7) {
  const auto in = check_input_gradient(layer, x, seed);
  INFO(in.what << " " << in.error);
  CHECK(in.error < 1e-7);
  const auto par = check_parameter_gradients(layer, x, seed, kl_coeff);
  INFO(par.what << " " << par.error);
  CHECK(par.error < 1e-6);
  const auto kl = check_kl_gradient(layer);
  INFO(kl.what << " " << kl.error);
  CHECK(kl.error < 1e-6);
}

}  // namespace bayesdrop::test
