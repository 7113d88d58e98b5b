#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/math/kl_sparse_vd.hpp"
#include "support/direct_conv.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;
using bayesdrop::test::direct_conv;

template class bayesdrop::SparseVDLinear<float>;
template class bayesdrop::SparseVDLinear<double>;
template class bayesdrop::SparseVDConv2d<float>;
template class bayesdrop::SparseVDConv2d<double>;
template class bayesdrop::detail::SparseVDPosterior<float>;
template class bayesdrop::detail::SparseVDPosterior<double>;

namespace {

/// Sets log sigma^2 so that the unclipped log alpha equals `la`: log sigma^2 = la + log(theta^2 + 1e-8).
template <class L, class Scalar>
void set_log_alpha(L& layer, const Matrix<Scalar>& la) {
  layer.log_sigma2().value =
      (la.array() + (layer.theta().value.array().square() + Scalar(kSparseVDLogAlphaEpsilon)).log()).matrix();
}

/// theta entries of magnitude 0.1 .. ~1.5 with random signs (away from 0, where log alpha is steep).
template <class L>
void set_theta(L& layer, Rng& rng) {
  auto& t = layer.theta().value;
  rng.normal(t);
  t = (t.array().sign() * (0.1 + 0.5 * t.array().abs())).matrix();
}

/// log alpha in [lo, hi] (uniform), for every weight.
Matrix<double> uniform_matrix(Index rows, Index cols, double lo, double hi, Rng& rng) {
  Matrix<double> m(rows, cols);
  rng.uniform(m);
  return (lo + (hi - lo) * m.array()).matrix();
}

/// log alpha away from the clip bounds, from the threshold 3, and (when `pruned`) with some weights beyond it:
/// each entry in [-5, 1.5], or with probability 1/3 in [4.5, 7] when pruned is true.
Matrix<double> test_log_alpha(Index rows, Index cols, bool pruned, Rng& rng) {
  Matrix<double> la = uniform_matrix(rows, cols, -5.0, 1.5, rng);
  if (pruned) {
    const Matrix<double> high = uniform_matrix(rows, cols, 4.5, 7.0, rng);
    const Matrix<double> pick = uniform_matrix(rows, cols, 0.0, 1.0, rng);
    la = (pick.array() < 1.0 / 3.0).select(high, la);
  }
  return la;
}

/// Running mean and variance per entry (Welford), for the Monte Carlo comparisons.
struct Moments {
  Matrix<double> mean, m2;
  Index n = 0;
  void add(const Matrix<double>& v) {
    if (n == 0) {
      mean = Matrix<double>::Zero(v.rows(), v.cols());
      m2 = mean;
    }
    ++n;
    const Matrix<double> delta = v - mean;
    mean += delta / double(n);
    m2 += (delta.array() * (v - mean).array()).matrix();
  }
  Matrix<double> variance() const { return m2 / double(n - 1); }
};

/// Checks two Gaussian samples' moments agree within 5 standard errors, entry by entry.
void check_same_moments(const Moments& a, const Moments& b) {
  const Matrix<double> va = a.variance(), vb = b.variance();
  for (Index i = 0; i < va.size(); ++i) {
    const double se_mean = std::sqrt(va(i) / double(a.n) + vb(i) / double(b.n));
    // Var(sample variance) = 2 sigma^4 / (n - 1) for Gaussian samples.
    const double se_var = std::sqrt(2 * va(i) * va(i) / double(a.n - 1) + 2 * vb(i) * vb(i) / double(b.n - 1));
    INFO("entry " << i << ": means " << a.mean(i) << " vs " << b.mean(i) << ", variances " << va(i) << " vs " << vb(i));
    CHECK(std::abs(a.mean(i) - b.mean(i)) < 5 * se_mean);
    CHECK(std::abs(va(i) - vb(i)) < 5 * se_var);
  }
}

const SparseVDVariance kVarianceForms[] = {SparseVDVariance::clipped_alpha, SparseVDVariance::sigma2};

}  // namespace

// --- construction, parameters, options ---------------------------------------------------------------------------

