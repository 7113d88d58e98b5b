// core/gemm.hpp: every product shape Linear uses equals Eigen's product within float rounding, at the MLP's shapes
// and at awkward ones, and gives the same bits on 1, 2 and 8 threads on either back end; so do products
// on maps with a leading dimension larger than their rows, and the layers whose products go through the back end
// (Conv2d, SparseVDConv2d and SparseVDLinear in float) against the same computation written with Eigen's products.
#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/core/gemm.hpp"
#include "bayesdrop/layers/conv2d.hpp"
#include "bayesdrop/layers/im2col.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"

using namespace bayesdrop;

namespace {

Matrix<float> random_matrix(Index rows, Index cols, Rng& rng) {
  Matrix<float> m(rows, cols);
  rng.uniform(m);
  m.array() -= 0.5f;
  return m;
}

/// |got - want| / |want| in the Frobenius norm.
[[maybe_unused]] double relative_error(const Matrix<float>& got, const Matrix<float>& want) {
  return double((got - want).norm() / want.norm());
}

/// Float rounding of a k-term dot product, with room: oneDNN sums in another order than Eigen. Summed in another
/// order, a k-term float dot product moves by about sqrt(k) u |x| |y| (u = 2^-24 = 6e-8), 1.3e-6 at the largest
/// k here (500, a convolution's patch); the bound k u is 3e-5, reached only when every rounding goes the same way.
/// A wrong operand, transpose or leading dimension gives errors of order 1.
constexpr double kTolerance = 1e-5;

/// The product equals Eigen's expression within rounding: oneDNN sums in its own order, and the Eigen path cuts a
/// large product into parts (product_split), whose depth blocking may differ from the whole product's.
void check_equal(const Matrix<float>& got, const Matrix<float>& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  CHECK(relative_error(got, want) < kTolerance);
}

/// (out, in, batch): the MLP 784-500-300-10 at batch 100, and shapes with a single row, column or inner term.
const Index kShapes[][3] = {{500, 784, 100}, {300, 500, 100}, {10, 300, 100}, {7, 3, 1}, {1, 5, 9}, {6, 1, 4}};

}  // namespace

TEST_CASE("the product back end is named", "[gemm]") {
  const std::string name = product_backend();
#ifdef BAYESDROP_ONEDNN
  CHECK(name == "onednn");
#else
  CHECK(name == "eigen");
#endif
}

TEST_CASE("every product shape of Linear equals Eigen's, at 1 and 2 threads", "[gemm]") {
  const int threads = GENERATE(1, 2);
  Eigen::setNbThreads(threads);
  Rng rng(7);
  ForwardProduct<float> forward;
  WeightGradProduct<float> weight_grad;
  InputGradProduct<float> input_grad;
  OuterProduct<float> outer;
  for (const auto& shape : kShapes) {  // one object for all shapes: a changed shape makes a new primitive
    const Index out = shape[0], in = shape[1], batch = shape[2];
    INFO("out " << out << ", in " << in << ", batch " << batch << ", threads " << threads);
    const Matrix<float> w = random_matrix(out, in, rng), x = random_matrix(in, batch, rng);
    const Matrix<float> dy = random_matrix(out, batch, rng), dw0 = random_matrix(out, in, rng);

    Matrix<float> y, want;
    forward(w, x, y);  // y = W x
    want.noalias() = w * x;
    check_equal(y, want);

    Matrix<float> dw = dw0;
    weight_grad(dy, x, dw);  // dW += dy x^T, twice: it accumulates
    weight_grad(dy, x, dw);
    want = dw0;
    want.noalias() += dy * x.transpose();
    want.noalias() += dy * x.transpose();
    check_equal(dw, want);

    Matrix<float> dx = Matrix<float>::Constant(3, 3, 99.f);  // wrong shape: overwritten and resized
    input_grad(w, dy, dx);                                   // dx = W^T dy
    want.noalias() = w.transpose() * dy;
    check_equal(dx, want);

    Matrix<float> h;
    outer(dy, x, h);  // H = dy x^T
    want.noalias() = dy * x.transpose();
    check_equal(h, want);
  }
  Eigen::setNbThreads(0);
}

