// DependentBetaBernoulliDropout (layers/dependent_beta_bernoulli_dropout.hpp): defaults, the training forward
// replayed from the generator, the gate's statistics against closed forms and Monte Carlo, gradients (common random
// numbers), the KL and its anchor, evaluation and the per-example count, determinism, options, and the model-level
// parts: the registry entry, the start from a beta-Bernoulli model, saving, compact().
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "bayesdrop/layers/dependent_beta_bernoulli_dropout.hpp"
#include "bayesdrop/models/compact.hpp"
#include "bayesdrop/models/model_file.hpp"
#include "bayesdrop/models/summary.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/training/authors_choices.hpp"
#include "bayesdrop/training/family_recipes.hpp"
#include "bayesdrop/training/fit.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

template class bayesdrop::DependentBetaBernoulliDropout<float>;
template class bayesdrop::DependentBetaBernoulliDropout<double>;

namespace {

using Dbb = DependentBetaBernoulliOptions;

double softplus(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
double inverse_softplus(double y) {
  return std::log(std::expm1(y));
}
double normal_cdf(double t) {
  return 0.5 * std::erfc(-t / std::sqrt(2.0));
}
double normal_pdf(double t) {
  return std::exp(-0.5 * t * t) / std::sqrt(2 * M_PI);
}
/// E[clamp(Y, lo, hi)] for Y ~ N(mu, s^2): lo P(Y < lo) + E[Y; lo < Y < hi] + hi P(Y > hi).
double expected_clamp(double mu, double s, double lo, double hi) {
  const double a = (lo - mu) / s, b = (hi - mu) / s;
  return lo * normal_cdf(a) + mu * (normal_cdf(b) - normal_cdf(a)) + s * (normal_pdf(a) - normal_pdf(b)) +
         hi * (1 - normal_cdf(b));
}

/// Parameters in the working range: beta-Bernoulli a in (0.47, 1.7), b in (0.31, 1.7) (every unit open, no pi
/// clamped at the tests' seeds), gamma in (0.2, 0.6), beta in (0.3, 0.7), sigma in (0.1, 0.3): h mostly inside (0, 1).
template <class Scalar>
void randomise(DependentBetaBernoulliDropout<Scalar>& layer, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<Scalar> r(layer.units(), 1);
  auto& bb = layer.beta_bernoulli();
  rng.uniform(r);
  bb.raw_a().value.array() = Scalar(-0.5) + Scalar(2) * r.array();
  rng.uniform(r);
  bb.raw_b().value.array() = Scalar(-1) + Scalar(2.5) * r.array();
  rng.uniform(r);
  layer.gamma().value.array() = Scalar(0.2) + Scalar(0.4) * r.array();
  rng.uniform(r);
  layer.beta().value.array() = Scalar(0.3) + Scalar(0.4) * r.array();
  rng.uniform(r);
  for (Index k = 0; k < layer.units(); ++k) {
    layer.raw_sigma().value(k, 0) = Scalar(inverse_softplus(0.1 + 0.2 * double(r(k, 0))));
  }
}

}  // namespace

TEMPLATE_TEST_CASE("DependentBetaBernoulliDropout: parameters, state and the class-style defaults", "[layer][dbb]",
                   float, double) {
  Rng rng(1);
  DependentBetaBernoulliDropout<TestType> dense(200, rng);
  CHECK(dense.name() == "DependentBetaBernoulliDropout");
  CHECK(dense.units() == 200);
  CHECK(dense.input_rows() == 200);
  const auto params = dense.parameters();
  REQUIRE(params.size() == 3);
  CHECK(params[0]->name == "gamma");
  CHECK(params[1]->name == "beta");
  CHECK(params[2]->name == "raw_sigma");
  for (auto* p : params) CHECK(p->role == ParamRole::noise);
  const auto state = dense.state();
  REQUIRE(state.size() == 4);
  CHECK(state[0].name == "raw_a");
  CHECK(state[1].name == "raw_b");
  CHECK(state[2].name == "running_mean");
  CHECK(state[3].name == "running_var");
  CHECK((dense.gamma().value.array() == TestType(1)).all());
  CHECK((dense.beta().value.array() == TestType(10)).all());
  const double limit = std::sqrt(3.0 / 200);
  CHECK(dense.raw_sigma().value.cwiseAbs().maxCoeff() <= TestType(limit));
  CHECK(dense.raw_sigma().value.cwiseAbs().maxCoeff() > TestType(0.9 * limit));
  CHECK((dense.running_mean().array() == TestType(0)).all());
  CHECK((dense.running_var().array() == TestType(1)).all());
  // the beta-Bernoulli part has its own defaults; every unit is kept at the start
  CHECK(dense.n_active() == 200);
  CHECK(dense.n_active_per_example() == 200.0);
  CHECK(dense.beta_bernoulli().options().threshold == kBetaBernoulliPiThreshold);
  CHECK(dense.options().threshold == 1e-3);

  DependentBetaBernoulliDropout<TestType> joint(7, rng, Dbb{}.with_train_beta_bernoulli(true));
  const auto all = joint.parameters();
  REQUIRE(all.size() == 5);
  CHECK(all[0]->name == "raw_a");
  CHECK(all[1]->name == "raw_b");
  CHECK(joint.state().size() == 2);

  DependentBetaBernoulliDropout<TestType> conv(ImageShape{3, 4, 5}, rng);
  CHECK(conv.units() == 3);
  CHECK(conv.spatial() == 20);
  CHECK(conv.input_rows() == 60);
  CHECK(conv.gamma().value.rows() == 3);

  const auto torch = Dbb::pytorch();
  CHECK(torch.shift_init == 1.0);
  CHECK(softplus(torch.raw_sigma_init) == Approx(1.0).epsilon(2e-5));
  CHECK(torch.bn_momentum == 0.1);
  CHECK(torch.bn_eps == 1e-5);
}

TEST_CASE("DependentBetaBernoulliDropout training forward is the reference formula, replayed from the generator",
          "[layer][dbb]") {
  // Draw order: the beta-Bernoulli part's units uniforms (pi) and units x B uniforms (its relaxed gate), then the
  // units shift normals eps, then units x B uniforms v of the dependent relaxed gate. Recomputed naively here.
  for (bool channels : {false, true}) {
    for (double tau : {0.1, 0.37}) {
      Rng init(3);
      const auto options = Dbb{}.with_temperature(tau);
      auto layer = channels ? DependentBetaBernoulliDropout<double>(ImageShape{4, 2, 3}, init, options)
                            : DependentBetaBernoulliDropout<double>(4, init, options);
      randomise(layer, 4);
      const Index units = 4, spatial = layer.spatial(), batch = 9;
      Matrix<double> x(units * spatial, batch), y;
      init.normal(x);
      Rng rng(5);
      layer.forward(x, y, Context::train(rng));

      Rng replay(5);
      Eigen::ArrayXd u(units), eps(units);
      Matrix<double> vbb(units, batch), v(units, batch);
      replay.uniform(u);
      replay.uniform(vbb);
      replay.normal(eps);
      replay.uniform(v);
      auto clamp = [](double t) { return std::min(std::max(t, 1e-6), 1 - 1e-6); };
      auto logit = [](double t) { return std::log(t / (1 - t)); };
      const Vector<double> a = layer.beta_bernoulli().a(), b = layer.beta_bernoulli().b();
      const Vector<double> sigma = layer.sigma();
      INFO((channels ? "channels" : "dense") << ", tau " << tau);
      for (Index k = 0; k < units; ++k) {
        std::vector<double> xbar(std::size_t(batch), 0.0);
        for (Index n = 0; n < batch; ++n) {
          for (Index s = 0; s < spatial; ++s) xbar[std::size_t(n)] += x(k * spatial + s, n) / double(spatial);
        }
        double mean = 0, var = 0;
        for (double t : xbar) mean += t / double(batch);
        for (double t : xbar) var += (t - mean) * (t - mean) / double(batch);
        CHECK(layer.running_mean()(k, 0) == Approx(0.01 * mean).margin(1e-14));
        CHECK(layer.running_var()(k, 0) == Approx(0.99 + 0.01 * var).epsilon(1e-12));
        const double pi = clamp(std::pow(1 - std::pow(clamp(u(k)), 1 / b(k)), 1 / a(k)));
        for (Index n = 0; n < batch; ++n) {
          const double zbb = 1 / (1 + std::exp(-(logit(pi) + logit(clamp(vbb(k, n)))) / 0.1));
          const double h = layer.gamma().value(k, 0) * (xbar[std::size_t(n)] - mean) / std::sqrt(var + 1e-3) +
                           layer.beta().value(k, 0) + sigma(k) * eps(k);
          CHECK(layer.gate_input()(k, n) == Approx(h).epsilon(1e-12));
          const double d = 1 / (1 + std::exp(-(logit(clamp(h)) + logit(clamp(v(k, n)))) / tau));
          CHECK(layer.dependent_gate()(k, n) == Approx(d).epsilon(1e-10).margin(1e-14));
          for (Index s = 0; s < spatial; ++s) {
            const Index row = k * spatial + s;
            CHECK(y(row, n) == Approx(x(row, n) * zbb * d).epsilon(1e-9).margin(1e-13));
          }
        }
      }
    }
  }
}

TEST_CASE("DependentBetaBernoulliDropout gate statistics: one shift draw per batch, the relaxed gate per example",
          "[layer][dbb][statistics]") {
  // P(d > 1/2 | p) = P(logit(v) > -logit(p)) = p exactly. With the same input in every example of a unit, BN gives
  // xhat = 0 and p_k = clamp(beta_k + sigma_k eps_k): the fraction of open examples estimates it (binomial error).
  Rng rng(7);
  DependentBetaBernoulliDropout<double> layer(6, rng);
  layer.beta().value << 0.2, 0.35, 0.5, 0.65, 0.8, -0.1;
  layer.raw_sigma().value.setConstant(inverse_softplus(0.25));
  const Index batch = 20000;
  Matrix<double> x(6, batch), y;
  for (Index k = 0; k < 6; ++k) x.row(k).setConstant(double(k) - 2.5);
  layer.forward(x, y, Context::train(rng));
  const Vector<double> eps = layer.sampled_shift_noise();
  for (Index k = 0; k < 6; ++k) {
    const double p = std::min(std::max(layer.beta().value(k, 0) + 0.25 * eps(k), 1e-6), 1 - 1e-6);
    const double open = (layer.dependent_gate().row(k).array() > 0.5).cast<double>().mean();
    const double se = std::sqrt(p * (1 - p) / double(batch));
    INFO("unit " << k << ": eps " << eps(k) << ", p " << p << ", open " << open);
    CHECK(std::abs(open - p) < 5 * se + 1e-9);
    // one shift per unit for the batch: every example has the same h
    CHECK(layer.gate_input().row(k).maxCoeff() == layer.gate_input().row(k).minCoeff());
  }
  // the next batch draws new shifts
  layer.forward(x, y, Context::train(rng));
  CHECK((layer.sampled_shift_noise() - eps).cwiseAbs().minCoeff() > 0);
}

TEST_CASE("DependentBetaBernoulliDropout gate statistics: the open probability over batches is E[clamp(N(h, sigma^2))]",
          "[layer][dbb][statistics]") {
  // Over many batches the shift noise makes p = clamp(h + sigma eps) random: P(d > 1/2) = E[p], in closed form for a
  // normal (expected_clamp). The batches' fractions are independent; their spread gives the Monte Carlo error.
  Rng rng(8);
  DependentBetaBernoulliDropout<double> layer(3, rng);
  const std::vector<double> beta = {0.15, 0.6, 1.1}, sigma = {0.3, 0.8, 0.5};
  for (Index k = 0; k < 3; ++k) {
    layer.beta().value(k, 0) = beta[std::size_t(k)];
    layer.raw_sigma().value(k, 0) = inverse_softplus(sigma[std::size_t(k)]);
  }
  const Index batch = 50, batches = 10000;
  const Matrix<double> x = Matrix<double>::Ones(3, batch);
  Matrix<double> y;
  std::vector<std::vector<double>> fractions(3);
  double eps_sum = 0, eps_sq = 0;
  for (Index t = 0; t < batches; ++t) {
    layer.forward(x, y, Context::train(rng));
    for (Index k = 0; k < 3; ++k) {
      fractions[std::size_t(k)].push_back((layer.dependent_gate().row(k).array() > 0.5).cast<double>().mean());
    }
    const Vector<double> eps = layer.sampled_shift_noise();
    eps_sum += eps.sum();
    eps_sq += eps.squaredNorm();
  }
  const double n_eps = 3.0 * double(batches);
  CHECK(std::abs(eps_sum / n_eps) < 5 / std::sqrt(n_eps));
  CHECK(std::abs(eps_sq / n_eps - 1) < 5 * std::sqrt(2 / n_eps));
  for (Index k = 0; k < 3; ++k) {
    const auto& f = fractions[std::size_t(k)];
    double mean = 0, var = 0;
    for (double v : f) mean += v / double(batches);
    for (double v : f) var += (v - mean) * (v - mean) / double(batches - 1);
    const double expected = expected_clamp(beta[std::size_t(k)], sigma[std::size_t(k)], 1e-6, 1 - 1e-6);
    const double se = std::sqrt(var / double(batches));
    INFO("unit " << k << ": open " << mean << ", expected " << expected << ", se " << se);
    CHECK(std::abs(mean - expected) < 5 * se);
    // without the shift noise the fraction would be clamp(beta): far from it for these units
    CHECK(std::abs(std::min(beta[std::size_t(k)], 1.0) - expected) > 10 * se);
  }
}

TEMPLATE_TEST_CASE("DependentBetaBernoulliDropout evaluation: g clamp(h) above the threshold, counted per example",
                   "[layer][dbb]", float, double) {
  for (bool channels : {false, true}) {
    Rng rng(9);
    auto layer = channels ? DependentBetaBernoulliDropout<TestType>(ImageShape{5, 2, 2}, rng)
                          : DependentBetaBernoulliDropout<TestType>(5, rng);
    randomise(layer, 10);
    layer.beta_bernoulli().raw_a().value(1, 0) = TestType(-12);  // a = 6e-6, b = 1.31: E[pi] ~ 2e-7, pruned by the
    layer.beta_bernoulli().raw_b().value(1, 0) = TestType(1);    // beta-Bernoulli part
    layer.beta().value(3, 0) = TestType(-0.5);                   // h mostly below 0: off for most examples
    Matrix<TestType>& rm = *layer.state()[2].value;              // running_mean
    Matrix<TestType>& rv = *layer.state()[3].value;              // running_var
    rm << 0.1, -0.2, 0.3, 0.0, 0.5;
    rv << 1.0, 2.0, 0.5, 1.5, 0.8;
    const Index spatial = layer.spatial(), batch = 40;
    Matrix<TestType> x(5 * spatial, batch), y1, y2;
    rng.normal(x);
    layer.reset_activity();
    layer.forward(x, y1, Context::eval());
    layer.forward(x, y2, Context::eval());
    CHECK(y1 == y2);
    CHECK(layer.n_active() == 4);
    const Vector<TestType> g = layer.beta_bernoulli().eval_gate();
    CHECK(g(1) == TestType(0));
    double kept = 0;
    for (Index n = 0; n < batch; ++n) {
      for (Index k = 0; k < 5; ++k) {
        double xbar = 0;
        for (Index s = 0; s < spatial; ++s) xbar += double(x(k * spatial + s, n)) / double(spatial);
        const double h =
            double(layer.gamma().value(k, 0)) * (xbar - double(rm(k, 0))) / std::sqrt(double(rv(k, 0)) + 1e-3) +
            double(layer.beta().value(k, 0));
        double z = double(g(k)) * std::min(1.0, std::max(0.0, h));
        if (!(z > 1e-3)) z = 0;
        kept += z > 0 ? 1 : 0;
        for (Index s = 0; s < spatial; ++s) {
          CHECK(double(y1(k * spatial + s, n)) == Approx(double(x(k * spatial + s, n)) * z).epsilon(1e-5).margin(1e-6));
        }
      }
    }
    INFO((channels ? "channels" : "dense") << ": kept " << kept / double(batch) << " per example");
    CHECK(layer.n_active_per_example() == Approx(kept / double(batch)));  // two identical passes
    CHECK(layer.n_active_per_example() < 4.0);
    layer.reset_activity();
    CHECK(layer.n_active_per_example() == 4.0);  // nothing evaluated since: the beta-Bernoulli count
    // a training forward does not count
    layer.forward(x, y2, Context::train(rng));
    CHECK(layer.n_active_per_example() == 4.0);
  }
}

TEMPLATE_TEST_CASE("DependentBetaBernoulliDropout is reproducible from the seed and needs a generator in training",
                   "[layer][dbb]", float, double) {
  Rng init(11);
  DependentBetaBernoulliDropout<TestType> layer(10, init);
  randomise(layer, 12);
  Matrix<TestType> x(10, 8), y1, y2, y3;
  init.uniform(x);
  Rng r1(13), r2(13), r3(14);
  DependentBetaBernoulliDropout<TestType> twin(10, init);
  randomise(twin, 12);
  layer.forward(x, y1, Context::train(r1));
  twin.forward(x, y2, Context::train(r2));
  layer.forward(x, y3, Context::train(r3));
  CHECK(y1 == y2);
  CHECK(y1 != y3);
  CHECK((y1.array() >= 0).all());
  CHECK((y1.array() <= x.array()).all());
  const Matrix<TestType> mean_before = layer.running_mean();
  CHECK_THROWS_WITH(layer.forward(x, y1, Context{Mode::train, nullptr}),
                    Catch::Contains("DependentBetaBernoulliDropout") && Catch::Contains("Rng"));
  CHECK(layer.running_mean() == mean_before);  // the refused forward changed nothing
  // Monte Carlo passes: the noise of training with the running statistics, which stay as they are
  Rng mc(15);
  layer.forward(x, y1, Context::monte_carlo(mc));
  CHECK(layer.running_mean() == mean_before);
}

TEST_CASE("DependentBetaBernoulliDropout gradients match finite differences (common random numbers)",
          "[layer][dbb][gradcheck]") {
  for (bool joint : {false, true}) {
    for (bool channels : {false, true}) {
      for (double tau : {0.1, 0.37}) {
        Rng rng(16);
        auto options = Dbb{}.with_temperature(tau).with_train_beta_bernoulli(joint).with_beta_bernoulli(
            BetaBernoulliOptions{}.with_alpha(0.05));
        auto layer = channels ? DependentBetaBernoulliDropout<double>(ImageShape{3, 2, 2}, rng, options)
                              : DependentBetaBernoulliDropout<double>(7, rng, options);
        randomise(layer, 17);
        REQUIRE(layer.parameters().size() == (joint ? 5u : 3u));  // a check of no parameters would pass vacuously
        Matrix<double> x(layer.input_rows(), 6);
        rng.normal(x);
        INFO((channels ? "channels" : "dense") << (joint ? ", beta-Bernoulli trained too" : "") << ", tau " << tau);
        for (double kl_coeff : {0.0, 0.37}) {
          const auto params = test::check_parameter_gradients(layer, x, 18, kl_coeff);
          INFO(params.what << ": " << params.error << " (kl coefficient " << kl_coeff << ")");
          CHECK(params.error < 1e-6);
        }
        const auto kl = test::check_kl_gradient(layer);
        INFO(kl.what << ": " << kl.error);
        CHECK(kl.error < 1e-6);
      }
    }
  }
}

TEST_CASE("DependentBetaBernoulliDropout backward: a stop-gradient input path, accumulated parameter gradients",
          "[layer][dbb]") {
  Rng rng(19);
  DependentBetaBernoulliDropout<double> layer(5, rng);
  randomise(layer, 20);
  Matrix<double> x(5, 6), y, dy(5, 6), dx = Matrix<double>::Constant(5, 6, 99.0);
  rng.normal(x);
  rng.normal(dy);
  layer.forward(x, y, Context::train(rng));
  layer.backward(x, dy, &dx);
  // dx = dy * z with z = y / x: no path through the gate's input (stop-gradient)
  CHECK(dx.isApprox(dy.cwiseProduct(y.cwiseQuotient(x))));
  const Matrix<double> g1 = layer.beta().grad, s1 = layer.raw_sigma().grad, dx1 = dx;
  CHECK(g1.norm() > 0);
  CHECK(s1.norm() > 0);
  layer.backward(x, dy, &dx);
  CHECK(layer.beta().grad.isApprox(2 * g1));
  CHECK(layer.raw_sigma().grad.isApprox(2 * s1));
  CHECK(dx == dx1);
  // the frozen beta-Bernoulli part collects no gradient
  CHECK(layer.beta_bernoulli().raw_a().grad.isZero());
  CHECK(layer.beta_bernoulli().raw_b().grad.isZero());
  layer.backward(x, dy, nullptr);
  CHECK(layer.beta().grad.isApprox(3 * g1));
  // kl_backward adds coeff * dKL
  const Matrix<double> before = layer.beta().grad;
  layer.kl_backward(2.0);
  layer.kl_backward(-2.0);
  CHECK(layer.beta().grad.isApprox(before));
  // evaluation forwards cannot be back-propagated
  layer.forward(x, y, Context::eval());
  CHECK_THROWS_WITH(layer.backward(x, dy, &dx), Catch::Contains("training forward"));
}

TEST_CASE("DependentBetaBernoulliDropout KL: the shift's KL per unit, its anchor, and the beta-Bernoulli part's",
          "[layer][dbb][kl]") {
  Rng rng(21);
  // sigma = 1 exactly, beta = 10: KL_k = log(sqrt 5) + (1 + 100) / 10 - 1/2 = 10.4047189562170502
  DependentBetaBernoulliDropout<double> layer(40, rng, Dbb{}.with_raw_sigma_init(std::log(std::expm1(1.0))));
  CHECK(layer.kl() == Approx(40 * 10.4047189562170502).epsilon(1e-12));
  // the KL of N(beta, sigma^2) against N(0, rho^2) is 0 when they are equal
  layer.beta().value.setZero();
  layer.raw_sigma().value.setConstant(inverse_softplus(std::sqrt(5.0)));
  CHECK(std::abs(layer.kl()) < 1e-12);
  // with the beta-Bernoulli part trained, its KL is added
  Rng r1(22), r2(22);
  DependentBetaBernoulliDropout<double> frozen(30, r1), joint(30, r2, Dbb{}.with_train_beta_bernoulli(true));
  CHECK(joint.kl() == Approx(frozen.kl() + joint.beta_bernoulli().kl()).epsilon(1e-12));
  CHECK(joint.beta_bernoulli().kl() == Approx(30 * 7.0499533480393839).epsilon(1e-12));
  DependentBetaBernoulliDropout<float> f(40, rng, Dbb{}.with_raw_sigma_init(std::log(std::expm1(1.0))));
  CHECK(double(f.kl()) == Approx(40 * 10.4047189562170502).epsilon(1e-6));
}

TEST_CASE("DependentBetaBernoulliOptions rejects invalid values with clear errors", "[layer][dbb]") {
  CHECK_THROWS_WITH(Dbb{}.with_threshold(1.0), Catch::Contains("threshold") && Catch::Contains("[0, 1)"));
  CHECK_THROWS_AS(Dbb{}.with_threshold(-0.1), InvalidArgument);
  CHECK_THROWS_WITH(Dbb{}.with_temperature(0.0), Catch::Contains("temperature") && Catch::Contains("0.1"));
  CHECK_THROWS_WITH(Dbb{}.with_prior_std(-1.0), Catch::Contains("prior_std") && Catch::Contains("-1"));
  CHECK_THROWS_WITH(Dbb{}.with_shift_init(std::nan("")), Catch::Contains("shift_init"));
  CHECK_THROWS_WITH(Dbb{}.with_raw_sigma_init(INFINITY), Catch::Contains("raw_sigma_init"));
  CHECK_THROWS_WITH(Dbb{}.with_batch_norm(0.0, 1e-3), Catch::Contains("bn_momentum") && Catch::Contains("0.99"));
  CHECK_THROWS_WITH(Dbb{}.with_batch_norm(0.1, 0.0), Catch::Contains("bn_eps"));
  CHECK_THROWS_WITH(
      Dbb{}.with_beta_bernoulli(BetaBernoulliOptions{}.with_alpha(1.0).with_threshold(0.5)).with_threshold(2.0),
      Catch::Contains("DependentBetaBernoulliOptions"));
  Rng rng(23);
  Dbb bad;
  bad.beta_bernoulli.alpha = 0;
  CHECK_THROWS_WITH(DependentBetaBernoulliDropout<float>(4, rng, bad), Catch::Contains("alpha"));
  bad = Dbb{};
  bad.prior_std = 0;
  CHECK_THROWS_WITH(DependentBetaBernoulliDropout<double>(ImageShape{2, 2, 2}, rng, bad), Catch::Contains("prior_std"));
  CHECK_THROWS_WITH(DependentBetaBernoulliDropout<float>(0, rng),
                    Catch::Contains("DependentBetaBernoulliDropout") && Catch::Contains("positive"));
  DependentBetaBernoulliDropout<float> layer(4, rng);
  Matrix<float> x(5, 3), y;
  CHECK_THROWS_WITH(layer.forward(x, y, Context::eval()),
                    Catch::Contains("DependentBetaBernoulliDropout") && Catch::Contains("5 rows"));
}

TEST_CASE("dbb in the registry: the bbd gate's options, the authors' recipe, and the start from a bbd model",
          "[layer][dbb][models]") {
  const auto names = dropout_names();
  CHECK(std::find(names.begin(), names.end(), "dbb") != names.end());
  const Recipe r = recipe_for_dropout("dbb");
  CHECK(r.name == "dbb");
  CHECK(r.lr_noise == 1e-2);
  CHECK(r.lr_weights == 1e-3);
  CHECK(r.weight_decay == 1e-4);
  CHECK(r.boundaries == std::vector<double>{0.5, 0.7});
  CHECK(r.epochs == 200);

  Rng rng(24);
  auto bbd = build_model<double>(ModelSpec{"mlp", "bbd"}, rng);
  auto dbb = build_model<double>(ModelSpec{"mlp", "dbb"}, rng);
  auto gates = dependent_gates(dbb);
  REQUIRE(gates.size() == 3);
  CHECK(gates[0]->beta_bernoulli().options().threshold == BetaBernoulliOptions::assignment().threshold);
  // only the dependent parameters and the weights train: three per gate plus six weight tensors
  CHECK(dbb.parameters().size() == 3 * 3 + 6);
  CHECK(with_roles(dbb.parameters(), {ParamRole::noise}).size() == 9);

  // a "trained" bbd model: prune some units
  for (Index i = 0; i < bbd.size(); ++i) {
    if (auto* g = dynamic_cast<BetaBernoulliDropout<double>*>(&bbd.layer(i))) {
      for (Index k = 0; k < g->units(); k += 3) g->raw_a().value(k, 0) = -12;
    }
  }
  copy_pretrained_weights(bbd, dbb);
  copy_beta_bernoulli_gates(bbd, dbb);
  CHECK(gate_n_active(dbb) == gate_n_active(bbd));
  CHECK(gate_n_active(dbb) == std::vector<Index>{784 - 262, 500 - 167, 300 - 100});
  // with the dependent gates fully open (h near 10 at the start) the dbb model evaluates as its bbd start
  Matrix<double> x(784, 20);
  rng.uniform(x);
  const Matrix<double> from_bbd = bbd.forward(x, Context::eval());
  const Matrix<double> from_dbb = dbb.forward(x, Context::eval());
  CHECK(from_dbb.isApprox(from_bbd, 1e-12));
  // from a model without beta-Bernoulli gates: refused, saying what to start from
  auto plain = build_model<double>(ModelSpec{"mlp", "none"}, rng);
  CHECK_THROWS_WITH(copy_beta_bernoulli_gates(plain, dbb), Catch::Contains("bbd model"));
  auto small = build_model<double>(ModelSpec{"lenet300", "bbd"}, rng);
  CHECK_THROWS_WITH(copy_beta_bernoulli_gates(small, dbb), Catch::Contains("units"));
}

TEST_CASE("dbb models save and load with their frozen gates and running statistics", "[layer][dbb][io]") {
  Rng rng(25);
  auto model = build_model<float>(ModelSpec{"lenet5", "dbb"}, rng);
  Matrix<float> x(784, 30);
  rng.uniform(x);
  for (int t = 0; t < 3; ++t) model.forward(x, Context::train(rng));                     // running statistics move
  for (auto* g : dependent_gates(model)) g->beta_bernoulli().raw_a().value(0, 0) = -12;  // a pruned unit
  const std::string bytes = serialize_model(model);
  Rng other(26);
  auto loaded = build_model<float>(ModelSpec{"lenet5", "dbb"}, other);
  deserialize_model(loaded, bytes);
  const Matrix<float> a = model.forward(x, Context::eval());
  const Matrix<float> b = loaded.forward(x, Context::eval());
  CHECK(a == b);
  CHECK(gate_n_active(loaded) == gate_n_active(model));
}

TEST_CASE("compact: a dbb model keeps an input-dependent gate on the units its beta-Bernoulli part kept",
          "[layer][dbb][compact]") {
  for (const std::string net : {"mlp", "lenet5"}) {
    INFO(net);
    Rng rng(27);
    auto model = build_model<double>(ModelSpec{net, "dbb"}, rng);
    Matrix<double> x(784, 64);
    rng.uniform(x);
    // parameters where the gate depends on the input, running statistics those of the batch (as after training)
    for (auto* g : dependent_gates(model)) {
      randomise(*g, 28);
      for (Index k = 0; k < g->units(); k += 4) g->beta_bernoulli().raw_a().value(k, 0) = -12;
    }
    for (Index i = 0; i < model.size(); ++i) {
      auto* g = dynamic_cast<DependentBetaBernoulliDropout<double>*>(&model.layer(i));
      if (!g) continue;
      model.forward(x, Context::eval());  // with the statistics of the gates before this one set
      const Matrix<double>& in = i == 0 ? x : model.output(i - 1);
      Matrix<double> pooled(g->units(), in.cols());
      for (Index n = 0; n < in.cols(); ++n) {
        pooled.col(n) =
            Eigen::Map<const Matrix<double>>(in.col(n).data(), g->spatial(), g->units()).colwise().mean().transpose();
      }
      const Vector<double> mean = pooled.rowwise().mean();
      const Vector<double> var = (pooled.colwise() - mean).array().square().rowwise().mean().matrix();
      *g->state()[2].value = mean;
      *g->state()[3].value = var;
      // gamma 1.5 on the unit's standardised input (the activations here are tiny against the BN's eps of 1e-3)
      g->gamma().value.array() = 1.5 * (var.array() + 1e-3).sqrt() / (var.array() + 1e-12).sqrt();
    }
    const Matrix<double> full = model.forward(x, Context::eval());
    reset_gate_activity(model);
    model.forward(x, Context::eval());
    const std::vector<double> per_example = gate_n_active_per_example(model);
    const std::vector<Index> kept = gate_n_active(model);
    for (std::size_t i = 0; i < kept.size(); ++i) {
      INFO("gate " << i << ": " << per_example[i] << " per example of " << kept[i]);
      CHECK(per_example[i] < double(kept[i]));
      CHECK(per_example[i] > 0.2 * double(kept[i]));
    }
    Sequential<double> small = compact(model);
    const Matrix<double> out = small.forward(x, Context::eval());
    CHECK(out.isApprox(full, 1e-10));
    // equal for the MLP; for LeNet-5 summarize() counts an upper bound (features of pruned channels)
    if (net == "mlp") CHECK(summarize(small).params_kept() == summarize(model).params_kept());
    CHECK(summarize(small).params_kept() <= summarize(model).params_kept());
    bool has_gate = false;
    for (Index i = 0; i < small.size(); ++i) has_gate |= small.layer(i).name() == "CompactDependentGate";
    CHECK(has_gate);
    Rng r(29);
    for (Index i = 0; i < small.size(); ++i) {
      if (small.layer(i).name() != "CompactDependentGate") continue;
      Matrix<double> in(small.layer(i).input_rows(), 2), o;
      CHECK_THROWS_WITH(small.layer(i).forward(in, o, Context::train(r)), Catch::Contains("inference"));
    }
  }
}
