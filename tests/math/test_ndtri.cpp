// The normal quantile Phi^-1 against high-precision values, and round trips through log Phi.
// Reference values: mpmath 1.3.0, mp.dps = 60: sqrt(2) erfinv(2p - 1), or findroot of log(ncdf(x)) = log p for tail
// probabilities, at the exact double p (or log p) below.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "bayesdrop/math/ndtri.hpp"

using namespace bayesdrop;

namespace {
bool close(double got, double want, double rel, double abs = 0.0) {
  if (got == want) return true;
  return std::fabs(got - want) <= rel * std::fabs(want) + abs;
}
}  // namespace

TEST_CASE("ndtri matches mpmath in both tails and the centre", "[math][ndtri]") {
  struct Ref {
    double p, x;
  };
  const Ref refs[] = {
      {1e-300, -37.047096299361199237}, {1e-20, -9.2623400897984075796}, {1e-5, -4.2648907939228246102},
      {0.02, -2.0537489106318230443},   {0.3, -0.52440051270804081597},  {0.5, 0.0},
      {0.7, 0.52440051270804065631},    {0.975, 1.9599639845400538556},  {0.9999999999, 6.3613408896974218642},
  };
  for (const auto& r : refs) {
    INFO("p = " << r.p << ": ndtri = " << ndtri(r.p) << ", mpmath " << r.x);
    CHECK(close(ndtri(r.p), r.x, 4e-16));
  }
  CHECK(ndtri(0.0) == -std::numeric_limits<double>::infinity());
  CHECK(ndtri(1.0) == std::numeric_limits<double>::infinity());
  CHECK(std::isnan(ndtri(-0.1)));
  CHECK(std::isnan(ndtri(1.5)));
  CHECK(std::isnan(ndtri(std::numeric_limits<double>::quiet_NaN())));
  CHECK(std::isfinite(ndtri(std::numeric_limits<double>::denorm_min())));  // -38.4
}

TEST_CASE("ndtri_log inverts log Phi where exp(log p) underflows or rounds to 1", "[math][ndtri]") {
  struct Ref {
    double log_p, x;
  };
  const Ref refs[] = {{-1e4, -141.3798398731271637},
                      {-1000.0, -44.61574773196940302},
                      {-700.0, -37.295079632647416957},
                      {-1.0, -0.33747496376420245528},
                      {-1e-20, 9.2623400897984075737}};
  for (const auto& r : refs) {
    INFO("log p = " << r.log_p << ": ndtri_log = " << ndtri_log(r.log_p) << ", mpmath " << r.x);
    CHECK(close(ndtri_log(r.log_p), r.x, 4e-16));
  }
  // round trip x -> log Phi(x) -> x from the far lower tail to the upper tail
  for (double x = -3e4; x < 8.0; x = x < -100 ? x * 0.9 : x + 0.173) {
    INFO("x = " << x);
    CHECK(close(ndtri_log(log_ndtr(x)), x, 1e-14, 1e-15));
  }
  CHECK(ndtri_log(0.0) == std::numeric_limits<double>::infinity());
  CHECK(ndtri_log(-std::numeric_limits<double>::infinity()) == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(ndtri_log(0.5)));
}

TEST_CASE("Acklam's starting value is within its published 1.15e-9 and Phi(ndtri(p)) = p", "[math][ndtri]") {
  for (double lp = -690.0; lp < std::log(0.5); lp += 0.731) {
    const double p = std::exp(lp);
    const double exact = ndtri(p);
    INFO("p = " << p);
    CHECK(std::fabs(detail::acklam_lower(p) - exact) <= 1.15e-9 * std::fabs(exact) + 1e-300);
    // Phi(x (1 + e)) = Phi(x) (1 + h(-x) x e), h(-x) ~ |x|: one ulp of x moves Phi by x^2 ulp
    CHECK(close(ndtr(exact), p, 1e-15 + 2.2e-16 * exact * exact));
  }
  for (double p = 0.51; p < 1.0; p += 0.037) {
    INFO("p = " << p);
    CHECK(close(ndtr(ndtri(p)), p, 1e-15));
    CHECK(close(ndtri(p), -ndtri(1.0 - p), 1e-15));
  }
  CHECK(close(double(ndtri(0.2f)), ndtri(double(0.2f)), 1e-7));
  CHECK(std::isfinite(ndtri_log(-1e30f)));
}