TEMPLATE_TEST_CASE("sparse VD layers have theta, log_sigma2 and bias with the authors' initialisation",
                   "[layer][sparse_vd]", float, double) {
  Rng rng(41);
  SparseVDLinear<TestType> dense(400, 300, rng);
  CHECK(dense.name() == "SparseVDLinear");
  CHECK(dense.input_rows() == 400);
  CHECK(dense.output_rows() == 300);
  const auto params = dense.parameters();
  REQUIRE(params.size() == 3);
  CHECK(params[0]->name == "theta");
  CHECK(params[0]->role == ParamRole::weight);
  CHECK(params[1]->name == "log_sigma2");
  CHECK(params[1]->role == ParamRole::noise);
  CHECK(params[2]->name == "bias");
  CHECK(params[2]->role == ParamRole::bias);
  CHECK(dense.theta().value.rows() == 300);
  CHECK(dense.theta().value.cols() == 400);
  CHECK((dense.log_sigma2().value.array() == TestType(-10)).all());
  CHECK(dense.bias().value.isZero());
  // theta ~ N(0, 0.01^2): the sample variance is within 5 standard errors (sqrt(2/n) relative) of 1e-4.
  const double n = double(dense.theta().value.size());
  const double var = dense.theta().value.template cast<double>().squaredNorm() / n;
  CHECK(std::abs(var / 1e-4 - 1) < 5 * std::sqrt(2 / n));

  SparseVDConv2d<TestType> conv(ImageShape{3, 12, 10}, 8, 5, 3, rng);
  CHECK(conv.name() == "SparseVDConv2d");
  CHECK(conv.theta().value.rows() == 8);
  CHECK(conv.theta().value.cols() == 45);
  CHECK(conv.output_shape().height == 8);
  CHECK(conv.output_shape().width == 8);
  CHECK(conv.output_rows() == 8 * 64);
  const double limit = std::sqrt(6.0 / (45.0 + 8 * 15.0));  // Glorot uniform, fans C_in kh kw and C_out kh kw
  CHECK(double(conv.theta().value.cwiseAbs().maxCoeff()) <= limit);
  CHECK(double(conv.theta().value.cwiseAbs().maxCoeff()) > 0.8 * limit);
  CHECK((conv.log_sigma2().value.array() == TestType(-10)).all());

  SparseVDLinear<TestType> custom(5, 4, rng,
                                  SparseVDOptions{}
                                      .with_init(Init::zeros())
                                      .with_log_sigma2_init(-6)
                                      .with_bias(false)
                                      .with_threshold(2.5)
                                      .with_train_mask(true)
                                      .with_variance(SparseVDVariance::sigma2));
  CHECK(custom.parameters().size() == 2);
  CHECK_FALSE(custom.has_bias());
  CHECK(custom.theta().value.isZero());
  CHECK((custom.log_sigma2().value.array() == TestType(-6)).all());
  CHECK(custom.options().threshold == 2.5);
  CHECK(custom.options().train_mask);
  CHECK(custom.options().variance == SparseVDVariance::sigma2);
}

