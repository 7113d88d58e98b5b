// core/gemm.hpp: every product shape Linear uses equals Eigen's product, bit for bit on the default (Eigen) back end
// and within float rounding on oneDNN's (BAYESDROP_ONEDNN), at the MLP's shapes and at awkward ones.
#include <catch2/catch.hpp>

#include "bayesdrop/core/gemm.hpp"
#include "bayesdrop/layers/linear.hpp"

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

/// Float rounding of a k-term dot product, with room: oneDNN sums in another order than Eigen.
constexpr double kTolerance = 1e-5;

/// The product equals Eigen's expression: exactly on Eigen's back end, within rounding on oneDNN's.
void check_equal(const Matrix<float>& got, const Matrix<float>& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
#ifdef BAYESDROP_ONEDNN
  CHECK(relative_error(got, want) < kTolerance);
#else
  CHECK(got == want);
#endif
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
