// Zero padding and stride of Conv2d, SparseVDConv2d and MaxPool2d: every combination below against direct nested
// loops that read the padding as 0 (convolutions) or skip it (pooling), finite-difference gradients in double,
// invalid geometry refused with the layer's name and numbers, and compact() keeping padding and stride.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "bayesdrop/layers/conv2d.hpp"
#include "bayesdrop/layers/flatten.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/max_pool2d.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bayesdrop/models/compact.hpp"
#include "support/direct_conv.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;
using bayesdrop::test::direct_conv;
using bayesdrop::test::direct_pool;

namespace {

struct GeometryCase {
  ImageShape in;
  Index out_channels, kh, kw;
  WindowOptions window;
  Index ho, wo;  ///< the output size, worked out by hand
};

// "same" with kernels 3 and 5 at strides 1 and 2, explicit symmetric and per-side padding, strides per axis,
// padding wider than the kernel (border outputs that read only zeros), non-square inputs, several channels.
const GeometryCase kCases[] = {
    {ImageShape{2, 5, 7}, 3, 3, 3, WindowOptions{}.with_same_padding(), 5, 7},
    {ImageShape{3, 9, 6}, 2, 5, 5, WindowOptions{}.with_same_padding().with_stride(2), 5, 3},
    {ImageShape{2, 8, 7}, 3, 3, 3, WindowOptions{}.with_same_padding().with_stride(2), 4, 4},
    {ImageShape{1, 6, 9}, 2, 5, 3, WindowOptions{}.with_same_padding(), 6, 9},
    {ImageShape{2, 6, 5}, 2, 3, 2, WindowOptions{}.with_padding(1, 0, 2, 1).with_stride(2, 1), 3, 7},
    {ImageShape{1, 10, 8}, 2, 3, 3, WindowOptions{}.with_stride(3), 3, 2},
    {ImageShape{3, 4, 5}, 2, 2, 2, WindowOptions{}.with_padding(1), 5, 6},
    {ImageShape{1, 3, 4}, 2, 2, 3, WindowOptions{}.with_padding(3, 2).with_stride(2, 3), 4, 2},
    {ImageShape{2, 7, 4}, 1, 4, 2, WindowOptions{}.with_padding(0, 2, 1, 0).with_stride(1, 2), 6, 2},
};

std::string describe(const GeometryCase& cs) {
  const auto& w = cs.window;
  return "input " + std::to_string(cs.in.channels) + "x" + std::to_string(cs.in.height) + "x" +
         std::to_string(cs.in.width) + ", kernel " + std::to_string(cs.kh) + "x" + std::to_string(cs.kw) +
         (w.same ? ", same"
                 : ", pad " + std::to_string(w.pad_top) + "/" + std::to_string(w.pad_bottom) + "/" +
                       std::to_string(w.pad_left) + "/" + std::to_string(w.pad_right)) +
         ", stride " + std::to_string(w.stride_h) + "x" + std::to_string(w.stride_w);
}

}  // namespace

TEMPLATE_TEST_CASE("Conv2d with padding and stride equals a direct nested-loop convolution", "[layer][conv][geometry]",
                   float, double) {
  Rng rng(41);
  for (const auto& cs : kCases) {
    INFO(describe(cs));
    Conv2d<TestType> conv(cs.in, cs.out_channels, cs.kh, cs.kw, rng, Conv2dOptions{}.with_window(cs.window));
    rng.normal(conv.bias().value);
    const Conv2dGeometry& g = conv.geometry();
    REQUIRE(conv.output_shape().channels == cs.out_channels);
    REQUIRE(conv.output_shape().height == cs.ho);
    REQUIRE(conv.output_shape().width == cs.wo);
    REQUIRE(conv.output_rows() == cs.out_channels * cs.ho * cs.wo);
    CHECK(conv.sparsity().positions == cs.ho * cs.wo);  // summarize() counts multiply-adds as weights x positions
    Matrix<TestType> x(cs.in.size(), 3), y;
    rng.normal(x);
    conv.forward(x, y, Context::eval());
    const Matrix<TestType> expected = direct_conv(x, g, conv.weight().value, conv.bias().value);
    REQUIRE(y.rows() == expected.rows());
    REQUIRE(y.cols() == expected.cols());
    const double tol = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;
    CHECK((y - expected).cwiseAbs().maxCoeff() < tol * (1 + expected.cwiseAbs().maxCoeff()));
  }
}