TEST_CASE("sparse VD layers reject bad sizes, options and shapes with clear errors", "[layer][sparse_vd]") {
  Rng rng(42);
  CHECK_THROWS_AS(SparseVDLinear<float>(0, 3, rng), InvalidArgument);
  CHECK_THROWS_WITH(SparseVDLinear<float>(3, -2, rng), Catch::Contains("SparseVDLinear") && Catch::Contains("out"));
  CHECK_THROWS_AS(SparseVDOptions{}.with_threshold(std::nan("")), InvalidArgument);
  CHECK_THROWS_WITH(SparseVDOptions{}.with_threshold(9), Catch::Contains("threshold") && Catch::Contains("[-8, 8]"));
  CHECK_THROWS_WITH(SparseVDOptions{}.with_log_sigma2_init(INFINITY), Catch::Contains("log_sigma2_init"));
  SparseVDOptions bad;
  bad.threshold = -20;  // set directly: the constructor validates too
  CHECK_THROWS_WITH(SparseVDLinear<float>(3, 2, rng, bad),
                    Catch::Contains("SparseVDLinear") && Catch::Contains("threshold"));
  CHECK_THROWS_WITH(SparseVDConv2d<float>(ImageShape{1, 5, 5}, 2, 3, rng, bad),
                    Catch::Contains("SparseVDConv2d") && Catch::Contains("threshold"));
  CHECK_THROWS_AS(SparseVDConv2d<float>(ImageShape{1, 5, 5}, 0, 3, rng), InvalidArgument);
  CHECK_THROWS_WITH(SparseVDConv2d<float>(ImageShape{2, 4, 6}, 3, 5, 2, rng),
                    Catch::Contains("SparseVDConv2d") && Catch::Contains("fit inside"));
  CHECK_THROWS_AS(SparseVDConv2d<float>(ImageShape{2, 0, 6}, 3, 1, rng), InvalidArgument);

  SparseVDLinear<float> dense(4, 3, rng);
  Matrix<float> x = Matrix<float>::Zero(5, 2), y;
  CHECK_THROWS_WITH(dense.forward(x, y, Context::eval()),
                    Catch::Contains("SparseVDLinear") && Catch::Contains("5 rows"));
  Matrix<float> good = Matrix<float>::Zero(4, 2), dy = Matrix<float>::Zero(3, 2), dx;
  CHECK_THROWS_AS(dense.backward(good, dy, &dx), ShapeError);  // no training forward yet
  CHECK_THROWS_WITH(dense.forward(good, y, Context{Mode::train, nullptr}),
                    Catch::Contains("SparseVDLinear") && Catch::Contains("Rng"));
  dense.forward(good, y, Context::train(rng));
  Matrix<float> dy_bad = Matrix<float>::Zero(3, 3);
  CHECK_THROWS_AS(dense.backward(good, dy_bad, &dx), ShapeError);

  SparseVDConv2d<float> conv(ImageShape{1, 5, 5}, 2, 3, rng);
  Matrix<float> img = Matrix<float>::Zero(25, 2), dimg = Matrix<float>::Zero(18, 2);
  CHECK_THROWS_AS(conv.backward(img, dimg, &dx), ShapeError);  // no training forward yet
  CHECK_THROWS_WITH(conv.forward(img, y, Context{Mode::train, nullptr}), Catch::Contains("SparseVDConv2d"));
}

// --- modes -----------------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("sparse VD evaluation is deterministic and masks log alpha >= 3; training repeats by seed",
                   "[layer][sparse_vd]", float, double) {
  Rng rng(43);
  SparseVDLinear<TestType> dense(7, 5, rng);
  set_theta(dense, rng);
  {
    const Matrix<double> la = test_log_alpha(5, 7, true, rng);
    set_log_alpha(dense, Matrix<TestType>(la.cast<TestType>()));
  }
  rng.normal(dense.bias().value);
  Matrix<TestType> x(7, 6), y1, y2;
  rng.normal(x);

  // Evaluation: deterministic, draws nothing even when given a generator, equals the masked mean weights.
  Rng probe(5), fresh(5);
  dense.forward(x, y1, Context::eval(probe));
  dense.forward(x, y2, Context::eval());
  CHECK(y1 == y2);
  CHECK(probe.next_u64() == fresh.next_u64());
  const Matrix<TestType> w = dense.eval_weight();
  const Matrix<TestType> la = dense.log_alpha();
  for (Index i = 0; i < w.size(); ++i) {
    CHECK(w(i) == (la(i) >= TestType(3) ? TestType(0) : dense.theta().value(i)));
  }
  CHECK((w.array() == TestType(0)).count() > 0);
  const Matrix<TestType> expected = (w * x).colwise() + dense.bias().value.col(0);
  CHECK(y1.isApprox(expected, TestType(1e-5)));

  // Training: the same seed repeats exactly, another seed differs, and the noise is on.
  Rng a(9), b(9), c(10);
  Matrix<TestType> t1, t2, t3;
  dense.forward(x, t1, Context::train(a));
  dense.forward(x, t2, Context::train(b));
  dense.forward(x, t3, Context::train(c));
  CHECK(t1 == t2);
  CHECK(t1 != t3);
  CHECK(t1 != y1);

  SparseVDConv2d<TestType> conv(ImageShape{2, 6, 5}, 3, 3, 2, rng);
  {
    const Matrix<double> lac = test_log_alpha(3, 12, true, rng);
    set_log_alpha(conv, Matrix<TestType>(lac.cast<TestType>()));
  }
  Matrix<TestType> img(60, 4), c1, c2;
  rng.normal(img);
  conv.forward(img, c1, Context::eval());
  conv.forward(img, c2, Context::eval());
  CHECK(c1 == c2);
  const Matrix<double> direct =
      direct_conv(img.template cast<double>(), ImageShape{2, 6, 5}, conv.eval_weight().template cast<double>(),
                  conv.bias().value.template cast<double>(), 3, 2);
  CHECK((c1.template cast<double>() - direct).cwiseAbs().maxCoeff() < 1e-5);
  Rng d(3), e(3), f(4);
  conv.forward(img, c1, Context::train(d));
  conv.forward(img, c2, Context::train(e));
  CHECK(c1 == c2);
  conv.forward(img, c2, Context::train(f));
  CHECK(c1 != c2);
}

