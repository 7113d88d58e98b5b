#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/layers/structured_bayesian_pruning.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

template class bayesdrop::StructuredBayesianPruning<float>;
template class bayesdrop::StructuredBayesianPruning<double>;

namespace {
template <class Scalar>
void set_params(StructuredBayesianPruning<Scalar>& l, const std::vector<double>& mu, const std::vector<double>& ls) {
  for (Index k = 0; k < l.units(); ++k) {
    l.mu().value(k, 0) = Scalar(mu[std::size_t(k)]);
    l.log_sigma().value(k, 0) = Scalar(ls[std::size_t(k)]);
  }
}
}  // namespace

TEMPLATE_TEST_CASE("SBP parameters, shapes and initial KL", "[layer][sbp]", float, double) {
  StructuredBayesianPruning<TestType> dense(7);
  CHECK(dense.name() == "StructuredBayesianPruning");
  CHECK(dense.units() == 7);
  CHECK(dense.input_rows() == 7);
  CHECK(dense.output_rows() == 7);
  const auto params = dense.parameters();
  REQUIRE(params.size() == 2);
  CHECK(params[0]->name == "mu");
  CHECK(params[1]->name == "log_sigma");
  for (auto* p : params) {
    CHECK(p->role == ParamRole::noise);
    CHECK(p->value.rows() == 7);
    CHECK(p->value.cols() == 1);
  }
  CHECK((dense.mu().value.array() == TestType(0)).all());
  CHECK((dense.log_sigma().value.array() == TestType(-5)).all());
  // KL 7.2699 per unit at initialisation, E[theta] = 0.99465, SNR = 246.7
  CHECK(double(dense.kl()) == Approx(7 * 7.2699).epsilon(1e-5));
  CHECK(double(dense.expected_theta()[3]) == Approx(0.99465).epsilon(1e-5));
  CHECK(double(dense.snr()[3]) == Approx(246.7).epsilon(1e-3));
  CHECK(dense.n_active() == 7);

  StructuredBayesianPruning<TestType> conv(ImageShape{4, 3, 2});
  CHECK(conv.units() == 4);
  CHECK(conv.input_rows() == 24);
  CHECK(conv.mu().value.rows() == 4);
  const SparsityStats st = conv.sparsity();
  CHECK(st.units_in == 4);
  CHECK(st.active_in == 4);
}

TEMPLATE_TEST_CASE("SBP training draws one factor per unit per minibatch, shared by the batch", "[layer][sbp]", float,
                   double) {
  const ImageShape image{3, 2, 2};
  StructuredBayesianPruning<TestType> layer(image);
  set_params(layer, {0.0, -1.0, 2.0}, {-1.0, 0.5, -3.0});
  Matrix<TestType> x(12, 5), y;
  Rng data(1);
  data.uniform(x);
  x.array() += TestType(0.5);
  Rng rng(42);
  layer.forward(x, y, Context::train(rng));
  // the factor of channel c is y / x on all of its values in every column
  const auto& theta = layer.sampled_theta();
  for (Index j = 0; j < x.cols(); ++j) {
    for (Index r = 0; r < x.rows(); ++r) {
      CHECK(double(y(r, j)) == Approx(double(x(r, j) * theta[r / 4])).epsilon(1e-6));
    }
  }
  // the factors are the math sampler's at the generator's first `units` uniforms
  Rng replay(42);
  Vector<TestType> u(3);
  replay.uniform(u);
  const double mu[] = {0.0, -1.0, 2.0}, ls[] = {-1.0, 0.5, -3.0};
  for (Index k = 0; k < 3; ++k) {
    const auto s = truncated_log_normal_sample(mu[k], ls[k], kSbpLogThetaMin, kSbpLogThetaMax, double(u[k]));
    CHECK(double(theta[k]) == Approx(std::exp(s.log_theta)).epsilon(1e-6));
  }
  // same seed, same output; another seed, another output
  Matrix<TestType> y2, y3;
  Rng again(42), other(43);
  layer.forward(x, y2, Context::train(again));
  layer.forward(x, y3, Context::train(other));
  CHECK(y2 == y);
  CHECK(y3 != y);
}