TEST_CASE("Conv2d with padding and stride: gradients match finite differences", "[layer][conv][geometry][gradcheck]") {
  Rng rng(42);
  for (const auto& cs : kCases) {
    INFO(describe(cs));
    Conv2d<double> conv(cs.in, cs.out_channels, cs.kh, cs.kw, rng, Conv2dOptions{}.with_window(cs.window));
    rng.normal(conv.bias().value);
    Matrix<double> x(cs.in.size(), 2);
    rng.normal(x);
    const auto in = test::check_input_gradient(conv, x, 3);
    INFO(in.what << ": " << in.error);
    CHECK(in.error < 1e-7);
    const auto params = test::check_parameter_gradients(conv, x, 3);  // weight and bias
    INFO(params.what << ": " << params.error);
    CHECK(params.error < 1e-7);
  }
}

TEST_CASE("im2col with padding and stride: col2im is its adjoint", "[layer][conv][geometry][im2col]") {
  Rng rng(43);
  for (const auto& cs : kCases) {
    INFO(describe(cs));
    const Conv2dGeometry g = cs.window.geometry(cs.in, cs.kh, cs.kw, "test");
    Matrix<double> x(g.input.size(), 3), cols, d, dx;
    rng.normal(x);
    im2col(x, g, cols);
    REQUIRE(cols.rows() == 3 * cs.ho * cs.wo);
    d.resize(cols.rows(), cols.cols());
    rng.normal(d);
    col2im(d, g, dx);
    // <im2col(x), D> = <x, col2im(D)>: the padded entries of cols are 0 and col2im drops their gradient.
    CHECK((cols.array() * d.array()).sum() == Approx((x.array() * dx.array()).sum()).epsilon(1e-12));
  }
}

TEST_CASE("SparseVDConv2d with padding and stride: both products equal nested loops", "[layer][sparsevd][geometry]") {
  Rng rng(44);
  for (const auto& cs : kCases) {
    INFO(describe(cs));
    SparseVDConv2d<double> layer(cs.in, cs.out_channels, cs.kh, cs.kw, rng, SparseVDOptions{}, cs.window);
    REQUIRE(layer.output_shape().height == cs.ho);
    REQUIRE(layer.output_shape().width == cs.wo);
    const Conv2dGeometry& g = layer.geometry();
    // log sigma^2 around -3 so the variance path matters, some weights above the pruning threshold
    rng.normal(layer.log_sigma2().value);
    layer.log_sigma2().value.array() = layer.log_sigma2().value.array() * 2.0 - 3.0;
    rng.normal(layer.bias().value);
    Matrix<double> x(cs.in.size(), 3), y;
    rng.normal(x);
    // Evaluation: conv(x, theta o mask) + b.
    layer.forward(x, y, Context::eval());
    const Matrix<double> eval_expected = direct_conv(x, g, layer.eval_weight(), layer.bias().value);
    CHECK((y - eval_expected).cwiseAbs().maxCoeff() < 1e-12 * (1 + eval_expected.cwiseAbs().maxCoeff()));
    // Training: mu + sqrt(var + 1e-8) eps + b with mu = conv(x, theta), var = conv(x o x, alpha theta^2), and eps the
    // generator's normals drawn as one (C_out*P) x B matrix (the layout of y).
    const Matrix<double> la = layer.log_alpha();
    const Matrix<double> s2 = (la.array().exp() * layer.theta().value.array().square()).matrix();
    const Matrix<double> zero = Matrix<double>::Zero(cs.out_channels, 1);
    const Matrix<double> mu = direct_conv(x, g, layer.theta().value, layer.bias().value);
    const Matrix<double> xsq = x.array().square().matrix();
    const Matrix<double> var = direct_conv(xsq, g, s2, zero);
    Rng noise(7), same(7);
    layer.forward(x, y, Context::train(noise));
    const Index P = cs.ho * cs.wo;
    Matrix<double> eps(cs.out_channels * P, 3);
    same.normal(eps);
    Matrix<double> expected(mu.rows(), mu.cols());
    for (Index n = 0; n < 3; ++n) {
      for (Index o = 0; o < cs.out_channels; ++o) {
        for (Index p = 0; p < P; ++p) {
          const Index row = o * P + p;
          expected(row, n) = mu(row, n) + std::sqrt(var(row, n) + 1e-8) * eps(row, n);
        }
      }
    }
    CHECK((y - expected).cwiseAbs().maxCoeff() < 1e-10 * (1 + expected.cwiseAbs().maxCoeff()));
  }
}