TEST_CASE("product_split cuts along the longer side into a power of two of parts that cover it", "[gemm]") {
  const ProductSplit small = product_split(10, 100, 300);  // 300k multiply-adds: one part
  CHECK(small.parts == 1);
  CHECK(small.block == 100);                                  // never past the side
  const ProductSplit forward = product_split(500, 100, 784);  // the MLP's first layer: rows, 2 parts of 250
  CHECK(forward.by_rows);
  CHECK(forward.parts == 2);
  CHECK(product_split(2048, 100, 784).parts == 16);  // a wide layer: 16 parts of 128 rows
  CHECK(product_split(100, 100, 300).parts == 2);    // 50 rows each: a cut in two needs 32
  CHECK(forward.block % 8 == 0);
  CHECK(forward.block * (forward.parts - 1) < 500);
  CHECK(forward.block * forward.parts >= 500);
  const ProductSplit grad = product_split(300, 784, 100);  // a weight gradient: columns, 4 parts of 196
  CHECK_FALSE(grad.by_rows);
  CHECK(grad.parts == 4);
  CHECK(grad.block * grad.parts >= 784);
  const ProductSplit thin = product_split(20, 1, 1 << 20);  // a long depth but 20 rows: never parts under 16 rows
  CHECK(thin.parts == 1);
  CHECK(product_split(0, 5, 7).parts == 1);  // an empty result
  CHECK(product_split(5, 0, 7).parts == 1);
}

TEST_CASE("products with an empty side give empty or zero results", "[gemm]") {
  Rng rng(12);
  const Matrix<float> w = random_matrix(6, 0, rng), x = random_matrix(0, 4, rng);
  Matrix<float> y;
  ForwardProduct<float>{}(w, x, y);  // depth 0: zeros
  CHECK(y.rows() == 6);
  CHECK(y.cols() == 4);
  CHECK(y.isZero());
  Matrix<float> none;
  ForwardProduct<float>{}(random_matrix(0, 3, rng), random_matrix(3, 4, rng), none);
  CHECK(none.size() == 0);
}

TEST_CASE("every product shape of Linear gives the same bits on 1, 2 and 8 threads", "[gemm][threads]") {
  Rng rng(11);
  for (const auto& shape : kShapes) {
    const Index out = shape[0], in = shape[1], batch = shape[2];
    INFO("out " << out << ", in " << in << ", batch " << batch);
    const Matrix<float> w = random_matrix(out, in, rng), x = random_matrix(in, batch, rng);
    const Matrix<float> dy = random_matrix(out, batch, rng), dw0 = random_matrix(out, in, rng);
    Matrix<float> y[3], dw[3], dx[3], h[3];
    const int thread_counts[3] = {1, 2, 8};
    for (int t = 0; t < 3; ++t) {
      Eigen::setNbThreads(thread_counts[t]);
      ForwardProduct<float>{}(w, x, y[t]);
      dw[t] = dw0;
      WeightGradProduct<float>{}(dy, x, dw[t]);
      InputGradProduct<float>{}(w, dy, dx[t]);
      OuterProduct<float>{}(dy, x, h[t]);
    }
    Eigen::setNbThreads(0);
    for (int t = 1; t < 3; ++t) {
      INFO("threads " << thread_counts[t] << " against 1");
      CHECK(y[t] == y[0]);
      CHECK(dw[t] == dw[0]);
      CHECK(dx[t] == dx[0]);
      CHECK(h[t] == h[0]);
    }
  }
}