TEMPLATE_TEST_CASE("SBP evaluation is deterministic: x * E[theta] * 1[SNR > 1], no noise drawn", "[layer][sbp]", float,
                   double) {
  StructuredBayesianPruning<TestType> layer(5);
  // SNR from mpmath (test_truncated_log_normal.cpp): (0, 0) 2.09, (-20, 0) 1.068, (-3, 0) 0.848, (5, 5) 0.334,
  // (0, -5) 246.7
  set_params(layer, {0.0, -20.0, -3.0, 5.0, 0.0}, {0.0, 0.0, 0.0, 5.0, -5.0});
  Matrix<TestType> x(5, 4), y1, y2;
  Rng data(3);
  data.normal(x);
  Rng rng(7);
  const Rng before = rng;
  layer.forward(x, y1, Context::eval(rng));
  layer.forward(x, y2, Context::eval());
  CHECK(y1 == y2);
  Rng after = rng, fresh = before;
  CHECK(after.next_u64() == fresh.next_u64());  // the generator was not touched
  const std::vector<double> mu{0.0, -20.0, -3.0, 5.0, 0.0}, ls{0.0, 0.0, 0.0, 5.0, -5.0};
  for (Index k = 0; k < 5; ++k) {
    const auto m = truncated_log_normal_moments(mu[std::size_t(k)], ls[std::size_t(k)], -20.0, 0.0);
    const double mult = m.snr > 1.0 ? m.mean : 0.0;
    CHECK(double(layer.eval_multiplier()[k]) == Approx(mult).epsilon(1e-6));
    CHECK(double(layer.expected_theta()[k]) == Approx(m.mean).epsilon(1e-6));
    CHECK(double(layer.snr()[k]) == Approx(m.snr).epsilon(1e-6));
    for (Index j = 0; j < 4; ++j) CHECK(double(y1(k, j)) == Approx(double(x(k, j)) * mult).epsilon(1e-6).margin(1e-30));
  }
  CHECK(layer.n_active() == 3);
  CHECK(layer.sparsity().active_in == 3);
  CHECK(layer.sparsity().fraction_in_kept() == Approx(0.6));
  // the threshold is an option (SNR of unit 0 is 2.09, of unit 1 1.068)
  StructuredBayesianPruning<TestType> strict(5, SbpOptions{}.with_snr_threshold(2.0));
  set_params(strict, mu, ls);
  CHECK(strict.n_active() == 2);
  // and n_active follows the parameters when they change
  strict.log_sigma().value(4, 0) = TestType(5);  // (0, 5): SNR 0.334
  CHECK(strict.n_active() == 1);
}

TEST_CASE("SBP gradients match finite differences (dense, several regimes)", "[layer][sbp][gradcheck]") {
  // mu outside [a, b] on both sides (2, 4.5; -25 is clipped to -20 and gets no gradient), tiny and large sigma
  const std::vector<std::vector<double>> mus = {{0.3, 2.0, -25.0, -8.0, -19.5}, {2.0, -0.5, 4.5, -10.0, 0.0}};
  const std::vector<std::vector<double>> lss = {{-2.0, -3.0, 0.5, 1.0, -1.0}, {-15.0, -12.0, -8.0, 4.0, -5.0}};
  for (std::size_t set = 0; set < mus.size(); ++set) {
    StructuredBayesianPruning<double> layer(5);
    set_params(layer, mus[set], lss[set]);
    Matrix<double> x(5, 4);
    Rng rng(11 + set);
    rng.normal(x);
    const auto in = test::check_input_gradient(layer, x, 5);
    INFO("set " << set << ": " << in.what << " " << in.error);
    CHECK(in.error < 1e-7);
    const auto par = test::check_parameter_gradients(layer, x, 5, 0.7);
    INFO("set " << set << ": " << par.what << " " << par.error);
    CHECK(par.error < 1e-6);
    const auto kl = test::check_kl_gradient(layer);
    INFO("set " << set << ": " << kl.what << " " << kl.error);
    CHECK(kl.error < 1e-6);
  }
}