TEST_CASE("SparseVDConv2d with padding and stride: gradients match finite differences",
          "[layer][sparsevd][geometry][gradcheck]") {
  Rng rng(45);
  for (SparseVDVariance variance : {SparseVDVariance::clipped_alpha, SparseVDVariance::sigma2}) {
    for (const auto& cs : kCases) {
      INFO(describe(cs) << (variance == SparseVDVariance::sigma2 ? ", variance sigma2" : ", variance clipped_alpha"));
      SparseVDConv2d<double> layer(cs.in, cs.out_channels, cs.kh, cs.kw, rng, SparseVDOptions{}.with_variance(variance),
                                   cs.window);
      // log alpha spread over (-8, 8) without touching the clip: theta and log sigma^2 both get data gradients
      rng.normal(layer.log_sigma2().value);
      layer.log_sigma2().value.array() = layer.log_sigma2().value.array() - 3.0;
      rng.normal(layer.bias().value);
      Matrix<double> x(cs.in.size(), 2);
      rng.normal(x);
      const auto in = test::check_input_gradient(layer, x, 5);
      INFO(in.what << ": " << in.error);
      CHECK(in.error < 1e-6);
      const auto params = test::check_parameter_gradients(layer, x, 5, 0.3);  // theta, log sigma^2, bias, with KL
      INFO(params.what << ": " << params.error);
      CHECK(params.error < 1e-6);
    }
  }
}

TEMPLATE_TEST_CASE("MaxPool2d with its own window, stride and padding equals nested loops", "[layer][pool][geometry]",
                   float, double) {
  struct PoolCase {
    ImageShape in;
    MaxPool2dOptions options;
    Index ho, wo;
  };
  const PoolCase cases[] = {
      {ImageShape{2, 6, 8}, MaxPool2dOptions{}, 3, 4},                                // LeNet's 2/2
      {ImageShape{1, 7, 7}, MaxPool2dOptions{}.with_kernel(3).with_stride(2), 3, 3},  // overlapping 3/2
      {ImageShape{3, 8, 11}, MaxPool2dOptions{}.with_kernel(3).with_stride(2), 3, 5},
      {ImageShape{2, 6, 9}, MaxPool2dOptions{}.with_kernel(3).with_stride(2).with_padding(1), 3, 5},
      {ImageShape{2, 5, 6}, MaxPool2dOptions{}.with_kernel(3, 2).with_stride(1, 2).with_padding(2, 0, 1, 1), 5, 4},
      {ImageShape{1, 5, 5}, MaxPool2dOptions{}.with_kernel(2).with_stride(1), 4, 4},
  };
  Rng rng(46);
  for (const auto& cs : cases) {
    INFO("input " << cs.in.channels << "x" << cs.in.height << "x" << cs.in.width << ", window " << cs.options.kernel_h
                  << "x" << cs.options.kernel_w);
    MaxPool2d<TestType> pool(cs.in, cs.options);
    REQUIRE(pool.output_shape().channels == cs.in.channels);
    REQUIRE(pool.output_shape().height == cs.ho);
    REQUIRE(pool.output_shape().width == cs.wo);
    Matrix<TestType> x(cs.in.size(), 3), y;
    rng.normal(x);
    pool.forward(x, y, Context::eval());
    CHECK(y == direct_pool(x, cs.in, cs.options));
    if constexpr (std::is_same_v<TestType, double>) {
      // distinct continuous inputs: no ties, so the maximum is differentiable at x
      const auto in = test::check_input_gradient(pool, x, 4);
      INFO(in.what << ": " << in.error);
      CHECK(in.error < 1e-8);
    }
  }
}