TEST_CASE("a product reads the operands of each call, not those of the call that made its primitive", "[gemm]") {
  Rng rng(8);
  ForwardProduct<float> forward;
  Matrix<float> y1, y2;
  const Matrix<float> w = random_matrix(20, 30, rng), x1 = random_matrix(30, 8, rng), x2 = random_matrix(30, 8, rng);
  forward(w, x1, y1);
  forward(w, x2, y2);
  const Matrix<float> want1 = w * x1, want2 = w * x2;
  check_equal(y1, want1);
  check_equal(y2, want2);
  ForwardProduct<float> copy = forward;  // a copy makes its own primitive
  Matrix<float> y3;
  copy(w, x1, y3);
  check_equal(y3, want1);
}

TEST_CASE("Linear<float> on the product back end matches Eigen's products", "[gemm][linear]") {
  Rng rng(9);
  Linear<float> lin(784, 500, rng);
  rng.uniform(lin.bias().value);
  const Matrix<float> x = random_matrix(784, 100, rng), dy = random_matrix(500, 100, rng);
  Matrix<float> y, dx;
  lin.forward(x, y, Context::train(rng));
  lin.backward(x, dy, &dx);
  Matrix<float> want_y = lin.weight().value * x;
  want_y.colwise() += lin.bias().value.col(0);
  check_equal(y, want_y);
  check_equal(lin.weight().grad, dy * x.transpose());
  check_equal(dx, lin.weight().value.transpose() * dy);
}

TEST_CASE("products on maps with a leading dimension larger than their rows equal Eigen's", "[gemm]") {
  Rng rng(10);
  const Matrix<float> big_a = random_matrix(40, 30, rng), big_b = random_matrix(50, 30, rng);
  Matrix<float> big_c = random_matrix(45, 30, rng);
  using Outer = Eigen::OuterStride<>;
  // a = rows [3, 23) of big_a (20 x 30), b = rows [5, 35) of big_b transposed in use (30 x 30 -> op: 30 x 30)
  const Eigen::Map<const Matrix<float>, 0, Outer> a(big_a.data() + 3, 20, 30, Outer(40));
  const Eigen::Map<const Matrix<float>, 0, Outer> b(big_b.data() + 5, 25, 30, Outer(50));
  Eigen::Map<Matrix<float>, 0, Outer> c(big_c.data() + 7, 20, 25, Outer(45));
  const Matrix<float> c0 = c, rest = big_c;
  Product<float, Op::none, Op::transpose, true> product;  // c += a b^T
  product(a, b, c);
  Matrix<float> want = c0;
  want.noalias() += a * b.transpose();
  check_equal(Matrix<float>(c), want);
  // nothing outside the block was written
  Matrix<float> outside = big_c;
  outside.block(7, 0, 20, 25) = rest.block(7, 0, 20, 25);
  CHECK(outside == rest);
}

namespace {

/// Conv2d's training pass written with Eigen's products, image group by image group as the layer sums them, each
/// product on one thread as in the layer's image groups (Eigen's threaded products block differently).
void reference_conv(const Conv2d<float>& conv, const Matrix<float>& x, const Matrix<float>& dy, Matrix<float>& y,
                    Matrix<float>& dw, Matrix<float>& dx) {
  const Conv2dGeometry& g = conv.geometry();
  const Index B = x.cols(), P = g.positions(), K = g.patch_size(), C = conv.weight().value.rows();
  const Matrix<float>& w = conv.weight().value;
  y.resize(C * P, B);
  dx.resize(g.input.size(), B);
  dw.setZero(C, K);
  Matrix<float> cols(P, K), dcols, dw_group;
  const Index groups = std::min(B, detail::kImageGroups);
  const int threads = Eigen::nbThreads();
  Eigen::setNbThreads(1);
  for (Index k = 0; k < groups; ++k) {
    dw_group.setZero(C, K);
    for (Index b = k * B / groups; b < (k + 1) * B / groups; ++b) {
      detail::im2col_image(x.col(b).data(), g, cols.data(), P);
      Eigen::Map<Matrix<float>> z(y.col(b).data(), P, C);
      z.noalias() = cols * w.transpose();
      z.rowwise() += conv.bias().value.col(0).transpose();
      const Eigen::Map<const Matrix<float>> dz(dy.col(b).data(), P, C);
      dw_group.noalias() += dz.transpose() * cols;
      dcols.noalias() = dz * w;
      detail::col2im_image(dcols.data(), P, g, dx.col(b).data());
    }
    dw += dw_group;
  }
  Eigen::setNbThreads(threads);
}

}  // namespace