TEST_CASE("SBP gradients match finite differences (channels)", "[layer][sbp][gradcheck]") {
  StructuredBayesianPruning<double> layer(ImageShape{3, 2, 2});
  set_params(layer, {1.0, -3.0, -19.9}, {-1.0, 0.0, -4.0});
  Matrix<double> x(12, 3);
  Rng rng(21);
  rng.normal(x);
  const auto in = test::check_input_gradient(layer, x, 9);
  INFO(in.what << " " << in.error);
  CHECK(in.error < 1e-7);
  const auto par = test::check_parameter_gradients(layer, x, 9, 0.7);
  INFO(par.what << " " << par.error);
  CHECK(par.error < 1e-6);
  const auto kl = test::check_kl_gradient(layer);
  INFO(kl.what << " " << kl.error);
  CHECK(kl.error < 1e-6);
}

TEST_CASE("SBP clips mu and log sigma to [-20, 5]: no gradient outside, value as at the bound", "[layer][sbp]") {
  StructuredBayesianPruning<double> clipped(2), bound(2);
  set_params(clipped, {7.0, -30.0}, {6.0, -25.0});
  set_params(bound, {5.0, -20.0}, {5.0, -20.0});
  CHECK(clipped.kl() == bound.kl());
  clipped.kl_backward(1.0);
  CHECK(clipped.mu().grad.isZero());
  CHECK(clipped.log_sigma().grad.isZero());
  Matrix<double> x = Matrix<double>::Ones(2, 3), y, dx;
  Rng rng(1);
  clipped.forward(x, y, Context::train(rng));
  clipped.backward(x, Matrix<double>::Ones(2, 3), &dx);
  CHECK(clipped.mu().grad.isZero());
  CHECK(clipped.log_sigma().grad.isZero());
  // on the bounds themselves the gradient passes (torch.clamp's rule)
  bound.kl_backward(1.0);
  CHECK(bound.mu().grad(0, 0) != 0.0);
  CHECK(bound.log_sigma().grad(1, 0) != 0.0);
}

TEST_CASE("SBP sample mean and SNR equal E[theta] and the closed-form SNR (Monte Carlo through the layer)",
          "[layer][sbp][statistics]") {
  // (mu, log sigma) inside, on and outside [a, b], SNR from 0.33 to 247
  const std::vector<double> mu{0.0, 0.0, -3.0, 2.0, -20.0, 4.0, -12.0};
  const std::vector<double> ls{-5.0, 0.0, 0.0, -1.0, 0.5, 2.0, 1.5};
  const Index units = Index(mu.size());
  StructuredBayesianPruning<double> layer(units);
  set_params(layer, mu, ls);
  const Matrix<double> x = Matrix<double>::Ones(units, 1);
  Matrix<double> y;
  Rng rng(2718);
  const int n = 40000;
  Vector<double> s1 = Vector<double>::Zero(units), s2 = s1, s3 = s1, s4 = s1;
  std::vector<Vector<double>> draws;
  draws.reserve(n);
  for (int i = 0; i < n; ++i) {
    layer.forward(x, y, Context::train(rng));
    draws.emplace_back(y.col(0));
    s1 += y.col(0);
  }
  const Vector<double> mean = s1 / n;
  for (const auto& d : draws) {
    const Vector<double> c = d - mean;
    s2 += c.cwiseProduct(c);
    s4 += c.cwiseProduct(c).cwiseProduct(c).cwiseProduct(c);
  }
  for (Index k = 0; k < units; ++k) {
    const double var = s2[k] / (n - 1), m4 = s4[k] / n;
    const double e = layer.expected_theta()[k], snr = layer.snr()[k];
    const double var_exact = (e / snr) * (e / snr);
    const double se_mean = std::sqrt(var / n), se_var = std::sqrt((m4 - var * var) / n);
    // SNR = mean / sqrt(var): relative standard error from the delta method (mean and variance nearly independent)
    const double snr_mc = mean[k] / std::sqrt(var);
    const double se_snr =
        snr_mc * std::sqrt((se_mean / mean[k]) * (se_mean / mean[k]) + 0.25 * (se_var / var) * (se_var / var));
    INFO("unit " << k << " (mu " << mu[std::size_t(k)] << ", log sigma " << ls[std::size_t(k)] << "): sample mean "
                 << mean[k] << " vs E " << e << "; sample var " << var << " vs " << var_exact << "; SNR " << snr_mc
                 << " vs " << snr);
    CHECK(std::fabs(mean[k] - e) < 5.0 * se_mean);  // 5 standard errors
    CHECK(std::fabs(var - var_exact) < 5.0 * se_var);
    CHECK(std::fabs(snr_mc - snr) < 5.0 * se_snr);
  }
}