TEST_CASE("MaxPool2d 3/2: a maximum shared by overlapping windows receives the sum of their gradients",
          "[layer][pool][geometry]") {
  MaxPool2d<double> pool(ImageShape{1, 5, 5}, MaxPool2dOptions{}.with_kernel(3).with_stride(2));  // 2x2 outputs
  Matrix<double> x(25, 1);
  x << 1, 2, 3, 4, 5,      //
      6, 7, 8, 9, 10,      //
      11, 12, 99, 13, 14,  //
      15, 16, 17, 18, 19,  //
      20, 21, 22, 23, 24;
  Matrix<double> y, dx = Matrix<double>::Constant(25, 1, -5.0), dy(4, 1);
  Rng rng(3);
  pool.forward(x, y, Context::train(rng));
  CHECK(y == Matrix<double>::Constant(4, 1, 99.0));  // the centre pixel is in all four windows
  dy << 1, 10, 100, 1000;
  pool.backward(x, dy, &dx);
  Matrix<double> expected = Matrix<double>::Zero(25, 1);
  expected(12) = 1111;
  CHECK(dx == expected);
}

TEST_CASE("Invalid convolution and pooling geometry is refused with the layer's name and numbers",
          "[layer][conv][pool][geometry]") {
  Rng rng(47);
  // kernel larger than the padded input
  CHECK_THROWS_WITH(Conv2d<float>(ImageShape{1, 3, 4}, 2, 5, rng, Conv2dOptions{}.with_padding(0, 1)),
                    Catch::Contains("Conv2d") && Catch::Contains("5x5") && Catch::Contains("3x4 image padded to 3x6"));
  CHECK_NOTHROW(Conv2d<float>(ImageShape{1, 3, 4}, 2, 5, rng, Conv2dOptions{}.with_padding(1)));
  CHECK_THROWS_WITH(SparseVDConv2d<float>(ImageShape{1, 3, 4}, 2, 5, rng),
                    Catch::Contains("SparseVDConv2d") && Catch::Contains("5x5") && Catch::Contains("fit inside"));
  // zero or negative stride
  CHECK_THROWS_WITH(Conv2d<float>(ImageShape{1, 5, 5}, 2, 3, rng, Conv2dOptions{}.with_stride(0, 1)),
                    Catch::Contains("Conv2d") && Catch::Contains("stride") && Catch::Contains("0x1"));
  CHECK_THROWS_WITH(SparseVDConv2d<float>(ImageShape{1, 5, 5}, 2, 3, rng, {}, WindowOptions{}.with_stride(-2)),
                    Catch::Contains("SparseVDConv2d") && Catch::Contains("stride") && Catch::Contains("-2x-2"));
  // negative padding
  CHECK_THROWS_WITH(Conv2d<float>(ImageShape{1, 5, 5}, 2, 3, rng, Conv2dOptions{}.with_padding(0, 0, -1, 0)),
                    Catch::Contains("Conv2d") && Catch::Contains("padding") && Catch::Contains("left -1"));
  // "same" needs an odd kernel
  CHECK_THROWS_WITH(Conv2d<float>(ImageShape{1, 5, 5}, 2, 4, 3, rng, Conv2dOptions{}.with_same_padding()),
                    Catch::Contains("Conv2d") && Catch::Contains("same") && Catch::Contains("4x3"));
  CHECK_THROWS_WITH(SparseVDConv2d<float>(ImageShape{1, 5, 5}, 2, 2, rng, {}, WindowOptions{}.with_same_padding()),
                    Catch::Contains("SparseVDConv2d") && Catch::Contains("same") && Catch::Contains("2x2"));
  // pooling: zero stride, zero window, padding as wide as the window, window larger than the padded image
  CHECK_THROWS_WITH(MaxPool2d<float>(ImageShape{1, 6, 6}, MaxPool2dOptions{}.with_kernel(3).with_stride(0)),
                    Catch::Contains("MaxPool2d") && Catch::Contains("stride") && Catch::Contains("0x0"));
  CHECK_THROWS_WITH(MaxPool2d<float>(ImageShape{1, 6, 6}, MaxPool2dOptions{}.with_kernel(0, 2)),
                    Catch::Contains("MaxPool2d") && Catch::Contains("0x2"));
  CHECK_THROWS_WITH(MaxPool2d<float>(ImageShape{1, 6, 6}, MaxPool2dOptions{}.with_kernel(2).with_padding(0, 2)),
                    Catch::Contains("MaxPool2d") && Catch::Contains("smaller than the 2x2 window"));
  CHECK_THROWS_WITH(MaxPool2d<float>(ImageShape{1, 2, 6}, MaxPool2dOptions{}.with_kernel(4).with_padding(0, 1)),
                    Catch::Contains("MaxPool2d") && Catch::Contains("4x4") && Catch::Contains("padded to 2x8"));
  CHECK_THROWS_WITH(MaxPool2d<float>(ImageShape{1, 6, 6}, MaxPool2dOptions{}.with_padding(-1)),
                    Catch::Contains("MaxPool2d") && Catch::Contains("top -1"));
}