TEST_CASE("sparse VD training with train_mask uses the masked mean, without it the full theta", "[layer][sparse_vd]") {
  // Same parameters and the same noise: the two outputs differ by exactly (theta_masked - theta) x, since the
  // variance path uses the unmasked weights in both (the authors' code).
  Rng rng(44);
  for (SparseVDVariance form : kVarianceForms) {
    INFO("variance form " << int(form));
    const auto opts = SparseVDOptions{}.with_variance(form);
    SparseVDLinear<double> masked(6, 4, rng, SparseVDOptions(opts).with_train_mask(true)), plain(6, 4, rng, opts);
    set_theta(masked, rng);
    set_log_alpha(masked, test_log_alpha(4, 6, true, rng));
    rng.normal(masked.bias().value);
    plain.theta().value = masked.theta().value;
    plain.log_sigma2().value = masked.log_sigma2().value;
    plain.bias().value = masked.bias().value;
    const Matrix<double> diff_w = masked.eval_weight() - masked.theta().value;
    REQUIRE(diff_w.cwiseAbs().maxCoeff() > 0);
    Matrix<double> x(6, 3), ym, yp;
    rng.normal(x);
    Rng r1(3), r2(3);
    masked.forward(x, ym, Context::train(r1));
    plain.forward(x, yp, Context::train(r2));
    CHECK(((ym - yp) - diff_w * x).cwiseAbs().maxCoeff() < 1e-12);

    const ImageShape shape{2, 5, 4};
    SparseVDConv2d<double> cmasked(shape, 3, 2, 3, rng, SparseVDOptions(opts).with_train_mask(true));
    SparseVDConv2d<double> cplain(shape, 3, 2, 3, rng, opts);
    set_theta(cmasked, rng);
    set_log_alpha(cmasked, test_log_alpha(3, 12, true, rng));
    cplain.theta().value = cmasked.theta().value;
    cplain.log_sigma2().value = cmasked.log_sigma2().value;
    const Matrix<double> cdiff = cmasked.eval_weight() - cmasked.theta().value;
    REQUIRE(cdiff.cwiseAbs().maxCoeff() > 0);
    Matrix<double> img(40, 2), cm, cp;
    rng.normal(img);
    Rng r3(4), r4(4);
    cmasked.forward(img, cm, Context::train(r3));
    cplain.forward(img, cp, Context::train(r4));
    const Matrix<double> expected = direct_conv(img, shape, cdiff, Matrix<double>::Zero(3, 1), 2, 3);
    CHECK(((cm - cp) - expected).cwiseAbs().maxCoeff() < 1e-12);
  }
}

// --- gradients -----------------------------------------------------------------------------------------------------

TEST_CASE("SparseVDLinear gradients match finite differences", "[layer][sparse_vd][gradcheck]") {
  Rng rng(45);
  for (SparseVDVariance form : kVarianceForms) {
    for (bool mask : {false, true}) {
      for (bool bias : {true, false}) {
        SparseVDLinear<double> dense(6, 4, rng,
                                     SparseVDOptions{}.with_variance(form).with_train_mask(mask).with_bias(bias));
        set_theta(dense, rng);
        set_log_alpha(dense, test_log_alpha(4, 6, mask, rng));
        if (bias) rng.normal(dense.bias().value);
        Matrix<double> x(6, 3);
        rng.normal(x);
        INFO("variance form " << int(form) << ", train_mask " << mask << ", bias " << bias);
        const auto in = test::check_input_gradient(dense, x, 7);
        INFO(in.what << ": " << in.error);
        CHECK(in.error < 1e-6);
        const auto params = test::check_parameter_gradients(dense, x, 7);
        INFO(params.what << ": " << params.error);
        CHECK(params.error < 1e-6);
        const auto with_kl = test::check_parameter_gradients(dense, x, 7, 0.37);
        INFO(with_kl.what << " (with KL): " << with_kl.error);
        CHECK(with_kl.error < 1e-6);
        const auto kl = test::check_kl_gradient(dense);
        INFO(kl.what << ": " << kl.error);
        CHECK(kl.error < 1e-6);
      }
    }
  }
}