TEST_CASE("SBP rejects invalid options, shapes and call orders with clear errors", "[layer][sbp]") {
  CHECK_THROWS_WITH(SbpOptions{}.with_snr_threshold(-1.0), Catch::Contains("snr_threshold") && Catch::Contains("-1"));
  CHECK_THROWS_AS(SbpOptions{}.with_snr_threshold(std::nan("")), InvalidArgument);
  CHECK_THROWS_WITH(SbpOptions{}.with_log_theta_range(0.0, -20.0), Catch::Contains("a < b"));
  CHECK_THROWS_AS(SbpOptions{}.with_mu_init(INFINITY), InvalidArgument);
  CHECK_THROWS_AS(SbpOptions{}.with_log_sigma_init(std::nan("")), InvalidArgument);
  SbpOptions by_hand;
  by_hand.log_theta_min = 1.0;  // filled in field by field: checked by the constructor
  CHECK_THROWS_AS(StructuredBayesianPruning<float>(3, by_hand), InvalidArgument);
  CHECK_THROWS_WITH(StructuredBayesianPruning<float>(0), Catch::Contains("positive"));
  CHECK_THROWS_AS(StructuredBayesianPruning<float>(ImageShape{2, 0, 3}), InvalidArgument);

  StructuredBayesianPruning<float> layer(4);
  Matrix<float> bad(5, 2), y, dx;
  CHECK_THROWS_WITH(layer.forward(bad, y, Context::eval()), Catch::Contains("StructuredBayesianPruning") &&
                                                                Catch::Contains("5 rows") &&
                                                                Catch::Contains("expects 4"));
  Matrix<float> x = Matrix<float>::Ones(4, 2), dy = Matrix<float>::Ones(4, 2);
  CHECK_THROWS_WITH(layer.forward(x, y, Context{Mode::train, nullptr}), Catch::Contains("Rng"));
  CHECK_THROWS_WITH(layer.backward(x, dy, &dx), Catch::Contains("training forward"));
  Rng rng(1);
  layer.forward(x, y, Context::train(rng));
  CHECK_THROWS_AS(layer.backward(x, Matrix<float>::Ones(4, 3), &dx), ShapeError);
  layer.backward(x, dy, &dx);  // now fine
  CHECK(dx.rows() == 4);
}

