// Group-lasso SSL (Wen et al. 2016; layers/group_lasso_linear.hpp): the dense layer it wraps, the penalty against an
// independent long-double reference, its gradient against finite differences, the evaluation's pruning and compact().
#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/layers/group_lasso_linear.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/models/compact.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "support/layer_gradcheck.hpp"

using namespace bayesdrop;

TEMPLATE_TEST_CASE("SSL: a Linear in training, and the penalty is the sum of the input units' weight norms",
                   "[layer][ssl]", float, double) {
  Rng rng(3);
  GroupLassoLinear<TestType> layer(6, 4, rng);
  CHECK(layer.name() == "GroupLassoLinear");
  CHECK(layer.has_kl());
  const auto params = layer.parameters();
  REQUIRE(params.size() == 2);
  CHECK(params[0]->name == "weight");
  const auto& w = layer.weight().value;
  long double want = 0;
  for (Index j = 0; j < 6; ++j) {
    long double sq = 0;
    for (Index i = 0; i < 4; ++i) sq += (long double)w(i, j) * (long double)w(i, j);
    want += std::sqrt(sq);
  }
  CHECK(double(layer.kl()) == Approx(double(want)).epsilon(1e-6));
  Matrix<TestType> x(6, 3), y;
  rng.normal(x);
  Rng noise(1);
  layer.forward(x, y, Context::train(noise));
  const Matrix<TestType> expect = (w * x).colwise() + params[1]->value.col(0);
  CHECK((y - expect).cwiseAbs().maxCoeff() < TestType(1e-5));
  CHECK(layer.n_active() == 6);
}

TEST_CASE("SSL: evaluation reads a pruned unit as 0, and sparsity and compact() agree", "[layer][ssl]") {
  Rng rng(5);
  Sequential<double> model;
  auto& first = model.emplace<GroupLassoLinear>(5, 4, rng);
  model.emplace<ReLU>(4);
  model.emplace<GroupLassoLinear>(4, 3, rng);
  first.weight().value.col(1).setConstant(1e-4);  // norm 2e-4 < 1e-3: pruned
  first.weight().value.col(3).setZero();          // pruned
  CHECK(first.n_active() == 3);
  const SparsityStats s = first.sparsity();
  CHECK(s.units_in == 5);
  CHECK(s.active_in == 3);
  CHECK(s.active_weights == 12);
  Matrix<double> x(5, 4), y, y_plain;
  rng.normal(x);
  y = model.forward(x, Context::eval());
  Matrix<double> xm = x;
  xm.row(1).setZero();
  xm.row(3).setZero();
  Rng noise(1);
  first.forward(xm, y_plain, Context::train(noise));  // training reads every unit: feed it the masked input
  Matrix<double> h = y_plain.cwiseMax(0.0), out;
  model.layer(2).forward(h, out, Context::eval());
  CHECK((y - out).cwiseAbs().maxCoeff() < 1e-12);
  Sequential<double> small = compact(model);
  const Matrix<double> ys = small.forward(x, Context::eval());
  CHECK((ys - y).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("SSL: gradients match finite differences", "[layer][ssl][gradcheck]") {
  Rng rng(7);
  GroupLassoLinear<double> dense(5, 3, rng);
  Matrix<double> x(5, 4);
  rng.normal(x);
  test::check_layer_gradients(dense, x, 5);
}

TEST_CASE("SSL rejects a bad threshold and a backward without a training forward", "[layer][ssl]") {
  CHECK_THROWS_AS(GroupLassoOptions{}.with_threshold(-1), InvalidArgument);
  CHECK_THROWS_AS(GroupLassoOptions{}.with_threshold(std::nan("")), InvalidArgument);
  Rng rng(1);
  CHECK_THROWS_AS(GroupLassoLinear<float>(0, 3, rng), InvalidArgument);
  GroupLassoLinear<float> layer(3, 2, rng);
  Matrix<float> x = Matrix<float>::Ones(3, 2), dy = Matrix<float>::Ones(2, 2), dx;
  CHECK_THROWS_AS(layer.backward(x, dy, &dx), ShapeError);
}
