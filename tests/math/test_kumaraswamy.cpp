// Kumaraswamy sampling, moments and the Kumaraswamy-Beta KL (math/kumaraswamy.hpp): Monte Carlo means, the anchors
// of the formulas in double precision, an independent numerical integration of the KL, and finite-difference gradients.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/math/kumaraswamy.hpp"

using namespace bayesdrop;

namespace {

double softplus(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// KL(Kumaraswamy(a, b) || Beta(alpha, beta)) = integral of q log(q / p), by the trapezoidal rule after two changes of
// variables that remove the endpoint singularities of the densities: pi = F^-1(1 - s) (s uniform: the integrand
// becomes the log density ratio, only logarithmically singular at s = 0 and 1), then s = sigmoid(t) over the whole
// real line (the integrand decays like |t| e^-|t|, and the trapezoidal rule converges geometrically for such smooth,
// fast-decaying integrands). Written independently of the closed form.
double kl_by_quadrature(double a, double b, double alpha, double beta, double step = 0.005, double range = 60) {
  const double log_beta_fn = std::lgamma(alpha) + std::lgamma(beta) - std::lgamma(alpha + beta);
  double total = 0;
  for (double t = -range; t <= range; t += step) {
    const double log_s = -softplus(-t), log_1ms = -softplus(t);  // log s, log(1 - s), s = sigmoid(t)
    const double tau = log_s / b;                                // log(1 - pi^a) = log(s) / b
    // log pi = log(1 - e^tau) / a, each branch accurate on its side
    const double log_pi = (tau < -0.6931 ? std::log1p(-std::exp(tau)) : std::log(-std::expm1(tau))) / a;
    const double log_1m_pi = std::log(-std::expm1(log_pi));
    const double log_q = std::log(a) + std::log(b) + (a - 1) * log_pi + (b - 1) * tau;
    const double log_p = (alpha - 1) * log_pi + (beta - 1) * log_1m_pi - log_beta_fn;
    const double weight = std::exp(log_s + log_1ms);  // ds/dt = s (1 - s)
    total += (log_q - log_p) * weight;
  }
  return total * step;
}

}  // namespace

TEST_CASE("Kumaraswamy log-space sampling equals the direct formula and stays finite where it underflows",
          "[math][kumaraswamy]") {
  for (double a : {0.31326, 1.0, 2.7}) {
    for (double b : {0.5, 1.0, 4.0}) {
      for (double u : {1e-6, 0.01, 0.3, 0.77, 0.999}) {
        INFO("a " << a << " b " << b << " u " << u);
        const double direct = std::pow(1 - std::pow(u, 1 / b), 1 / a);
        CHECK(kumaraswamy_sample(a, b, u) == Approx(direct).epsilon(1e-9));
      }
    }
  }
  // a = 1e-3: pi = 0.5^1000 ~ 1e-301 and a = 5e-4: pi = 0.5^2000 underflows, but log pi is exact
  CHECK(kumaraswamy_log_sample(5e-4, 1.0, 0.5) == Approx(2000 * std::log(0.5)).epsilon(1e-12));
  // u near 1 with small b: 1 - u^(1/b) keeps its digits (the naive pow form loses them)
  const double u = 1 - 1e-12, b = 1e-3;
  CHECK(kumaraswamy_log_sample(1.0, b, u) == Approx(std::log(-std::log(u) / b)).epsilon(1e-9));
  // a = 1: Beta(1, b) CDF inverse; b = 1: pi = (1 - u)^(1/a)
  CHECK(kumaraswamy_sample(1.0, 3.0, 0.125) == Approx(0.5).epsilon(1e-14));
  CHECK(kumaraswamy_sample(2.0, 1.0, 0.75) == Approx(0.5).epsilon(1e-14));
}

TEST_CASE("the Kumaraswamy sample mean matches E[pi] = b B(1 + 1/a, b) within 5 standard errors",
          "[math][kumaraswamy]") {
  Rng rng(2024);
  const Index n = 400000;
  const std::vector<std::pair<double, double>> cases = {{softplus(-1.0), softplus(0.5413)},
                                                        {softplus(-1.0), std::log(2.0)},
                                                        {0.5, 2.0},
                                                        {2.0, 0.5},
                                                        {3.0, 5.0},
                                                        {0.1, 0.3},
                                                        {1.0, 1.0}};
  for (const auto& [a, b] : cases) {
    double sum = 0, sum2 = 0;
    for (Index i = 0; i < n; ++i) {
      const double pi = kumaraswamy_sample(a, b, rng.uniform_one<double>());
      sum += pi;
      sum2 += pi * pi;
    }
    const double mean = sum / double(n), var = sum2 / double(n) - mean * mean;
    const double se = std::sqrt(var / double(n));
    INFO("a " << a << " b " << b << ": sample mean " << mean << " closed form " << kumaraswamy_mean(a, b) << " se "
              << se);
    CHECK(std::abs(mean - kumaraswamy_mean(a, b)) < 5 * se);
    // the second moment E[pi^2] = b B(1 + 2/a, b); its estimate has standard error sqrt((E[pi^4] - E[pi^2]^2) / n)
    const double m2 = kumaraswamy_moment(a, b, 2.0), m4 = kumaraswamy_moment(a, b, 4.0);
    CHECK(std::abs(sum2 / double(n) - m2) < 5 * std::sqrt((m4 - m2 * m2) / double(n)));
  }
}

TEST_CASE("Kumaraswamy moments have their closed-form special cases and their anchors", "[math][kumaraswamy]") {
  // a = 1: Beta(1, b), mean 1 / (1 + b); b = 1: pi^a uniform, mean a / (a + 1)
  for (double x : {0.2, 1.0, 3.5, 40.0}) {
    CHECK(kumaraswamy_mean(1.0, x) == Approx(1 / (1 + x)).epsilon(1e-13));
    CHECK(kumaraswamy_mean(x, 1.0) == Approx(x / (x + 1)).epsilon(1e-13));
    CHECK(kumaraswamy_moment(1.0, x, 2.0) == Approx(2 / ((1 + x) * (2 + x))).epsilon(1e-13));
  }
  // E[pi] = 0.23854 at a = 0.31326, b = 0.99998 and 0.34448 at b = 0.69315 (mpmath: 0.2385413566,
  // 0.3444775390 at the exact softplus values)
  CHECK(std::abs(kumaraswamy_mean(0.31326, 0.99998) - 0.23854) < 1e-5);
  CHECK(std::abs(kumaraswamy_mean(0.31326, 0.69315) - 0.34448) < 1e-5);
  CHECK(std::abs(kumaraswamy_mean(softplus(-1.0), softplus(0.5413)) - 0.23854135655689052) < 1e-13);
  CHECK(std::abs(kumaraswamy_mean(softplus(-1.0), std::log(2.0)) - 0.34447753898277136) < 1e-13);
  CHECK(std::isnan(kumaraswamy_mean(0.0, 1.0)));
  CHECK(std::isnan(kumaraswamy_mean(1.0, -1.0)));
}

TEST_CASE("the reparameterised gradient of log pi matches finite differences", "[math][kumaraswamy][gradcheck]") {
  for (double a : {0.05, 0.31326, 1.0, 3.0}) {
    for (double b : {0.2, 0.99998, 6.0}) {
      for (double u : {1e-5, 0.2, 0.6, 0.99}) {
        const auto g = kumaraswamy_log_sample_grad(a, b, u);
        CHECK(g.log_pi == Approx(kumaraswamy_log_sample(a, b, u)).epsilon(1e-14));
        const double ha = 1e-6 * a, hb = 1e-6 * b;
        const double fa = (kumaraswamy_log_sample(a + ha, b, u) - kumaraswamy_log_sample(a - ha, b, u)) / (2 * ha);
        const double fb = (kumaraswamy_log_sample(a, b + hb, u) - kumaraswamy_log_sample(a, b - hb, u)) / (2 * hb);
        INFO("a " << a << " b " << b << " u " << u << ": d_a " << g.d_a << " vs " << fa << ", d_b " << g.d_b << " vs "
                  << fb);
        CHECK(std::abs(g.d_a - fa) <= 1e-6 * std::abs(fa) + 1e-9);
        CHECK(std::abs(g.d_b - fb) <= 1e-6 * std::abs(fb) + 1e-9);
      }
    }
  }
}

TEST_CASE("the array form of the reparameterised sample equals the scalar form", "[math][kumaraswamy]") {
  Rng rng(31);
  Eigen::ArrayXd a(50), b(50), u(50), log_pi, d_a, d_b;
  rng.uniform(a);
  rng.uniform(b);
  rng.uniform(u);
  a = 0.05 + 3 * a;
  b = 0.1 + 5 * b;
  u = u.min(1 - 1e-9);
  kumaraswamy_log_sample_grad(a, b, u, log_pi, d_a, d_b);
  REQUIRE(log_pi.size() == 50);
  for (Index i = 0; i < 50; ++i) {
    const auto s = kumaraswamy_log_sample_grad(a[i], b[i], u[i]);
    INFO("i = " << i);
    CHECK(log_pi[i] == Approx(s.log_pi).epsilon(1e-13));
    CHECK(d_a[i] == Approx(s.d_a).epsilon(1e-13));
    CHECK(d_b[i] == Approx(s.d_b).epsilon(1e-13));
  }
}

TEST_CASE("the beta-Bernoulli KL equals its anchors", "[math][kumaraswamy][kl]") {
  const double alpha = 1e-4;
  // a = softplus(-1), b = softplus(0.5413) and b = softplus(0)
  CHECK(std::abs(kumaraswamy_beta_kl(0.31326, 0.99998, alpha, 1.0, DigammaKind::approximate) - 7.0493) < 1e-4);
  CHECK(std::abs(kumaraswamy_beta_kl(0.31326, 0.69315, alpha, 1.0, DigammaKind::approximate) - 7.3454) < 1e-4);
  CHECK(std::abs(kumaraswamy_beta_kl(0.31326, 0.99998, alpha, 1.0, DigammaKind::exact) - 7.050) < 1e-4);
  // the same at the unrounded softplus values, against mpmath (30 digits)
  const double a = softplus(-1.0), b1 = softplus(0.5413), b0 = std::log(2.0);
  CHECK(std::abs(kumaraswamy_beta_kl(a, b1, alpha, 1.0, DigammaKind::approximate) - 7.0492700500305645) < 1e-11);
  CHECK(std::abs(kumaraswamy_beta_kl(a, b1, alpha, 1.0, DigammaKind::exact) - 7.0499533480393839) < 1e-11);
  CHECK(std::abs(kumaraswamy_beta_kl(a, b0, alpha, 1.0, DigammaKind::approximate) - 7.3453931737097287) < 1e-11);
  CHECK(std::abs(kumaraswamy_beta_kl(a, b0, alpha, 1.0, DigammaKind::exact) - 7.3457417838784071) < 1e-11);
  // the defaults are beta = 1 and the exact digamma
  CHECK(kumaraswamy_beta_kl(a, b1, alpha) == kumaraswamy_beta_kl(a, b1, alpha, 1.0, DigammaKind::exact));
}

TEST_CASE("the closed-form KL agrees with numerical integration", "[math][kumaraswamy][kl]") {
  struct Case {
    double a, b, alpha, beta;
    int terms;
  };
  const std::vector<Case> cases = {
      {softplus(-1.0), softplus(0.5413), 1e-4, 1.0, 0},  // the layer at initialisation
      {0.5, 2.0, 0.3, 1.0, 0},
      {2.5, 0.4, 1e-2, 1.0, 0},
      {1.7, 3.1, 1.0, 1.0, 0},
      {0.08, 0.25, 1e-4, 1.0, 0},
      {1.5, 2.5, 0.7, 2.0, 2000},  // beta != 1: the series, with enough terms for ~1e-8
      {0.8, 1.5, 2.0, 0.5, 20000},
      {3.0, 4.0, 2.0, 3.0, 2000},
  };
  for (const auto& c : cases) {
    const double closed = kumaraswamy_beta_kl(c.a, c.b, c.alpha, c.beta, DigammaKind::exact,
                                              c.terms > 0 ? c.terms : kKumaraswamyKlSeriesTerms);
    const double numeric = kl_by_quadrature(c.a, c.b, c.alpha, c.beta);
    const double coarser = kl_by_quadrature(c.a, c.b, c.alpha, c.beta, 0.01);
    INFO("a " << c.a << " b " << c.b << " alpha " << c.alpha << " beta " << c.beta << ": closed form " << closed
              << ", quadrature " << numeric << " (step 0.01: " << coarser << ")");
    CHECK(std::abs(numeric - coarser) < 1e-9 * std::abs(numeric));  // the quadrature has converged
    CHECK(std::abs(closed - numeric) < 1e-6 * std::abs(numeric));
  }
}

TEST_CASE("the KL vanishes when the Kumaraswamy is the Beta", "[math][kumaraswamy][kl]") {
  // Kumaraswamy(a, 1) = Beta(a, 1) (exact, no series) and Kumaraswamy(1, b) = Beta(1, b) (needs the series:
  // sum_m b B(m, b) / (m + b) = 1/b, with a remainder ~ 2 / M^3 for b = 3)
  for (double a : {0.1, 0.7, 4.0}) CHECK(std::abs(kumaraswamy_beta_kl(a, 1.0, a)) < 1e-14);
  CHECK(std::abs(kumaraswamy_beta_kl(1.0, 3.0, 1.0, 3.0, DigammaKind::exact, 2000)) < 1e-8);
  // with the default 10 terms the truncation is visible
  CHECK(std::abs(kumaraswamy_beta_kl(1.0, 3.0, 1.0, 3.0)) > 1e-4);
}

TEST_CASE("the KL gradient in a and b matches finite differences", "[math][kumaraswamy][kl][gradcheck]") {
  for (auto kind : {DigammaKind::exact, DigammaKind::approximate}) {
    for (double beta : {1.0, 0.6, 2.5}) {
      for (double a : {0.05, 0.31326, 1.3, 4.0}) {
        for (double b : {0.1, 0.69315, 2.0, 9.0}) {
          const double alpha = 0.02;
          const int terms = 25;
          auto kl = [&](double aa, double bb) { return kumaraswamy_beta_kl(aa, bb, alpha, beta, kind, terms); };
          const auto g = kumaraswamy_beta_kl_with_grad(a, b, alpha, beta, kind, terms);
          CHECK(g.value == kl(a, b));
          const double ha = 1e-6 * a, hb = 1e-6 * b;
          const double fa = (kl(a + ha, b) - kl(a - ha, b)) / (2 * ha);
          const double fb = (kl(a, b + hb) - kl(a, b - hb)) / (2 * hb);
          INFO((kind == DigammaKind::exact ? "exact" : "approx")
               << " beta " << beta << " a " << a << " b " << b << ": d_a " << g.d_a << " vs " << fa << ", d_b " << g.d_b
               << " vs " << fb);
          CHECK(std::abs(g.d_a - fa) <= 1e-6 * std::abs(fa) + 1e-7);
          CHECK(std::abs(g.d_b - fb) <= 1e-6 * std::abs(fb) + 1e-7);
        }
      }
    }
  }
}

TEST_CASE("the KL rejects non-positive arguments with NaN", "[math][kumaraswamy][kl]") {
  CHECK(std::isnan(kumaraswamy_beta_kl(0.0, 1.0, 1e-4)));
  CHECK(std::isnan(kumaraswamy_beta_kl(1.0, -1.0, 1e-4)));
  CHECK(std::isnan(kumaraswamy_beta_kl(1.0, 1.0, 0.0)));
  CHECK(std::isnan(kumaraswamy_beta_kl_with_grad(1.0, 1.0, 1e-4, -2.0).d_a));
}

TEMPLATE_TEST_CASE("float Kumaraswamy functions agree with double", "[math][kumaraswamy]", float, double) {
  using S = TestType;
  const double a = 0.7, b = 1.9, u = 0.35, alpha = 1e-3;
  CHECK(double(kumaraswamy_sample(S(a), S(b), S(u))) == Approx(kumaraswamy_sample(a, b, u)).epsilon(1e-5));
  CHECK(double(kumaraswamy_mean(S(a), S(b))) == Approx(kumaraswamy_mean(a, b)).epsilon(1e-5));
  const auto gf = kumaraswamy_log_sample_grad(S(a), S(b), S(u));
  const auto gd = kumaraswamy_log_sample_grad(a, b, u);
  CHECK(double(gf.d_a) == Approx(gd.d_a).epsilon(1e-5));
  CHECK(double(gf.d_b) == Approx(gd.d_b).epsilon(1e-5));
  for (auto kind : {DigammaKind::exact, DigammaKind::approximate}) {
    const auto kf = kumaraswamy_beta_kl_with_grad(S(a), S(b), S(alpha), S(1), kind);
    const auto kd = kumaraswamy_beta_kl_with_grad(a, b, alpha, 1.0, kind);
    CHECK(double(kf.value) == Approx(kd.value).epsilon(1e-5));
    CHECK(double(kf.d_a) == Approx(kd.d_a).epsilon(1e-5));
    CHECK(double(kf.d_b) == Approx(kd.d_b).epsilon(1e-5));
  }
}