TEST_CASE("The default constructors keep valid padding and stride 1 (pooling: stride = window)",
          "[layer][conv][pool][geometry]") {
  Rng rng(48);
  Conv2d<float> conv(ImageShape{2, 9, 7}, 3, 4, 2, rng);
  const Conv2dGeometry& g = conv.geometry();
  CHECK_FALSE(g.padded());
  CHECK(g.stride_h == 1);
  CHECK(g.stride_w == 1);
  CHECK(conv.output_shape().height == 6);
  CHECK(conv.output_shape().width == 6);
  SparseVDConv2d<float> svd(ImageShape{2, 9, 7}, 3, 5, rng);
  CHECK(svd.output_shape().height == 5);
  CHECK(svd.output_shape().width == 3);
  MaxPool2d<float> pool(ImageShape{2, 9, 7}, 3);
  CHECK(pool.geometry().stride_h == 3);
  CHECK(pool.geometry().stride_w == 3);
  CHECK(pool.output_shape().height == 3);
  CHECK(pool.output_shape().width == 2);
}

TEST_CASE("compact() keeps the padding and stride of convolutions and pooling", "[models][compact][geometry]") {
  Rng rng(49);
  Sequential<double> model;
  auto& c1 = model.emplace<SparseVDConv2d>(ImageShape{2, 9, 8}, 4, 3, rng, SparseVDOptions{},
                                           WindowOptions{}.with_same_padding().with_stride(2));  // 4x5x4
  auto& pool =
      model.emplace<MaxPool2d>(ImageShape{4, 5, 4}, MaxPool2dOptions{}.with_kernel(3).with_stride(2).with_padding(1));
  model.emplace<ReLU>(Index(4 * 3 * 2));
  auto& c2 =
      model.emplace<Conv2d>(ImageShape{4, 3, 2}, 3, 2, rng, Conv2dOptions{}.with_padding(1, 0).with_stride(1, 2));
  model.emplace<Flatten>(c2.output_shape());
  model.emplace<Linear>(c2.output_shape().size(), 5, rng);
  REQUIRE(pool.output_shape().height == 3);
  REQUIRE(pool.output_shape().width == 2);
  // Prune: input channel 1 of c1 entirely, a few more weights; channel 3's filter keeps one weight.
  rng.normal(c1.bias().value);
  Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic> keep(4, 18);
  for (Index i = 0; i < keep.size(); ++i) keep(i) = rng.uniform_one() < 0.7;
  keep.middleCols(9, 9) = false;
  keep.row(3) = false;
  keep(3, 0) = true;
  auto& t = c1.theta().value;
  t = t.array().sign() * (t.array().abs() * 0.1 + 0.05);
  c1.log_sigma2().value = (10.0 - 20.0 * keep.cast<double>()).matrix();
  Sequential<double> small = compact(model);
  Matrix<double> x(model.input_rows(), 6);
  rng.normal(x);
  const Matrix<double> want = model.forward(x, Context::eval());
  const Matrix<double> got = small.forward(x, Context::eval());
  REQUIRE(got.rows() == want.rows());
  CHECK((got - want).cwiseAbs().maxCoeff() < 1e-10 * (1 + want.cwiseAbs().maxCoeff()));
  bool saw_conv = false, saw_pool = false;
  for (Index i = 0; i < small.size(); ++i) {
    if (const auto* c = dynamic_cast<const Conv2d<double>*>(&small.layer(i))) {
      const Conv2dGeometry& g = c->geometry();
      if (!saw_conv) {  // c1, rebuilt on input channel 0 only
        CHECK(g.input.channels == 1);
        CHECK(g.pad_top == 1);
        CHECK(g.pad_left == 1);
        CHECK(g.stride_h == 2);
      }
      saw_conv = true;
    }
    if (const auto* p = dynamic_cast<const MaxPool2d<double>*>(&small.layer(i))) {
      CHECK(p->geometry().stride_h == 2);
      CHECK(p->geometry().pad_top == 1);
      CHECK(p->output_shape().height == 3);
      saw_pool = true;
    }
  }
  CHECK(saw_conv);
  CHECK(saw_pool);
}