TEST_CASE("Conv2d<float> on the product back end equals its Eigen products, at 1 and 2 threads", "[gemm][conv]") {
  const int threads = GENERATE(1, 2);
  Eigen::setNbThreads(threads);
  Rng rng(11);
  // LeNet-5's second convolution at a batch that leaves groups of unequal size, and a padded, strided one
  const ImageShape inputs[] = {{20, 12, 12}, {3, 9, 8}};
  const WindowOptions windows[] = {WindowOptions{}, WindowOptions{}.with_padding(2, 1, 1, 2).with_stride(2, 3)};
  for (int c = 0; c < 2; ++c) {
    INFO("case " << c << ", threads " << threads);
    Conv2d<float> conv(inputs[c], c == 0 ? 50 : 7, 5, rng, Conv2dOptions{}.with_window(windows[c]));
    rng.uniform(conv.bias().value);
    const Matrix<float> x = random_matrix(conv.input_rows(), 37, rng), dy = random_matrix(conv.output_rows(), 37, rng);
    Matrix<float> y, dx, want_y, want_dw, want_dx;
    conv.forward(x, y, Context::train(rng));
    conv.backward(x, dy, &dx);
    reference_conv(conv, x, dy, want_y, want_dw, want_dx);
    check_equal(y, want_y);
    check_equal(conv.weight().grad, want_dw);
    check_equal(dx, want_dx);
    // evaluation builds its patches in a scratch of its own: the same products
    Matrix<float> y_eval;
    conv.forward(x, y_eval, Context::eval());
    check_equal(y_eval, want_y);
  }
  Eigen::setNbThreads(0);
}

TEST_CASE("SparseVDLinear<float> on the product back end equals the same layer written with Eigen's products",
          "[gemm][sparse_vd]") {
  // The sigma2 form without the training mask: theta.grad = dy x^T and log_sigma2.grad = (dvar (x o x)^T) o S,
  // S = exp(log sigma^2), so that both weight-gradient products are seen directly.
  Rng rng(12);
  SparseVDLinear<float> layer(300, 100, rng, SparseVDOptions{}.with_variance(SparseVDVariance::sigma2));
  rng.uniform(layer.bias().value);
  rng.uniform(layer.log_sigma2().value);
  layer.log_sigma2().value.array() = layer.log_sigma2().value.array() * 4.f - 6.f;  // S in [e^-6, e^-2]
  const Matrix<float> x = random_matrix(300, 64, rng), dy = random_matrix(100, 64, rng);
  const std::uint64_t seed = 99;
  Rng noise(seed);
  Matrix<float> y, dx;
  layer.forward(x, y, Context::train(noise));
  layer.backward(x, dy, &dx);
  Rng same_noise(seed);
  Matrix<float> eps(100, 64);
  same_noise.normal(eps);
  const Matrix<float>& theta = layer.theta().value;
  const Matrix<float> s = layer.log_sigma2().value.array().exp().matrix(), xsq = x.array().square().matrix();
  const Matrix<float> sd = ((s * xsq).array() + 1e-8f).sqrt().matrix();
  Matrix<float> want_y = theta * x;
  want_y.colwise() += layer.bias().value.col(0);
  want_y.array() += sd.array() * eps.array();
  const Matrix<float> dvar = (dy.array() * eps.array() * (0.5f / sd.array())).matrix();
  const Matrix<float> want_dx = (2 * x.array() * (s.transpose() * dvar).array()).matrix() + theta.transpose() * dy;
  const Matrix<float> want_theta_grad = dy * x.transpose();
  const Matrix<float> want_ls2_grad = ((dvar * xsq.transpose()).array() * s.array()).matrix();
  // exp, sqrt and the layer's own order of element-wise operations differ from this reference by an ulp or two on
  // both back ends: the product tolerance, not bit equality
  CHECK(relative_error(y, want_y) < kTolerance);
  CHECK(relative_error(dx, want_dx) < kTolerance);
  CHECK(relative_error(layer.theta().grad, want_theta_grad) < kTolerance);
  CHECK(relative_error(layer.log_sigma2().grad, want_ls2_grad) < kTolerance);
  Matrix<float> y_eval;  // evaluation: log sigma^2 <= -2 keeps every weight (log alpha < 3 for |theta| > 0.01)
  layer.forward(x, y_eval, Context::eval());
  Matrix<float> want_eval = layer.eval_weight() * x;
  want_eval.colwise() += layer.bias().value.col(0);
  CHECK(relative_error(y_eval, want_eval) < kTolerance);
}

