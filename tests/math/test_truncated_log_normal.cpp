// The truncated log-normal of structured Bayesian pruning: anchors, high-precision references in every regime,
// finite values and derivatives over the whole clipped parameter range in float and double, finite differences.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/math/truncated_log_normal.hpp"

using namespace bayesdrop;

namespace {
constexpr double kA = -20.0, kB = 0.0;  // SBP's [a, b]

bool close(double got, double want, double rel, double abs = 0.0) {
  if (got == want) return true;
  return std::fabs(got - want) <= rel * std::fabs(want) + abs;
}
}  // namespace

TEST_CASE("SBP anchors at initialisation (the formulas in double precision)", "[math][sbp]") {
  // mu = 0, log sigma = -5, [a, b] = [-20, 0]: Z = 0.5000, E[theta] = 0.99465, SNR = 246.7, KL = 7.2699
  const auto m = truncated_log_normal_moments(0.0, -5.0, kA, kB);
  const auto k = truncated_log_normal_kl(0.0, -5.0, kA, kB);
  CHECK(std::fabs(std::exp(m.log_z) - 0.5) < 5e-5);
  CHECK(std::fabs(m.mean - 0.99465) < 5e-6);
  CHECK(std::fabs(m.snr - 246.7) < 0.05);
  CHECK(std::fabs(k.value - 7.2699) < 5e-5);
  CHECK(std::fabs(truncated_normal_log_z(0.0, -5.0, kA, kB) - std::log(0.5)) < 1e-15);
  // at mu = b the distribution of X is a half normal: KL = log 20 + 5 - log sqrt(pi e / 2) exactly (w -> inf)
  CHECK(close(k.value, std::log(20.0) + 5.0 - 0.5 * std::log(std::acos(-1.0) * std::exp(1.0) / 2.0), 1e-15));
  CHECK(k.d_log_sigma == Approx(-1.0).epsilon(1e-15));
}

