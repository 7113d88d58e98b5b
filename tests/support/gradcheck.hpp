// Finite-difference gradient checks (double precision) for layers, losses and whole models.
//
// Stochastic layers are checked with common random numbers: the generator is reseeded to the same seed before
// every forward pass, so f(theta + h) and f(theta - h) see the same noise. Layers are probed with the scalar loss
//   L = <y, R> + kl_coeff * kl()
// (R fixed and random), whose gradient backward(dy = R) plus kl_backward(kl_coeff) must reproduce.
// The error is scale-free, ||g - g_num|| / ||g + g_num|| (mlpack), and a ladder of step sizes is tried (dlib),
// because the best step depends on the curvature of the function.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "bayesdrop/core/layer.hpp"

namespace bayesdrop::test {

struct GradCheckResult {
  double error = std::numeric_limits<double>::infinity();  ///< best relative error over the step ladder
  double step = 0;                                         ///< the step that gave it
  std::string what;                                        ///< what was checked, for failure messages
};

inline double relative_error(const Matrix<double>& a, const Matrix<double>& b) {
  const double denom = (a + b).norm();
  if (denom == 0) return (a - b).norm();
  return (a - b).norm() / denom;
}

/// Central differences of f with respect to every entry of var, compared with `analytic`.
inline GradCheckResult check_gradient(const std::function<double()>& f, Matrix<double>& var,
                                      const Matrix<double>& analytic, const std::string& what) {
  GradCheckResult best;
  best.what = what;
  for (double h : {1e-6, 1e-5, 1e-4, 1e-7, 1e-3}) {
    Matrix<double> numeric(var.rows(), var.cols());
    for (Index i = 0; i < var.size(); ++i) {
      const double saved = var.data()[i];
      var.data()[i] = saved + h;
      const double up = f();
      var.data()[i] = saved - h;
      const double down = f();
      var.data()[i] = saved;
      numeric.data()[i] = (up - down) / (2 * h);
    }
    const double err = relative_error(analytic, numeric);
    if (err < best.error) {
      best.error = err;
      best.step = h;
    }
    if (best.error < 1e-8) break;
  }
  return best;
}

/// The probe loss <layer(x), R> + kl_coeff * kl() with the generator reseeded to `seed`.
inline double probe_loss(Layer<double>& layer, const Matrix<double>& x, const Matrix<double>& r, double kl_coeff,
                         Mode mode, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<double> y;
  layer.forward(x, y, Context{mode, &rng});
  return (y.array() * r.array()).sum() + kl_coeff * layer.kl();
}

/// A fixed random probe direction R for the layer's output at batch size `batch`.
inline Matrix<double> probe_direction(const Layer<double>& layer, Index batch, std::uint64_t seed = 12345) {
  Rng rng(seed);
  Matrix<double> r(layer.output_rows(), batch);
  rng.normal(r);
  return r;
}

/// d L / d x from backward against central differences (training mode unless told otherwise).
inline GradCheckResult check_input_gradient(Layer<double>& layer, Matrix<double> x, std::uint64_t seed,
                                            Mode mode = Mode::train) {
  const Matrix<double> r = probe_direction(layer, x.cols());
  Rng rng(seed);
  Matrix<double> y, dx;
  layer.forward(x, y, Context{mode, &rng});
  layer.backward(x, r, &dx);
  return check_gradient([&] { return probe_loss(layer, x, r, 0.0, mode, seed); }, x, dx,
                        std::string(layer.name()) + " input gradient");
}

/// d L / d theta for every parameter (backward plus kl_backward(kl_coeff)) against central differences.
/// Returns the worst parameter's result.
inline GradCheckResult check_parameter_gradients(Layer<double>& layer, const Matrix<double>& x, std::uint64_t seed,
                                                 double kl_coeff = 0.0, Mode mode = Mode::train) {
  const Matrix<double> r = probe_direction(layer, x.cols());
  GradCheckResult worst;
  worst.error = 0;
  worst.what = std::string(layer.name()) + ": no parameters";
  for (auto* p : layer.parameters()) {
    for (auto* q : layer.parameters()) q->zero_grad();
    Rng rng(seed);
    Matrix<double> y, dx;
    layer.forward(x, y, Context{mode, &rng});
    layer.backward(x, r, &dx);
    layer.kl_backward(kl_coeff);
    const Matrix<double> analytic = p->grad;
    auto result = check_gradient([&] { return probe_loss(layer, x, r, kl_coeff, mode, seed); }, p->value, analytic,
                                 std::string(layer.name()) + " gradient of '" + p->name + "'");
    if (result.error >= worst.error) worst = result;
  }
  return worst;
}

/// d kl() / d theta from kl_backward(1) against central differences, worst parameter.
inline GradCheckResult check_kl_gradient(Layer<double>& layer) {
  GradCheckResult worst;
  worst.error = 0;
  worst.what = std::string(layer.name()) + ": no parameters";
  for (auto* p : layer.parameters()) {
    for (auto* q : layer.parameters()) q->zero_grad();
    layer.kl_backward(1.0);
    const Matrix<double> analytic = p->grad;
    auto result = check_gradient([&] { return double(layer.kl()); }, p->value, analytic,
                                 std::string(layer.name()) + " KL gradient of '" + p->name + "'");
    if (result.error >= worst.error) worst = result;
  }
  return worst;
}

}  // namespace bayesdrop::test