TEST_CASE("SparseVDConv2d gradients match finite differences", "[layer][sparse_vd][gradcheck]") {
  Rng rng(46);
  for (SparseVDVariance form : kVarianceForms) {
    for (bool mask : {false, true}) {
      SparseVDConv2d<double> conv(ImageShape{2, 5, 6}, 3, 3, 2, rng,
                                  SparseVDOptions{}.with_variance(form).with_train_mask(mask));
      set_theta(conv, rng);
      set_log_alpha(conv, test_log_alpha(3, 12, mask, rng));
      rng.normal(conv.bias().value);
      Matrix<double> x(60, 2);
      rng.normal(x);
      INFO("variance form " << int(form) << ", train_mask " << mask);
      const auto in = test::check_input_gradient(conv, x, 8);
      INFO(in.what << ": " << in.error);
      CHECK(in.error < 1e-6);
      const auto params = test::check_parameter_gradients(conv, x, 8, 0.37);
      INFO(params.what << ": " << params.error);
      CHECK(params.error < 1e-6);
      const auto kl = test::check_kl_gradient(conv);
      INFO(kl.what << ": " << kl.error);
      CHECK(kl.error < 1e-6);
    }
  }
}

TEST_CASE("sparse VD gradients stop at the log alpha clip (hard clamp)", "[layer][sparse_vd]") {
  Rng rng(47);
  SparseVDLinear<double> dense(3, 2, rng);  // default: clipped_alpha variance
  set_theta(dense, rng);
  Matrix<double> la(2, 3);
  la << -9.0, -2.0, 9.5,  //
      1.0, -12.0, 8.5;
  set_log_alpha(dense, la);
  Matrix<double> x(3, 4), y, dy(2, 4);
  rng.normal(x);
  rng.normal(dy);
  dense.forward(x, y, Context::train(rng));
  dense.backward(x, dy, nullptr);
  dense.kl_backward(1.0);
  const Matrix<double>& g = dense.log_sigma2().grad;
  CHECK(g(0, 0) == 0.0);
  CHECK(g(0, 2) == 0.0);
  CHECK(g(1, 1) == 0.0);
  CHECK(g(1, 2) == 0.0);
  CHECK(g(0, 1) != 0.0);
  CHECK(g(1, 0) != 0.0);
  // The KL sees the clipped value: KL(-8) for -9 and -12, KL(8) for 9.5 and 8.5.
  const double expected = 2 * sparse_vd_kl(-8.0) + sparse_vd_kl(-2.0) + sparse_vd_kl(1.0) + 2 * sparse_vd_kl(8.0);
  CHECK(dense.kl() == Approx(expected).epsilon(1e-9));
  // At the clip the KL has no gradient for theta either: only the data term moves it.
  dense.theta().zero_grad();
  dense.kl_backward(1.0);
  CHECK(dense.theta().grad(0, 0) == 0.0);
  CHECK(dense.theta().grad(1, 2) == 0.0);
  CHECK(dense.theta().grad(0, 1) != 0.0);
}

TEST_CASE("sparse VD backward accumulates parameter gradients and overwrites dx", "[layer][sparse_vd]") {
  Rng rng(48);
  SparseVDLinear<double> dense(5, 3, rng);
  Matrix<double> x(5, 4), y, dy(3, 4), dx = Matrix<double>::Constant(2, 2, 7.0);
  rng.normal(x);
  rng.normal(dy);
  dense.forward(x, y, Context::train(rng));
  dense.backward(x, dy, &dx);
  std::vector<Matrix<double>> once;
  for (auto* p : dense.parameters()) once.push_back(p->grad);
  const Matrix<double> dx_once = dx;
  REQUIRE(dx.rows() == 5);
  dense.backward(x, dy, &dx);
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(dense.parameters()[i]->grad.isApprox(2 * once[i]));
  CHECK(dx == dx_once);
  dense.backward(x, dy, nullptr);
  CHECK(dense.theta().grad.isApprox(3 * once[0]));
  // kl_backward adds coeff * dKL/dtheta.
  for (auto* p : dense.parameters()) p->zero_grad();
  dense.kl_backward(0.5);
  const Matrix<double> half = dense.log_sigma2().grad;
  dense.kl_backward(1.5);
  CHECK(dense.log_sigma2().grad.isApprox(4 * half));
  CHECK(dense.bias().grad.isZero());
}