TEST_CASE("truncated log-normal matches mpmath in every regime (values and derivatives)", "[math][sbp]") {
  // mpmath 1.3.0 at mp.dps = 130 (so the cancellations of the direct formulas cost nothing) from the formulas of
  // Neklyudov et al. 2017: log Z; KL and its derivatives (mp.diff); log E[theta], log E[theta^2] from
  // k mu + k^2 sigma^2/2 + log Z(alpha - k sigma, beta - k sigma) - log Z; log SNR = -log(expm1(log E2 - 2 log E))/2;
  // log theta = mu + sigma x with log ncdf(x) = log((1-u) ncdf(alpha) + u ncdf(beta)) solved by findroot, and its
  // derivatives by mp.diff. [a, b] = [-20, 0].
  struct Ref {
    double mu, log_sigma, u;
    double log_z, kl, kl_mu, kl_ls, log_m1, log_m2, log_snr, t, t_mu, t_ls;
  };
  // clang-format off
  const Ref refs[] = {
    {5.0, -20.0, 0.3, -2.94231583546274984e+18, 43.60517018598809137, 0.1999999999999999999, -1.999999999999999999, -8.496708510583177984e-19, -1.699341702116635596e-18, 41.60943791243410038, -1.022980597302687591e-18, 2.045961194605375182e-19, -2.045961194605375182e-18},
    {5.0, -5.0, 0.3, -2.753383508133455842e+5, 13.60517381795773882, 0.1999985472220343207, -1.999992736110171604, -9.079911751964691011e-6, -1.815974106017996595e-5, 11.6094524401774832, -1.093202434712055543e-5, 2.186392148173617698e-6, -2.186398508798864393e-5},
    {5.0, 0.0, 0.3, -15.06499839398872574, 3.675532216523438699, 0.1749930701057016212, -1.874965350528508106, -0.1717705559859799189, -0.3193091048223495065, 1.853970220248378311, -0.2273132809147286724, 0.04071852270883685102, -0.4309058944589129274},
    {5.0, 5.0, 0.3, -2.929062463624591857, 7.948886765936140159e-6, 1.029319996222230606e-6, -3.177656895838102345e-5, -2.990715918800016173, -3.683715589730391839, -1.095906641600319155, -13.96882540921781636, 1.912322132169257198e-3, -0.06240911154471937071},
    {2.0, -20.0, 0.7, -4.707705336740399924e+17, 42.6888794541139363, 0.4999999999999999979, -1.999999999999999996, -2.124177127645794491e-18, -4.248354255291588977e-18, 40.69314718055994531, -7.576407579190014587e-19, 3.788203789595007284e-19, -1.515281515838002916e-18},
    {2.0, -5.0, 1e-09, -4.405954368667685806e+4, 12.68890215311272391, 0.4999773019672339129, -1.999954603934467826, -2.269919199931642326e-5, -4.53978687687049469e-5, 10.69320392635033773, -4.703567600607246215e-4, 2.351177490634714519e-4, -9.405922581876675253e-4},
    {2.0, -5.0, 0.999999999, -4.405954368667685806e+4, 12.68890215311272391, 0.4999773019672339129, -1.999954603934467826, -2.269919199931642326e-5, -4.53978687687049469e-5, 10.69320392635033773, -2.269970661517005427e-14, 1.134959568093330054e-14, -4.539889797703665534e-14},
    {2.0, 0.0, 0.5, -3.783184333682031949, 2.986762541208509333, 0.3008868668255016903, -1.601773733651003381, -0.3245418878283175944, -0.576917152845258879, 1.296238662510092875, -0.2776048388094589238, 0.09462429671272705229, -0.4668534322349130284},
    {0.0, -20.0, 1e-12, -0.6931471805599453094, 22.26994092090926356, 1.935529094281884315e+8, -1.0, -1.644562652014739708e-9, -3.289125302485711482e-9, 20.5061527675569318, -1.469707001993126908e-8, 0.8901848915910231388, -1.469707001993126908e-8},
    {0.0, -5.0, 0.3, -0.6931471805599453094, 7.269940920909263561, 59.20828413396255594, -1.0, -5.367866268960416001e-3, -0.01071930165397219331, 5.508169805509058309, -6.983433246491658741e-3, 0.4866902007431965429, -6.983433246491658741e-3},
    {0.0, 0.0, 0.999, -0.6931471805599453094, 2.269940920909263561, 0.3989422804014326779, -1.0, -0.6478744644493181964, -1.090037153122086639, 0.7383303739170658183, -1.253314465432555625e-3, 9.992153865158271574e-4, -1.253314465432555625e-3},
    {-3.0, -20.0, 0.3, 0.0, 21.57679374034931825, 0.0, -1.0, -2.999999999999999998, -5.999999999999999992, 20.0, -3.000000001080870016, 1.0, -1.080870016376815306e-9},
    {-3.0, 0.0, 0.3, -1.350809964748193799e-3, 1.584801308877254941, 0.02221873683367404121, -0.9333437894989778764, -2.521662099364215295, -4.171402969058701696, -0.1651915338479753644, -3.525565602819352141, 0.9961737237334223524, -0.5370444316190850838},
    {-20.0, -20.0, 0.3, -0.6931471805599453094, 22.26994092090926356, -1.935529094281884315e+8, -1.0, -19.99999999835543735, -39.99999999671087469, 20.506152766320322, -19.99999999920579532, 0.2460573787610537986, 7.94204675135672612e-10},
    {-20.0, -5.0, 0.6, -0.6931471805599453094, 7.269940920909263561, -59.20828413396255594, -1.0, -19.9946156362745147, -39.98921470828337065, 5.504127285972089744, -19.99432920073488077, 0.4300049380711335689, 5.670799265119225973e-3},
    {-20.0, 0.0, 0.5, -0.6931471805599453094, 2.269940920909263561, -0.3989422804014326779, -1.0, -18.97960659846350458, -37.32986572876901818, 0.06597444944066793265, -19.32551024980391826, 0.372291234322659822, 0.6744897501960817432},
    {-25.0, -20.0, 0.3, -2.94231583546274984e+18, 43.60517018598809137, -0.1999999999999999999, -1.999999999999999999, -20.0, -40.0, 41.60943791243410037, -20.0, 6.061126063352010326e-20, 6.061126063352010327e-19},
    {-25.0, -5.0, 0.3, -2.753383508133455842e+5, 13.60517381795773882, -0.1999985472220343207, -1.999992736110171604, -19.99999092000580279, -39.99998183992915883, 11.60943428040344312, -19.99999676140344954, 6.477165380645624344e-7, 6.477179240784413246e-6},
    {-25.0, 0.0, 0.9, -15.06499839398872574, 3.675532216523438699, -0.1749930701057016212, -1.874965350528508106, -19.79510309253856509, -39.54272782752162381, 1.511824100200695857, -19.57306599694997577, 0.07390527640068567087, 0.7964603850534525804},
    {-10.0, 5.0, 0.2, -2.92396269616266898, 2.289510317214156586e-7, 0.0, -9.156720071186581857e-7, -2.996837169222731827, -3.690177343487690914, -1.099118875214120023, -15.9970947218737592, 1.452533008606489864e-3, -5.809919925398361544e-3},
    {4.9, 2.0, 0.4, -1.373403901144169355, 0.5400429030370849341, 0.04879256349803573876, -1.154958762592919929, -1.866228358066201153, -2.506607675955881875, -0.4392025410125291802, -4.499425169873054727, 0.2743675359176907409, -5.751640097510520304},
    {0.5, -1.0, 0.6, -2.44126146942039032, 3.781417017299444791, 0.9249747977575318352, -1.462487398878765918, -0.1592059790553357763, -0.3004666811307658604, 2.005721131536327496, -0.09728913204409694338, 0.109897666317498387, -0.1522379652028461369},
    {-0.5, -15.0, 0.5, 0.0, 16.57679374034931825, 0.0, -1.0, -0.4999999999999532119, -0.9999999999998128475, 14.99999999999997661, -0.5, 1.0, 0.0},
    {-19.5, -15.0, 0.2, 0.0, 16.57679374034931825, 0.0, -1.0, -19.49999999999995321, -38.99999999999981285, 14.99999999999997661, -19.50000025745388833, 1.0, -2.574538883335635714e-7},
    {0.001, -7.0, 0.05, -1.992156985055703609, 9.689964585786568796, 390.8253695623620573, -1.390825369562362065, -4.617262209388131045e-4, -9.232960639386075867e-4, 7.835494997731773626, -1.249252227478182699e-3, 0.4259078483501076983, -1.675160075828290406e-3},
    {3.0, -12.0, 0.999999, -1.192010495983131761e+11, 27.09434456223048987, 0.3333333333277405414, -1.999999999983221624, -1.258378181407891568e-11, -2.51675636279994798e-11, 25.09861228869327726, -1.258378810646783236e-17, 4.194596035454088183e-18, -2.516757621283009691e-17},
  };
  // clang-format on
  for (const auto& r : refs) {
    const auto k = truncated_log_normal_kl(r.mu, r.log_sigma, kA, kB);
    const auto m = truncated_log_normal_moments(r.mu, r.log_sigma, kA, kB);
    const auto s = truncated_log_normal_sample(r.mu, r.log_sigma, kA, kB, r.u);
    INFO("mu = " << r.mu << ", log sigma = " << r.log_sigma << ", u = " << r.u);
    INFO("KL " << k.value << " " << k.d_mu << " " << k.d_log_sigma << "; log Z " << m.log_z << ", log E " << m.log_mean
               << ", log E2 " << m.log_second_moment << ", log SNR " << m.log_snr << "; sample " << s.log_theta << " "
               << s.d_mu << " " << s.d_log_sigma);
    CHECK(close(m.log_z, r.log_z, 1e-12, 1e-12));
    CHECK(close(k.value, r.kl, 1e-14, 1e-13));
    CHECK(close(k.d_mu, r.kl_mu, 1e-9, 1e-12));
    CHECK(close(k.d_log_sigma, r.kl_ls, 1e-9, 1e-12));
    CHECK(close(m.log_mean, r.log_m1, 1e-14, 1e-14));
    CHECK(close(m.log_second_moment, r.log_m2, 1e-14, 1e-14));
    CHECK(close(m.log_snr, r.log_snr, 1e-8));  // the cumulant series is accurate to ~1e-7 of the relative variance
    CHECK(close(s.log_theta, r.t, 1e-10, 1e-13));
    CHECK(close(s.d_mu, r.t_mu, 1e-9, 1e-14));
    CHECK(close(s.d_log_sigma, r.t_ls, 1e-9, 1e-14));
  }
}