TEST_CASE("SparseVDConv2d<float> on the product back end equals the same layer written with Eigen's products",
          "[gemm][sparse_vd][conv]") {
  const int threads = GENERATE(1, 2);
  Eigen::setNbThreads(threads);
  Rng rng(13);
  SparseVDConv2d<float> conv(ImageShape{20, 12, 12}, 50, 5, rng,
                             SparseVDOptions{}.with_variance(SparseVDVariance::sigma2));
  rng.uniform(conv.bias().value);
  rng.uniform(conv.log_sigma2().value);
  conv.log_sigma2().value.array() = conv.log_sigma2().value.array() * 4.f - 6.f;
  const Index B = 21, P = 64, K = 500, C = 50;
  const Matrix<float> x = random_matrix(conv.input_rows(), B, rng), dy = random_matrix(conv.output_rows(), B, rng);
  Rng noise(5);
  Matrix<float> y, dx;
  conv.forward(x, y, Context::train(noise));
  conv.backward(x, dy, &dx);
  Rng same_noise(5);
  Matrix<float> eps(C * P, B);
  same_noise.normal(eps);
  const Matrix<float>& theta = conv.theta().value;
  const Matrix<float> s = conv.log_sigma2().value.array().exp().matrix();
  Matrix<float> want_y(C * P, B), want_dx(conv.input_rows(), B), g_mean = Matrix<float>::Zero(C, K);
  Matrix<float> g_var = Matrix<float>::Zero(C, K), cols(P, K), dcols;
  for (Index b = 0; b < B; ++b) {
    detail::im2col_image(x.col(b).data(), conv.geometry(), cols.data(), P);
    const Matrix<float> sq = cols.array().square().matrix();
    const Matrix<float> sd = ((sq * s.transpose()).array() + 1e-8f).sqrt().matrix();
    const Eigen::Map<const Matrix<float>> e(eps.col(b).data(), P, C), dz(dy.col(b).data(), P, C);
    Eigen::Map<Matrix<float>> z(want_y.col(b).data(), P, C);
    z = cols * theta.transpose();
    z.array() += sd.array() * e.array();
    z.rowwise() += conv.bias().value.col(0).transpose();
    const Matrix<float> dvar = (dz.array() * e.array() * (0.5f / sd.array())).matrix();
    g_mean += dz.transpose() * cols;
    g_var += dvar.transpose() * sq;
    dcols = (2 * cols.array() * (dvar * s).array()).matrix() + dz * theta;
    detail::col2im_image(dcols.data(), P, conv.geometry(), want_dx.col(b).data());
  }
  INFO("threads " << threads);
  CHECK(relative_error(y, want_y) < kTolerance);
  CHECK(relative_error(dx, want_dx) < kTolerance);
  CHECK(relative_error(conv.theta().grad, g_mean) < kTolerance);
  CHECK(relative_error(conv.log_sigma2().grad, (g_var.array() * s.array()).matrix()) < kTolerance);
  Eigen::setNbThreads(0);
}
