#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/math/kl_sparse_vd.hpp"

using namespace bayesdrop;

TEST_CASE("sparse VD KL per weight equals its values in double precision", "[math][sparse_vd]") {
  const double log_alpha[] = {-10, -5, 0, 3, 8};
  const double expected[] = {5.63578, 3.13668, 0.43124, 0.02542, 0.00017};
  Eigen::ArrayXd la_d(5);
  Eigen::ArrayXf la_f(5);
  for (int i = 0; i < 5; ++i) {
    la_d[i] = log_alpha[i];
    la_f[i] = float(log_alpha[i]);
  }
  const Eigen::ArrayXd kl_d = sparse_vd_kl(la_d);
  const Eigen::ArrayXf kl_f = sparse_vd_kl(la_f);
  for (int i = 0; i < 5; ++i) {
    INFO("log alpha = " << log_alpha[i]);
    CHECK(std::abs(sparse_vd_kl(log_alpha[i]) - expected[i]) < 1e-4);
    CHECK(std::abs(double(sparse_vd_kl(float(log_alpha[i]))) - expected[i]) < 1e-4);
    CHECK(std::abs(kl_d[i] - expected[i]) < 1e-4);
    CHECK(std::abs(double(kl_f[i]) - expected[i]) < 1e-4);
  }
}

TEST_CASE("sparse VD KL is positive and decreasing, and its derivative matches finite differences",
          "[math][sparse_vd]") {
  double previous = INFINITY;
  for (double la = -12; la <= 12; la += 0.25) {
    const double kl = sparse_vd_kl(la);
    CHECK(kl > 0);
    CHECK(kl < previous);
    previous = kl;
    const double h = 1e-5;
    const double numeric = (sparse_vd_kl(la + h) - sparse_vd_kl(la - h)) / (2 * h);
    INFO("log alpha = " << la);
    CHECK(sparse_vd_kl_derivative(la) == Approx(numeric).epsilon(1e-7).margin(1e-10));
    CHECK(sparse_vd_kl_derivative(la) < 0);
  }
  // The array forms agree with the scalar forms (double and float).
  Eigen::ArrayXd la = Eigen::ArrayXd::LinSpaced(97, -12, 12);
  const Eigen::ArrayXd v = sparse_vd_kl(la), d = sparse_vd_kl_derivative(la);
  const Eigen::ArrayXf laf = la.cast<float>();
  const Eigen::ArrayXf vf = sparse_vd_kl(laf), df = sparse_vd_kl_derivative(laf);
  for (Eigen::Index i = 0; i < la.size(); ++i) {
    CHECK(v[i] == Approx(sparse_vd_kl(la[i])).epsilon(1e-12).margin(1e-14));
    CHECK(d[i] == Approx(sparse_vd_kl_derivative(la[i])).epsilon(1e-12).margin(1e-14));
    CHECK(vf[i] == Approx(sparse_vd_kl(la[i])).epsilon(1e-5).margin(1e-6));
    CHECK(df[i] == Approx(sparse_vd_kl_derivative(la[i])).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("sparse VD KL does not overflow far outside the clip range", "[math][sparse_vd]") {
  // softplus(-la) ~= -la for very negative la, ~= exp(-la) for very positive la
  CHECK(sparse_vd_kl(-800.0) == Approx(kSparseVDK1 + 400.0));
  CHECK(std::isfinite(sparse_vd_kl(800.0)));
  CHECK(sparse_vd_kl(800.0) < 1e-12);
  CHECK(std::isfinite(sparse_vd_kl(-100.0f)));
  CHECK(sparse_vd_kl_derivative(-800.0) == Approx(-0.5));
  Eigen::ArrayXf la(2);
  la << -100.0f, 100.0f;
  const Eigen::ArrayXf v = sparse_vd_kl(la);
  CHECK(v.allFinite());
  CHECK(v[0] == Approx(float(kSparseVDK1) + 50.0f));
}

TEST_CASE("log alpha is log sigma^2 - log(theta^2 + 1e-8), clipped to [-8, 8]", "[math][sparse_vd]") {
  CHECK(sparse_vd_log_alpha_unclipped(0.5, -1.0) == Approx(-1.0 - std::log(0.25 + 1e-8)));
  CHECK(sparse_vd_log_alpha(0.5, -1.0) == Approx(-1.0 - std::log(0.25 + 1e-8)));
  CHECK(sparse_vd_log_alpha(0.0, -10.0) == 8.0);  // -10 - log(1e-8) = 8.42 -> 8
  CHECK(sparse_vd_log_alpha(1.0, -20.0) == -8.0);
  CHECK(sparse_vd_log_alpha_unclipped(0.0, 0.0) == Approx(-std::log(1e-8)));  // theta = 0 stays finite
  CHECK(sparse_vd_log_alpha_inside(7.99));
  CHECK_FALSE(sparse_vd_log_alpha_inside(8.0));
  CHECK_FALSE(sparse_vd_log_alpha_inside(-8.5));

  Eigen::ArrayXd theta(4), ls2(4);
  theta << 0.5, 0.0, 1.0, -2.0;
  ls2 << -1.0, -10.0, -20.0, 1.0;
  const Eigen::ArrayXd la = sparse_vd_log_alpha(theta, ls2);
  const Eigen::ArrayXd raw = sparse_vd_log_alpha_unclipped(theta, ls2);
  for (Eigen::Index i = 0; i < 4; ++i) {
    CHECK(la[i] == Approx(sparse_vd_log_alpha(theta[i], ls2[i])));
    CHECK(raw[i] == Approx(sparse_vd_log_alpha_unclipped(theta[i], ls2[i])));
  }
  CHECK(la[1] == 8.0);
  CHECK(la[2] == -8.0);
}