namespace {
/// The clipped range of SBP's parameters, n points per axis, as floats (so that float and double see the same
/// inputs), plus the edges just inside and the bounds themselves.
std::vector<float> axis(int n) {
  std::vector<float> v;
  for (int i = 0; i < n; ++i) v.push_back(float(-20.0 + 25.0 * i / (n - 1)));
  for (float e : {-19.999f, 4.999f, -1e-6f, 1e-6f, -5.0f, 0.0f}) v.push_back(e);
  return v;
}

template <class T>
bool all_finite(std::initializer_list<T> xs) {
  for (T x : xs) {
    if (!std::isfinite(x)) return false;
  }
  return true;
}
}  // namespace

TEST_CASE("no NaN or Inf anywhere on a 206 x 206 grid of the clipped range, float agrees with double",
          "[math][sbp][grid]") {
  const std::vector<float> grid = axis(200);
  // uniforms: the generator's smallest float and double values, interior, and the largest (1)
  const float us[] = {5.9604645e-08f, 1e-3f, 0.5f, 0.99999994f, 1.0f};
  long bad = 0, disagree = 0, order = 0;
  for (float mu : grid) {
    for (float ls : grid) {
      const auto kd = truncated_log_normal_kl(double(mu), double(ls), kA, kB);
      const auto kf = truncated_log_normal_kl(mu, ls, float(kA), float(kB));
      const auto md = truncated_log_normal_moments(double(mu), double(ls), kA, kB);
      const auto mf = truncated_log_normal_moments(mu, ls, float(kA), float(kB));
      bad += !all_finite({kd.value, kd.d_mu, kd.d_log_sigma, md.log_z, md.mean, md.log_mean, md.snr, md.log_snr});
      bad += !all_finite({kf.value, kf.d_mu, kf.d_log_sigma, mf.log_z, mf.mean, mf.log_mean, mf.snr, mf.log_snr});
      disagree += !(close(kf.value, kd.value, 1e-6, 1e-30) && close(kf.d_mu, kd.d_mu, 1e-6, 1e-30) &&
                    close(kf.d_log_sigma, kd.d_log_sigma, 1e-6, 1e-30) && close(mf.mean, md.mean, 1e-6) &&
                    close(mf.snr, md.snr, 1e-6) && close(mf.log_z, md.log_z, 1e-6, 1e-30));
      // KL >= 0, E[theta] in [e^a, e^b]
      order += !(kd.value >= -1e-12 && md.mean >= std::exp(kA) * (1 - 1e-12) && md.mean <= 1.0);
      for (float u : us) {
        const auto sd = truncated_log_normal_sample(double(mu), double(ls), kA, kB, double(u));
        const auto sf = truncated_log_normal_sample(mu, ls, float(kA), float(kB), u);
        bad += !all_finite({sd.log_theta, sd.d_mu, sd.d_log_sigma});
        bad += !all_finite({sf.log_theta, sf.d_mu, sf.d_log_sigma});
        disagree += !(close(sf.log_theta, sd.log_theta, 1e-6, 1e-30) && close(sf.d_mu, sd.d_mu, 1e-6, 1e-30) &&
                      close(sf.d_log_sigma, sd.d_log_sigma, 1e-6, 1e-30));
        // log theta in [a, b] and 0 <= d log theta / d mu <= 1 (the quantile is increasing in mu, X's decreasing)
        order += !(sd.log_theta >= kA && sd.log_theta <= kB && sd.d_mu >= -1e-12 && sd.d_mu <= 1.0 + 1e-12);
      }
    }
  }
  CHECK(bad == 0);
  CHECK(disagree == 0);
  CHECK(order == 0);
  // the double sampler also at the smallest double uniform and at exactly 0
  for (float mu : grid) {
    for (double u : {0.0, 1.1102230246251565e-16}) {
      for (float ls : {-20.0f, -5.0f, 0.0f, 5.0f}) {
        const auto s = truncated_log_normal_sample(double(mu), double(ls), kA, kB, u);
        INFO("mu = " << mu << ", log sigma = " << ls << ", u = " << u);
        CHECK(all_finite({s.log_theta, s.d_mu, s.d_log_sigma}));
      }
    }
  }
}