TEST_CASE("SparseVDConv2d on a large batch equals SparseVDConv2d on each image alone", "[layer][sparse_vd]") {
  // 30 images of 100 output positions, in 16 image groups (each with its own gradient sums). With the sigma2
  // form and log sigma^2 = -200, the variance path's terms of dx and d theta carry a factor sigma^2 = e^-200, so
  // those gradients do not depend on the noise, and the outputs differ only by the noise sqrt(1e-8) eps.
  Rng rng(55);
  SparseVDConv2d<double> conv(ImageShape{2, 12, 12}, 3, 3, rng,
                              SparseVDOptions{}.with_variance(SparseVDVariance::sigma2).with_log_sigma2_init(-200));
  rng.normal(conv.bias().value);
  Matrix<double> x(288, 30), y, dy, dx;
  rng.normal(x);
  conv.forward(x, y, Context::train(rng));
  dy.resize(y.rows(), y.cols());
  rng.normal(dy);
  conv.backward(x, dy, &dx);
  const Matrix<double> dtheta = conv.theta().grad;
  conv.theta().zero_grad();
  for (Index j = 0; j < 30; ++j) {
    Matrix<double> xj = x.col(j), yj, dyj = dy.col(j), dxj;
    conv.forward(xj, yj, Context::train(rng));
    CHECK((yj - y.col(j)).cwiseAbs().maxCoeff() < 1e-3);  // the noise sd is 1e-4
    conv.backward(xj, dyj, &dxj);
    CHECK((dxj - dx.col(j)).cwiseAbs().maxCoeff() < 1e-9);
  }
  CHECK((conv.theta().grad - dtheta).cwiseAbs().maxCoeff() < 1e-9);
}

// --- local reparameterisation ------------------------------------------------------------------------------------

TEST_CASE("SparseVDLinear pre-activations have the moments of w x with w ~ N(theta, sigma^2)",
          "[layer][sparse_vd][statistics]") {
  const Index in = 5, out = 3, examples = 4, n = 20000;
  for (SparseVDVariance form : kVarianceForms) {
    INFO("variance form " << int(form));
    Rng rng(49);
    SparseVDLinear<double> dense(in, out, rng, SparseVDOptions{}.with_variance(form));
    set_theta(dense, rng);
    set_log_alpha(dense, uniform_matrix(out, in, -2.0, 1.0, rng));
    rng.normal(dense.bias().value);
    Matrix<double> x(in, examples);
    rng.normal(x);
    // sigma^2 of each weight, as the chosen form defines it.
    const Matrix<double> s2 =
        form == SparseVDVariance::sigma2
            ? Matrix<double>(dense.log_sigma2().value.array().exp().matrix())
            : Matrix<double>((dense.log_alpha().array().exp() * dense.theta().value.array().square()).matrix());
    // The layer: one forward over n copies of every example.
    Matrix<double> big(in, examples * n), y;
    for (Index j = 0; j < n; ++j) big.middleCols(j * examples, examples) = x;
    dense.forward(big, y, Context::train(rng));
    Moments lrt, weights;
    for (Index j = 0; j < n; ++j) lrt.add(y.middleCols(j * examples, examples));
    // Whole weight matrices: w = theta + sigma o eps, then w x + b.
    Rng wrng(50);
    Matrix<double> eps(out, in);
    for (Index j = 0; j < n; ++j) {
      wrng.normal(eps);
      const Matrix<double> w = dense.theta().value + (s2.array().sqrt() * eps.array()).matrix();
      weights.add((w * x).colwise() + dense.bias().value.col(0));
    }
    check_same_moments(lrt, weights);
    // And both match the closed form: mean theta x + b, variance S (x o x).
    const Matrix<double> mean = (dense.theta().value * x).colwise() + dense.bias().value.col(0);
    const Matrix<double> var = s2 * x.array().square().matrix();
    const Matrix<double> v = lrt.variance();
    for (Index i = 0; i < mean.size(); ++i) {
      CHECK(std::abs(lrt.mean(i) - mean(i)) < 5 * std::sqrt(var(i) / double(n)));
      CHECK(std::abs(v(i) - var(i)) < 5 * var(i) * std::sqrt(2.0 / double(n - 1)));
    }
  }
}

