// BetaBernoulliDropout (layers/beta_bernoulli_dropout.hpp): modes, noise structure, gradients (common random
// numbers), KL anchors, n_active on hand-set parameters, option validation.
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

template class bayesdrop::BetaBernoulliDropout<float>;
template class bayesdrop::BetaBernoulliDropout<double>;

namespace {

double softplus(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
double inverse_softplus(double y) {
  return y > 30 ? y + std::log(-std::expm1(-y)) : std::log(std::expm1(y));
}

// raw_a and raw_b spread over a range where no pi is clamped at the test's seeds and every unit is open.
template <class Scalar>
void randomise(BetaBernoulliDropout<Scalar>& layer, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<Scalar> r(layer.units(), 1);
  rng.uniform(r);
  layer.raw_a().value.array() = Scalar(-0.5) + Scalar(2) * r.array();  // a in (0.47, 1.7)
  rng.uniform(r);
  layer.raw_b().value.array() = Scalar(-1) + Scalar(2.5) * r.array();  // b in (0.31, 1.7)
}

}  // namespace

TEMPLATE_TEST_CASE("BetaBernoulliDropout has per-unit noise parameters with the documented defaults", "[layer][bbd]",
                   float, double) {
  Rng rng(1);
  BetaBernoulliDropout<TestType> dense(7, rng);
  CHECK(dense.name() == "BetaBernoulliDropout");
  CHECK(dense.units() == 7);
  CHECK(dense.input_rows() == 7);
  CHECK(dense.output_rows() == 7);
  const auto params = dense.parameters();
  REQUIRE(params.size() == 2);
  CHECK(params[0]->name == "raw_a");
  CHECK(params[1]->name == "raw_b");
  for (auto* p : params) {
    CHECK(p->role == ParamRole::noise);
    CHECK(p->value.rows() == 7);
    CHECK(p->value.cols() == 1);
  }
  // a = softplus(-1) = 0.31326, b = softplus(0.5413) = 0.99998
  CHECK(dense.a().isApprox(Vector<TestType>::Constant(7, TestType(0.31326168751822)), TestType(1e-6)));
  CHECK(dense.b().isApprox(Vector<TestType>::Constant(7, TestType(0.99998428896002)), TestType(1e-6)));
  CHECK(dense.expected_pi().isApprox(Vector<TestType>::Constant(7, TestType(0.23854135655689)), TestType(1e-6)));
  CHECK(dense.n_active() == 7);
  CHECK(dense.sparsity().units_in == 7);
  CHECK(dense.sparsity().active_in == 7);
  CHECK(dense.options().threshold == kBetaBernoulliPiThreshold);

  BetaBernoulliDropout<TestType> conv(ImageShape{3, 4, 5}, rng);
  CHECK(conv.units() == 3);
  CHECK(conv.spatial() == 20);
  CHECK(conv.input_rows() == 60);
  CHECK(conv.raw_a().value.rows() == 3);
}

TEMPLATE_TEST_CASE("BetaBernoulliDropout: evaluation is deterministic and multiplies by E[pi] above the threshold",
                   "[layer][bbd]", float, double) {
  Rng rng(2);
  for (bool channels : {false, true}) {
    auto layer =
        channels ? BetaBernoulliDropout<TestType>(ImageShape{3, 2, 2}, rng) : BetaBernoulliDropout<TestType>(12, rng);
    randomise(layer, 3);
    layer.raw_a().value(0, 0) = TestType(-12);  // a = 6e-6, b = 1.31: E[pi] ~ Gamma(b + 1) a^b ~ 2e-7, below 1e-3
    layer.raw_b().value(0, 0) = TestType(1);
    Matrix<TestType> x(12, 5), y1, y2;
    rng.normal(x);
    layer.forward(x, y1, Context::eval());  // no generator needed
    layer.forward(x, y2, Context::eval());
    CHECK(y1 == y2);
    const Vector<TestType> gate = layer.eval_gate();
    CHECK(gate(0) == TestType(0));
    CHECK(layer.n_active() == layer.units() - 1);
    const Index spatial = 12 / layer.units();
    for (Index j = 0; j < x.cols(); ++j) {
      for (Index i = 0; i < x.rows(); ++i) CHECK(y1(i, j) == x(i, j) * gate(i / spatial));
    }
    // a generator in the context changes nothing in evaluation
    Rng other(99);
    layer.forward(x, y2, Context::eval(other));
    CHECK(y1 == y2);
  }
}

TEMPLATE_TEST_CASE("BetaBernoulliDropout: training noise is reproducible from the seed and needs a generator",
                   "[layer][bbd]", float, double) {
  Rng init(4);
  BetaBernoulliDropout<TestType> layer(10, init);
  Matrix<TestType> x(10, 8), y1, y2, y3;
  init.uniform(x);
  Rng r1(5), r2(5), r3(6);
  layer.forward(x, y1, Context::train(r1));
  layer.forward(x, y2, Context::train(r2));
  layer.forward(x, y3, Context::train(r3));
  CHECK(y1 == y2);
  CHECK(y1 != y3);
  CHECK(y1.rows() == 10);
  CHECK(y1.cols() == 8);
  // y = x z with z in [0, 1]
  CHECK((y1.array() >= 0).all());
  CHECK((y1.array() <= x.array()).all());
  CHECK_THROWS_WITH(layer.forward(x, y1, Context{Mode::train, nullptr}),
                    Catch::Contains("BetaBernoulliDropout") && Catch::Contains("Rng"));
}

TEST_CASE("BetaBernoulliDropout draws pi once per minibatch and the relaxed gate once per example",
          "[layer][bbd][statistics]") {
  // For the relaxed Bernoulli, P(z > 1/2 | pi) = P(logit(v) > -logit(pi)) = P(v > 1 - pi) = pi exactly, so the
  // fraction of examples with z > 1/2 in a unit estimates that unit's single pi of the batch (binomial error).
  Rng rng(7);
  BetaBernoulliDropout<double> layer(6, rng);
  randomise(layer, 8);
  const Index batch = 20000;
  const Matrix<double> x = Matrix<double>::Ones(6, batch);
  Matrix<double> z;
  layer.forward(x, z, Context::train(rng));
  const Vector<double> pi = layer.sampled_pi();
  REQUIRE(pi.size() == 6);
  for (Index k = 0; k < 6; ++k) {
    const double open = (z.row(k).array() > 0.5).cast<double>().mean();
    const double se = std::sqrt(pi(k) * (1 - pi(k)) / double(batch));
    INFO("unit " << k << ": pi " << pi(k) << ", fraction open " << open << ", se " << se);
    CHECK(std::abs(open - pi(k)) < 5 * se + 1e-12);
    CHECK(pi(k) > 0.0);
    CHECK(pi(k) < 1.0);
  }
  // the gates differ between examples, and the next batch draws a new pi
  CHECK(z.row(0).minCoeff() < 0.01);
  CHECK(z.row(0).maxCoeff() > 0.99);
  layer.forward(x, z, Context::train(rng));
  CHECK((layer.sampled_pi() - pi).cwiseAbs().minCoeff() > 0);

  // channels: one gate per example and channel, shared by the channel's values
  BetaBernoulliDropout<double> conv(ImageShape{3, 2, 2}, rng);
  const Matrix<double> ones = Matrix<double>::Ones(12, 50);
  Matrix<double> y;
  conv.forward(ones, y, Context::train(rng));
  for (Index j = 0; j < 50; ++j) {
    for (Index c = 0; c < 3; ++c) {
      for (Index s = 1; s < 4; ++s) CHECK(y(c * 4 + s, j) == y(c * 4, j));
    }
  }
  // One gate per example: the gates strictly inside (0, 1) come from distinct uniforms and all differ. A gate rounds to
  // exactly 1 when (logit(pi) + logit(v)) / tau exceeds about 37, as for a good share of the examples of a channel
  // whose pi is near 1 (14 of channel 0's 50 at this seed, pi = 0.94), and those repeat.
  std::set<double> distinct;
  Index inside = 0;
  for (Index c = 0; c < 3; ++c) {
    for (Index j = 0; j < 50; ++j) {
      const double g = y(c * 4, j);
      if (g > 0 && g < 1) {
        ++inside;
        distinct.insert(g);
      }
    }
  }
  CHECK(inside > 75);  // most gates are not saturated, so the next check has power
  CHECK(Index(distinct.size()) == inside);
}

TEST_CASE("BetaBernoulliDropout training forward is the reference formula, replayed from the generator",
          "[layer][bbd]") {
  // The layer draws `units` uniforms u for pi, then units x B uniforms v, and computes
  //   pi = clamp((1 - u^(1/b))^(1/a), 1e-6, 1 - 1e-6),  z = sigmoid((logit(pi) + logit(v)) / tau),  y = x z
  // (u and v clamped to [1e-6, 1 - 1e-6]); recomputed here naively from the same stream, for an integer 1/tau (the
  // squaring path) and non-integer ones (the log/exp path).
  for (double tau : {0.1, 0.5, 0.3, 0.37, 1.7}) {
    Rng init(23);
    BetaBernoulliDropout<double> layer(7, init, BetaBernoulliOptions{}.with_temperature(tau));
    randomise(layer, 24);
    Matrix<double> x(7, 9), y;
    init.normal(x);
    Rng rng(25);
    layer.forward(x, y, Context::train(rng));
    Rng replay(25);
    Vector<double> u(7);
    Matrix<double> v(7, 9);
    replay.uniform(u);
    replay.uniform(v);
    const Vector<double> a = layer.a(), b = layer.b();
    auto clamp = [](double t) { return std::min(std::max(t, 1e-6), 1 - 1e-6); };
    for (Index k = 0; k < 7; ++k) {
      const double pi = clamp(std::pow(1 - std::pow(clamp(u(k)), 1 / b(k)), 1 / a(k)));
      INFO("tau " << tau << " unit " << k);
      CHECK(layer.sampled_pi()(k) == Approx(pi).epsilon(1e-12));
      for (Index n = 0; n < 9; ++n) {
        const double vn = clamp(v(k, n));
        const double z = 1 / (1 + std::exp(-(std::log(pi / (1 - pi)) + std::log(vn / (1 - vn))) / tau));
        CHECK(y(k, n) == Approx(x(k, n) * z).epsilon(1e-10).margin(1e-14));
      }
    }
  }
}

TEST_CASE("BetaBernoulliDropout gradients match finite differences at other temperatures, float stays finite",
          "[layer][bbd][gradcheck]") {
  for (double tau : {0.5, 0.37, 2.0}) {
    Rng rng(26);
    BetaBernoulliDropout<double> layer(8, rng, BetaBernoulliOptions{}.with_temperature(tau));
    randomise(layer, 27);
    Matrix<double> x(8, 5);
    rng.normal(x);
    INFO("tau " << tau);
    const auto in = test::check_input_gradient(layer, x, 28);
    INFO(in.what << ": " << in.error);
    CHECK(in.error < 1e-6);
    const auto params = test::check_parameter_gradients(layer, x, 28, 0.2);
    INFO(params.what << ": " << params.error);
    CHECK(params.error < 1e-6);
  }
  // float: pi comes from the same double uniforms as in double (the per-example uniforms differ: float ones have 24
  // bits), and the gradients are finite
  Rng r1(29), r2(29);
  BetaBernoulliDropout<float> f(6, r1);
  BetaBernoulliDropout<double> d(6, r2);
  randomise(f, 30);
  d.raw_a().value = f.raw_a().value.cast<double>();
  d.raw_b().value = f.raw_b().value.cast<double>();
  Matrix<float> xf = Matrix<float>::Ones(6, 4), yf, dyf = Matrix<float>::Ones(6, 4), dxf;
  Matrix<double> xd = Matrix<double>::Ones(6, 4), yd;
  Rng nf(31), nd(31);
  f.forward(xf, yf, Context::train(nf));
  d.forward(xd, yd, Context::train(nd));
  CHECK(f.sampled_pi().cast<double>().isApprox(d.sampled_pi(), 1e-6));
  f.backward(xf, dyf, &dxf);
  CHECK(f.raw_a().grad.allFinite());
  CHECK(f.raw_b().grad.allFinite());
  CHECK(dxf == yf);  // x = dy = 1: dx = dy z = y
}

TEST_CASE("BetaBernoulliDropout gradients match finite differences (common random numbers)",
          "[layer][bbd][gradcheck]") {
  for (auto kind : {DigammaKind::exact, DigammaKind::approximate}) {
    for (bool channels : {false, true}) {
      Rng rng(11);
      const auto options = BetaBernoulliOptions{}.with_digamma(kind).with_alpha(0.05);
      auto layer = channels ? BetaBernoulliDropout<double>(ImageShape{3, 2, 2}, rng, options)
                            : BetaBernoulliDropout<double>(9, rng, options);
      randomise(layer, 12);
      Matrix<double> x(layer.input_rows(), 4);
      rng.normal(x);
      INFO((channels ? "channels" : "dense")
           << ", " << (kind == DigammaKind::exact ? "exact" : "approximate") << " digamma");
      const auto in = test::check_input_gradient(layer, x, 13);
      INFO(in.what << ": " << in.error);
      CHECK(in.error < 1e-6);
      const auto params = test::check_parameter_gradients(layer, x, 13, 0.37);
      INFO(params.what << ": " << params.error);
      CHECK(params.error < 1e-6);
      const auto kl = test::check_kl_gradient(layer);
      INFO(kl.what << ": " << kl.error);
      CHECK(kl.error < 1e-6);
      // the noise path alone (kl_coeff 0) is checked as well, so that a wrong KL cannot mask it
      const auto noise_only = test::check_parameter_gradients(layer, x, 14, 0.0);
      INFO(noise_only.what << ": " << noise_only.error);
      CHECK(noise_only.error < 1e-6);
    }
  }
}

TEST_CASE("BetaBernoulliDropout backward accumulates parameter gradients and overwrites dx", "[layer][bbd]") {
  Rng rng(15);
  BetaBernoulliDropout<double> layer(5, rng);
  Matrix<double> x(5, 6), y, dy(5, 6), dx = Matrix<double>::Constant(5, 6, 99.0);
  rng.normal(x);
  rng.normal(dy);
  layer.forward(x, y, Context::train(rng));
  layer.backward(x, dy, &dx);
  const Matrix<double> once_a = layer.raw_a().grad, once_b = layer.raw_b().grad, dx_once = dx;
  CHECK(once_a.norm() > 0);
  layer.backward(x, dy, &dx);
  CHECK(layer.raw_a().grad.isApprox(2 * once_a));
  CHECK(layer.raw_b().grad.isApprox(2 * once_b));
  CHECK(dx == dx_once);
  // dx = dy * z, z = y / x
  CHECK(dx.isApprox(dy.cwiseProduct(y.cwiseQuotient(x))));
  layer.backward(x, dy, nullptr);
  CHECK(layer.raw_a().grad.isApprox(3 * once_a));
  // kl_backward adds coeff * dKL
  const Matrix<double> before = layer.raw_b().grad;
  layer.kl_backward(0.0);
  CHECK(layer.raw_b().grad == before);
  layer.kl_backward(2.0);
  layer.kl_backward(-2.0);
  CHECK(layer.raw_b().grad.isApprox(before));
}

TEST_CASE("BetaBernoulliDropout KL equals units times its anchor", "[layer][bbd][kl]") {
  Rng rng(16);
  BetaBernoulliDropout<double> exact(50, rng);
  CHECK(exact.kl() == Approx(50 * 7.0499533480393839).epsilon(1e-12));
  BetaBernoulliDropout<double> approx(50, rng, BetaBernoulliOptions::assignment().with_raw_b_init(0.5413));
  CHECK(approx.kl() == Approx(50 * 7.0492700500305645).epsilon(1e-12));
  BetaBernoulliDropout<double> b_ln2(
      ImageShape{20, 3, 3}, rng, BetaBernoulliOptions{}.with_raw_b_init(0.0).with_digamma(DigammaKind::approximate));
  CHECK(b_ln2.kl() == Approx(20 * 7.3453931737097287).epsilon(1e-12));
  BetaBernoulliDropout<float> f(50, rng);
  CHECK(double(f.kl()) == Approx(50 * 7.0499533480393839).epsilon(1e-6));
  // alpha enters as -log(alpha): a larger alpha lowers the KL at the initialisation
  BetaBernoulliDropout<double> wide(50, rng, BetaBernoulliOptions{}.with_alpha(1e-2));
  CHECK(wide.kl() < exact.kl());
}

TEST_CASE("BetaBernoulliDropout counts n_active right on hand-set parameters", "[layer][bbd]") {
  // a = 1 makes the Kumaraswamy a Beta(1, b): E[pi] = 1 / (1 + b)
  const std::vector<double> b = {1, 49, 199, 0.25, 1999, 9};  // E[pi] = 0.5, 0.02, 0.005, 0.8, 0.0005, 0.1
  auto build = [&](BetaBernoulliOptions options) {
    Rng rng(17);
    BetaBernoulliDropout<double> layer(6, rng, options);
    for (Index k = 0; k < 6; ++k) {
      layer.raw_a().value(k, 0) = inverse_softplus(1.0);
      layer.raw_b().value(k, 0) = inverse_softplus(b[std::size_t(k)]);
    }
    return layer;
  };
  auto layer = build(BetaBernoulliOptions{});  // threshold 1e-3
  const Vector<double> m = layer.expected_pi();
  for (Index k = 0; k < 6; ++k) CHECK(m(k) == Approx(1 / (1 + b[std::size_t(k)])).epsilon(1e-12));
  CHECK(layer.n_active() == 5);
  CHECK(layer.sparsity().active_in == 5);
  CHECK(layer.sparsity().fraction_in_kept() == Approx(5.0 / 6.0));
  auto coarse = build(BetaBernoulliOptions::assignment());  // threshold 1e-2
  CHECK(coarse.n_active() == 4);
  const Vector<double> g = coarse.eval_gate();
  CHECK(g(0) == m(0));
  CHECK(g(1) == m(1));
  CHECK(g(2) == 0.0);
  CHECK(g(3) == m(3));
  CHECK(g(4) == 0.0);
  CHECK(g(5) == m(5));
  Matrix<double> x = Matrix<double>::Ones(6, 3), y;
  coarse.forward(x, y, Context::eval());
  CHECK(y.col(2) == g);
  CHECK(build(BetaBernoulliOptions{}.with_threshold(0.5)).n_active() == 1);
  CHECK(build(BetaBernoulliOptions{}.with_threshold(0.0)).n_active() == 6);

  // the boundary: a threshold exactly at a unit's E[pi] keeps it only with >=
  const double at = m(5);
  auto strict = build(BetaBernoulliOptions{}.with_threshold(at));
  auto inclusive =
      build(BetaBernoulliOptions{}.with_threshold(at).with_boundary(BetaBernoulliOptions::Boundary::greater_equal));
  CHECK(strict.n_active() == 2);     // 0.5, 0.8
  CHECK(inclusive.n_active() == 3);  // and 0.1
  CHECK(strict.eval_gate()(5) == 0.0);
  CHECK(inclusive.eval_gate()(5) == at);
}

TEST_CASE("BetaBernoulliOptions::assignment() is the course assignment's configuration", "[layer][bbd]") {
  const auto o = BetaBernoulliOptions::assignment();
  CHECK(o.threshold == 1e-2);
  CHECK(o.digamma_kind == DigammaKind::approximate);
  CHECK(o.alpha == 1e-4);
  CHECK(o.temperature == 0.1);
  CHECK(o.raw_a_init == -1.0);
  CHECK(o.raw_b_kind == BetaBernoulliOptions::BInit::glorot_uniform);
  CHECK(o.boundary == BetaBernoulliOptions::Boundary::greater);
  // Glorot uniform for a [K] vector: U(-sqrt(3/K), sqrt(3/K)), drawn from the constructor's generator
  Rng r1(18), r2(18), r3(19);
  BetaBernoulliDropout<double> l1(300, r1, o), l2(300, r2, o), l3(300, r3, o);
  const double limit = std::sqrt(3.0 / 300);
  CHECK(l1.raw_b().value.cwiseAbs().maxCoeff() <= limit);
  CHECK(l1.raw_b().value.cwiseAbs().maxCoeff() > 0.9 * limit);
  CHECK(std::abs(l1.raw_b().value.mean()) < 5 * limit / std::sqrt(3.0 * 300));
  CHECK(l1.raw_b().value == l2.raw_b().value);
  CHECK(l1.raw_b().value != l3.raw_b().value);
  CHECK((l1.raw_a().value.array() == -1.0).all());
  // the defaults are the later code base's
  const BetaBernoulliOptions d;
  CHECK(d.threshold == 1e-3);
  CHECK(d.digamma_kind == DigammaKind::exact);
  CHECK(d.raw_b_kind == BetaBernoulliOptions::BInit::constant);
  CHECK(d.raw_b_init == 0.5413);
  CHECK(softplus(d.raw_b_init) == Approx(1.0).epsilon(2e-5));
}

TEST_CASE("BetaBernoulliDropout rejects invalid options and shapes with clear errors", "[layer][bbd]") {
  using O = BetaBernoulliOptions;
  CHECK_THROWS_AS(O{}.with_alpha(0.0), InvalidArgument);
  CHECK_THROWS_WITH(O{}.with_alpha(-1e-4), Catch::Contains("alpha") && Catch::Contains("> 0"));
  CHECK_THROWS_AS(O{}.with_alpha(std::nan("")), InvalidArgument);
  CHECK_THROWS_AS(O{}.with_alpha(INFINITY), InvalidArgument);
  CHECK_THROWS_WITH(O{}.with_temperature(0.0), Catch::Contains("temperature"));
  CHECK_THROWS_AS(O{}.with_temperature(-0.1), InvalidArgument);
  CHECK_THROWS_WITH(O{}.with_threshold(1.0), Catch::Contains("threshold") && Catch::Contains("[0, 1)"));
  CHECK_THROWS_AS(O{}.with_threshold(-1e-3), InvalidArgument);
  CHECK_THROWS_AS(O{}.with_threshold(std::nan("")), InvalidArgument);
  CHECK_THROWS_WITH(O{}.with_raw_a_init(INFINITY), Catch::Contains("raw_a_init"));
  CHECK_THROWS_WITH(O{}.with_raw_b_init(std::nan("")), Catch::Contains("raw_b_init"));
  CHECK_NOTHROW(O{}.with_threshold(0.0).with_alpha(1.0).with_temperature(2.0));

  // fields set directly are checked by the constructor
  Rng rng(20);
  O bad;
  bad.alpha = 0;
  CHECK_THROWS_WITH(BetaBernoulliDropout<float>(4, rng, bad), Catch::Contains("alpha"));
  bad = O{};
  bad.temperature = 0;
  CHECK_THROWS_AS(BetaBernoulliDropout<double>(ImageShape{2, 3, 3}, rng, bad), InvalidArgument);
  bad = O{};
  bad.threshold = 1.5;
  CHECK_THROWS_WITH(BetaBernoulliDropout<float>(4, rng, bad), Catch::Contains("threshold"));

  CHECK_THROWS_AS(BetaBernoulliDropout<float>(0, rng), InvalidArgument);
  CHECK_THROWS_AS(BetaBernoulliDropout<float>(ImageShape{0, 2, 2}, rng), InvalidArgument);

  BetaBernoulliDropout<float> layer(4, rng);
  Matrix<float> x(5, 3), y;
  CHECK_THROWS_WITH(layer.forward(x, y, Context::eval()),
                    Catch::Contains("BetaBernoulliDropout") && Catch::Contains("5 rows"));
  Matrix<float> good = Matrix<float>::Ones(4, 3), dy = Matrix<float>::Ones(4, 3), dx;
  CHECK_THROWS_WITH(layer.backward(good, dy, &dx), Catch::Contains("training forward"));  // no training forward yet
  layer.forward(good, y, Context::train(rng));
  Matrix<float> wrong(4, 2);
  CHECK_THROWS_AS(layer.backward(good, wrong, &dx), ShapeError);
  Matrix<float> other_batch = Matrix<float>::Ones(4, 5), dy5 = Matrix<float>::Ones(4, 5);
  CHECK_THROWS_AS(layer.backward(other_batch, dy5, &dx), ShapeError);
}

TEST_CASE("BetaBernoulliDropout in float agrees with double in evaluation and KL", "[layer][bbd]") {
  Rng r1(21), r2(21);
  BetaBernoulliDropout<float> f(40, r1, BetaBernoulliOptions::assignment());
  BetaBernoulliDropout<double> d(40, r2, BetaBernoulliOptions::assignment());
  randomise(f, 22);
  d.raw_a().value = f.raw_a().value.cast<double>();
  d.raw_b().value = f.raw_b().value.cast<double>();
  CHECK(f.expected_pi().cast<double>().isApprox(d.expected_pi(), 1e-6));
  CHECK(double(f.kl()) == Approx(d.kl()).epsilon(1e-6));
  CHECK(f.n_active() == d.n_active());
}