namespace {
/// Central differences of f at x over a ladder of steps scale * {1e-3 .. 1e-6}; the best error against `analytic`.
double fd_error(const std::function<double(double)>& f, double x, double scale, double analytic) {
  double best = std::numeric_limits<double>::infinity();
  for (double c : {1e-3, 1e-4, 1e-5, 1e-6}) {
    const double h = c * scale;
    const double fd = (f(x + h) - f(x - h)) / (2 * h);
    best = std::fmin(best, std::fabs(fd - analytic));
  }
  return best;
}
}  // namespace

TEST_CASE("KL and sample derivatives match finite differences at random points of the whole range",
          "[math][sbp][gradcheck]") {
  Rng rng(2024);
  int checked = 0;
  for (int i = 0; i < 400; ++i) {
    const double mu = -25.0 + 30.0 * rng.uniform_one(), ls = -20.0 + 25.0 * rng.uniform_one();
    const double u = rng.uniform_one();
    const double sigma = std::exp(ls);
    // mu varies the functions on the scale of sigma near the ends, of the distance to [a, b] outside
    const double dist = mu > kB ? mu - kB : (mu < kA ? kA - mu : 0.0);
    const double scale_mu = std::fmax(sigma, dist);
    const auto k = truncated_log_normal_kl(mu, ls, kA, kB);
    const auto s = truncated_log_normal_sample(mu, ls, kA, kB, u);
    const auto kl_mu = [&](double m) { return truncated_log_normal_kl(m, ls, kA, kB).value; };
    const auto kl_ls = [&](double l) { return truncated_log_normal_kl(mu, l, kA, kB).value; };
    const auto t_mu = [&](double m) { return truncated_log_normal_sample(m, ls, kA, kB, u).log_theta; };
    const auto t_ls = [&](double l) { return truncated_log_normal_sample(mu, l, kA, kB, u).log_theta; };
    // tolerance: 1e-6 relative, plus the rounding of the function values divided by the smallest step
    const auto tol = [](double analytic, double value, double scale) {
      return 1e-6 * std::fabs(analytic) + 1e-9 * (std::fabs(value) + 1e-300) / scale;
    };
    INFO("mu = " << mu << ", log sigma = " << ls << ", u = " << u);
    CHECK(fd_error(kl_mu, mu, scale_mu, k.d_mu) <= tol(k.d_mu, k.value, scale_mu));
    CHECK(fd_error(kl_ls, ls, 1.0, k.d_log_sigma) <= tol(k.d_log_sigma, k.value, 1.0));
    CHECK(fd_error(t_mu, mu, scale_mu, s.d_mu) <= tol(s.d_mu, s.log_theta, scale_mu));
    CHECK(fd_error(t_ls, ls, 1.0, s.d_log_sigma) <= tol(s.d_log_sigma, s.log_theta, 1.0));
    ++checked;
  }
  CHECK(checked == 400);
}
