// erfcx(x) = exp(x^2) erfc(x) against high-precision values.
// Reference values: mpmath 1.3.0, mp.dps = 60, erfc(x) * exp(x^2) at the exact double x.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "bayesdrop/math/erfcx.hpp"

using namespace bayesdrop;

namespace {
double rel_err(double got, double want) {
  return std::fabs(got - want) / std::fabs(want);
}
}  // namespace

TEST_CASE("erfcx matches mpmath values on both sides of the continued-fraction switch", "[math][erfcx]") {
  struct Ref {
    double x, value;
  };
  const Ref refs[] = {
      {0.0, 1.0},
      {0.5, 0.61569034419292587487},
      {1.0, 0.42758357615580700441},
      {2.9, 0.18460182595559082468},
      {3.0, 0.17900115118138995042},  // first argument of the continued fraction
      {3.1, 0.17371840860540824468},
      {5.5, 0.10096221839949908823},
      {10.0, 0.056140992743822585858},
      {100.0, 0.0056416137829894329036},
      {1e5, 5.6418958351954680777e-6},
      {1e10, 5.6418958354775628695e-11},
      {-1.0, 5.0089800807622834663},
      {-5.0, 1.4400979867466104041e+11},
  };
  for (const auto& r : refs) {
    INFO("x = " << r.x << ": erfcx = " << erfcx(r.x) << ", mpmath " << r.value);
    CHECK(rel_err(erfcx(r.x), r.value) < 4e-16);
  }
}

TEST_CASE("erfcx is continuous at the switch and decreasing on x >= 0", "[math][erfcx]") {
  const double below = std::nextafter(kErfcxCfStart, 0.0);
  CHECK(rel_err(erfcx(below), erfcx(kErfcxCfStart)) < 1e-15);
  double prev = erfcx(0.0);
  for (int i = 1; i <= 4000; ++i) {
    const double x = 0.01 * i;
    const double v = erfcx(x);
    INFO("x = " << x);
    CHECK(v < prev);
    prev = v;
  }
  // erfcx(x) ~ 1 / (x sqrt(pi)) (1 - 1/(2 x^2)) for large x
  const double x = 1e4;
  CHECK(rel_err(erfcx(x), kInvSqrtPi / x * (1.0 - 0.5 / (x * x))) < 1e-15);
}

TEST_CASE("erfcx handles the edges and float agrees with double", "[math][erfcx]") {
  CHECK(std::isinf(erfcx(-30.0)));  // 2 exp(900) overflows, as the true value does
  CHECK(std::isnan(erfcx(std::numeric_limits<double>::quiet_NaN())));
  CHECK(erfcx(std::numeric_limits<double>::infinity()) == 0.0);
  for (float x : {0.0f, 0.25f, 2.99f, 3.0f, 7.5f, 1e3f, 1e30f, -2.0f}) {
    INFO("x = " << x);
    CHECK(std::isfinite(erfcx(x)));
    CHECK(rel_err(double(erfcx(x)), erfcx(double(x))) < 1e-7);
  }
}