TEST_CASE("SBP gives the same factors and gradients on one thread and on several", "[layer][sbp]") {
  // 300 units >= kSbpParallelUnits: the per-unit work is split over Eigen::nbThreads() OpenMP threads
  const Index units = 300;
  auto run = [&](int threads, Matrix<double>& y, Matrix<double>& dmu, Matrix<double>& dls) {
    const int saved = Eigen::nbThreads();
    Eigen::setNbThreads(threads);
    StructuredBayesianPruning<double> layer(units);
    Rng init(5);
    init.normal(layer.mu().value);
    init.normal(layer.log_sigma().value);
    Matrix<double> x(units, 2), dx;
    init.normal(x);
    Rng rng(6);
    layer.forward(x, y, Context::train(rng));
    layer.backward(x, x, &dx);
    layer.kl_backward(0.5);
    dmu = layer.mu().grad;
    dls = layer.log_sigma().grad;
    Eigen::setNbThreads(saved);
  };
  Matrix<double> y1, y2, m1, m2, l1, l2;
  run(1, y1, m1, l1);
  run(2, y2, m2, l2);
  CHECK(y1 == y2);
  CHECK(m1 == m2);
  CHECK(l1 == l2);
}

TEST_CASE("SBP non-default support [a, b] changes the KL by log(b - a)", "[layer][sbp]") {
  // at mu = b the entropy does not depend on a as long as the far end is negligible: KL = log(b - a) - log sigma - H
  StructuredBayesianPruning<double> wide(1, SbpOptions{}.with_log_theta_range(-40.0, 0.0));
  StructuredBayesianPruning<double> base(1);
  CHECK(wide.kl() - base.kl() == Approx(std::log(2.0)).epsilon(1e-12));
  CHECK(wide.options().log_theta_min == -40.0);
}

// Sequential's input-gate shortcut: with SBP first and no input gradient wanted, the Linear behind it gives the
// factors' gradient from its weight gradient (Linear::backward_row_scale) instead of forming W^T dy. The gradients of
// every parameter must equal those of the full backward (asked for dx, which takes no shortcut).
TEST_CASE("SBP in front of a Linear: the input-gate shortcut gives the full backward's gradients", "[layer][sbp]") {
  Rng init(5);
  Sequential<double> net;
  auto& gate = net.emplace<StructuredBayesianPruning>(Index(9));
  net.emplace<Linear>(Index(9), Index(6), init);
  net.emplace<ReLU>(Index(6));
  net.emplace<Linear>(Index(6), Index(4), init);
  set_params(gate, {0.3, -0.2, 1.0, 0.0, -1.5, 0.7, 0.1, -0.4, 2.0}, {-1, -0.5, -2, -0.3, -1, -0.8, -3, -0.2, -1.2});
  Matrix<double> x(9, 11), dy(4, 11), dx;
  Rng data(6);
  data.normal(x);
  data.normal(dy);
  auto gradients = [&](bool want_dx) {
    Rng noise(7);
    net.forward(x, Context::train(noise));
    net.zero_grad();
    net.backward(x, dy, want_dx ? &dx : nullptr);
    std::vector<Matrix<double>> g;
    for (auto* p : net.parameters()) g.push_back(p->grad);
    return g;
  };
  REQUIRE(net.layer(0).row_scaled_output() == false);  // before any forward: no factors yet
  const auto full = gradients(true);
  const auto shortcut = gradients(false);
  REQUIRE(gate.row_scaled_output());
  REQUIRE(full.size() == shortcut.size());
  for (std::size_t p = 0; p < full.size(); ++p) {
    INFO("parameter " << p);
    CHECK(full[p].norm() > 0);
    CHECK((shortcut[p] - full[p]).norm() <= 1e-12 * full[p].norm());
  }
  // The Linear's part alone: g(i) = sum_j x_ij (W^T dy)_ij and the weight gradient dy x^T.
  Linear<double> lin(9, 6, init);
  Matrix<double> y, dy6(6, 11), unused;
  data.normal(dy6);
  Rng none(1);
  lin.forward(x, y, Context::train(none));
  Vector<double> g;
  REQUIRE(lin.backward_row_scale(x, dy6, g));
  const Vector<double> expected = x.cwiseProduct(lin.weight().value.transpose() * dy6).rowwise().sum();
  CHECK((g - expected).norm() <= 1e-12 * expected.norm());
  CHECK((lin.weight().grad - dy6 * x.transpose()).norm() <= 1e-12 * lin.weight().grad.norm());
}