TEST_CASE("SparseVDConv2d pre-activations have the moments of conv(x, w) with w ~ N(theta, sigma^2)",
          "[layer][sparse_vd][statistics]") {
  const ImageShape shape{2, 4, 5};
  const Index kh = 3, kw = 2, cout = 2, examples = 2, n = 20000;
  Rng rng(51);
  SparseVDConv2d<double> conv(shape, cout, kh, kw, rng);
  set_theta(conv, rng);
  set_log_alpha(conv, uniform_matrix(cout, 12, -2.0, 1.0, rng));
  rng.normal(conv.bias().value);
  Matrix<double> x(shape.size(), examples);
  rng.normal(x);
  const Matrix<double> s2 = (conv.log_alpha().array().exp() * conv.theta().value.array().square()).matrix();
  Matrix<double> big(shape.size(), examples * n), y;
  for (Index j = 0; j < n; ++j) big.middleCols(j * examples, examples) = x;
  conv.forward(big, y, Context::train(rng));
  REQUIRE(y.rows() == cout * 2 * 4);
  Moments lrt, weights;
  for (Index j = 0; j < n; ++j) lrt.add(y.middleCols(j * examples, examples));
  Rng wrng(52);
  Matrix<double> eps(cout, 12);
  for (Index j = 0; j < n; ++j) {
    wrng.normal(eps);
    const Matrix<double> w = conv.theta().value + (s2.array().sqrt() * eps.array()).matrix();
    weights.add(direct_conv(x, shape, w, conv.bias().value, kh, kw));
  }
  check_same_moments(lrt, weights);
}

// --- KL and sparsity ---------------------------------------------------------------------------------------------

TEST_CASE("sparse VD kl() is the sum of the per-weight approximation at the clipped log alpha", "[layer][sparse_vd]") {
  Rng rng(53);
  SparseVDLinear<double> dense(6, 4, rng);
  set_theta(dense, rng);
  set_log_alpha(dense, uniform_matrix(4, 6, -10.0, 10.0, rng));
  const Matrix<double> la = dense.log_alpha();
  CHECK(la.maxCoeff() <= 8.0);
  CHECK(la.minCoeff() >= -8.0);
  double expected = 0;
  for (Index i = 0; i < la.size(); ++i) expected += sparse_vd_kl(la(i));
  CHECK(dense.kl() == Approx(expected).epsilon(1e-12));
  CHECK(dense.kl() > 0);
  SparseVDConv2d<float> conv(ImageShape{1, 4, 4}, 2, 2, rng);
  // At initialisation log sigma^2 = -10, so each weight's KL is KL(-10 - log(theta^2 + 1e-8)).
  double expected_f = 0;
  for (Index i = 0; i < conv.theta().value.size(); ++i) {
    expected_f += sparse_vd_kl(sparse_vd_log_alpha(double(conv.theta().value(i)), -10.0));
  }
  CHECK(double(conv.kl()) == Approx(expected_f).epsilon(1e-5));
}