TEST_CASE("compact() refuses to fold a constant channel into a zero-padded convolution",
          "[models][compact][geometry]") {
  Rng rng(50);
  for (const bool padded : {false, true}) {
    Sequential<double> model;
    auto& c1 = model.emplace<SparseVDConv2d>(ImageShape{1, 6, 6}, 2, 3, rng);  // 2x4x4
    model.emplace<ReLU>(Index(32));
    Conv2dOptions o;
    if (padded) o.with_padding(1);
    auto& c2 = model.emplace<Conv2d>(ImageShape{2, 4, 4}, 2, 3, rng, o);
    model.emplace<Flatten>(c2.output_shape());
    model.emplace<Linear>(c2.output_shape().size(), 3, rng);
    c1.log_sigma2().value.setConstant(-10.0);
    c1.log_sigma2().value.row(1).setConstant(10.0);  // channel 1 pruned: the constant relu(bias)
    c1.bias().value << 0.0, 0.7;
    INFO((padded ? "padded" : "valid") << " second convolution");
    if (padded) {
      CHECK_THROWS_WITH(compact(model),
                        Catch::Contains("Conv2d") && Catch::Contains("padding") && Catch::Contains("channel 1"));
    } else {
      Sequential<double> small = compact(model);
      Matrix<double> x(36, 4);
      rng.normal(x);
      const Matrix<double> want = model.forward(x, Context::eval());
      const Matrix<double> got = small.forward(x, Context::eval());
      CHECK((got - want).cwiseAbs().maxCoeff() < 1e-10 * (1 + want.cwiseAbs().maxCoeff()));
    }
  }
}