TEMPLATE_TEST_CASE("sparse VD sparsity counts kept weights, compression and empty inputs and outputs",
                   "[layer][sparse_vd]", float, double) {
  Rng rng(54);
  // Dense 4 -> 3 with theta = 1 (so log alpha = log sigma^2 up to 1e-8).
  SparseVDLinear<TestType> dense(4, 3, rng);
  dense.theta().value.setOnes();
  Matrix<TestType> la(3, 4);
  la << 5, -1, 5, 0,   // output 0 keeps inputs 1 and 3
      5, 5, 7, 5,      // output 1 keeps nothing
      0, 2.9, 5, 3.1;  // output 2 keeps inputs 0 and 1; 3.1 is pruned
  set_log_alpha(dense, la);
  const SparsityStats s = dense.sparsity();
  CHECK(s.units_in == 4);
  CHECK(s.active_in == 3);  // input 2 has no weight left
  CHECK(s.weights == 12);
  CHECK(s.active_weights == 4);
  CHECK(s.compression() == Approx(3.0));
  CHECK(dense.active_outputs() == 2);
  Matrix<TestType> kept(3, 4);
  kept << 0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0;
  CHECK(dense.eval_weight() == kept);
  // The evaluation forward uses exactly these weights: with x = I its output is W_eval + b.
  rng.normal(dense.bias().value);
  Matrix<TestType> y;
  dense.forward(Matrix<TestType>::Identity(4, 4), y, Context::eval());
  CHECK(y == Matrix<TestType>(kept.colwise() + dense.bias().value.col(0)));
  // The threshold is an option.
  SparseVDLinear<TestType> loose(4, 3, rng, SparseVDOptions{}.with_threshold(6));
  loose.theta().value.setOnes();
  set_log_alpha(loose, la);
  CHECK(loose.sparsity().active_weights == 11);
  CHECK(loose.active_outputs() == 3);

  // Conv: 3 input channels, 2x2 kernel, 3 output channels; columns 4c .. 4c+3 belong to input channel c.
  SparseVDConv2d<TestType> conv(ImageShape{3, 4, 4}, 3, 2, rng);
  conv.theta().value.setOnes();
  Matrix<TestType> lac = Matrix<TestType>::Constant(3, 12, TestType(5));
  lac(0, 1) = -2;    // output 0, input channel 0
  lac(1, 2) = 0;     // output 1, input channel 0
  lac(0, 9) = 2.9;   // output 0, input channel 2
  lac(2, 10) = 3.1;  // pruned: output 2 keeps nothing
  set_log_alpha(conv, lac);
  const SparsityStats c = conv.sparsity();
  CHECK(c.units_in == 3);
  CHECK(c.active_in == 2);  // input channel 1 is empty
  CHECK(c.weights == 36);
  CHECK(c.active_weights == 3);
  CHECK(c.compression() == Approx(12.0));
  CHECK(conv.active_outputs() == 2);  // output channel 2 is empty
  Matrix<double> kept_conv = Matrix<double>::Zero(3, 12);
  kept_conv(0, 1) = kept_conv(1, 2) = kept_conv(0, 9) = 1;
  CHECK(conv.eval_weight().template cast<double>() == kept_conv);
  Matrix<TestType> img(48, 3), yc;
  rng.normal(img);
  conv.forward(img, yc, Context::eval());
  const Matrix<double> expected =
      direct_conv(img.template cast<double>(), ImageShape{3, 4, 4}, kept_conv, Matrix<double>::Zero(3, 1), 2, 2);
  CHECK((yc.template cast<double>() - expected).cwiseAbs().maxCoeff() < 1e-5);
  // Everything pruned: compression stays finite, nothing is active.
  set_log_alpha(conv, Matrix<TestType>(Matrix<TestType>::Constant(3, 12, TestType(7))));
  CHECK(conv.sparsity().active_weights == 0);
  CHECK(conv.sparsity().active_in == 0);
  CHECK(conv.active_outputs() == 0);
  CHECK(conv.sparsity().compression() == Approx(36.0));
}

TEST_CASE("SparseVDConv2d gives the same outputs and gradients for any thread count", "[layer][sparse_vd]") {
  // The noise is drawn before the threads start, and the image groups' gradient sums are added in group order.
  const int saved = Eigen::nbThreads();
  Matrix<double> y[2], dx[2], dtheta[2], dls2[2];
  for (int t = 0; t < 2; ++t) {
    Eigen::setNbThreads(t + 1);
    Rng rng(56);
    SparseVDConv2d<double> conv(ImageShape{3, 10, 9}, 4, 3, rng);
    Matrix<double> x(conv.input_rows(), 37), dy(conv.output_rows(), 37);
    rng.normal(x);
    rng.normal(dy);
    conv.forward(x, y[t], Context::train(rng));
    conv.backward(x, dy, &dx[t]);
    dtheta[t] = conv.theta().grad;
    dls2[t] = conv.log_sigma2().grad;
  }
  Eigen::setNbThreads(saved);
  CHECK(y[0] == y[1]);
  CHECK(dx[0] == dx[1]);
  CHECK(dtheta[0] == dtheta[1]);
  CHECK(dls2[0] == dls2[1]);
}
