#include <catch2/catch.hpp>

#include "bayesdrop/layers/flatten.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/losses/softmax_cross_entropy.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

namespace {
Sequential<double> small_mlp(Rng& rng) {
  Sequential<double> net;
  net.emplace<Linear>(6, 8, rng);
  net.emplace<ReLU>(8);
  net.emplace<Linear>(8, 5, rng);
  net.emplace<ReLU>(5);
  net.emplace<Linear>(5, 3, rng);
  for (auto* p : net.parameters()) {
    if (p->role == ParamRole::bias) rng.normal(p->value);
  }
  return net;
}
}  // namespace

TEST_CASE("Sequential with cross-entropy: gradients of every parameter match finite differences",
          "[model][sequential][gradcheck]") {
  Rng rng(21);
  Sequential<double> net = small_mlp(rng);
  Matrix<double> x(6, 9);
  rng.normal(x);
  Labels y(9);
  for (Index j = 0; j < 9; ++j) y[j] = Label(rng.uniform_index(3));

  SoftmaxCrossEntropy<double> ce;
  Rng unused(0);  // deterministic layers: a training forward (which backward needs) equals evaluation
  auto loss = [&] { return ce.forward(net.forward(x, Context::train(unused)), y); };

  net.zero_grad();
  loss();
  Matrix<double> dz, dx;
  ce.backward(y, dz);
  net.backward(x, dz, &dx);

  REQUIRE(net.parameters().size() == 6);
  for (auto* p : net.parameters()) {
    const Matrix<double> analytic = p->grad;
    const auto r = test::check_gradient(loss, p->value, analytic, p->name);
    INFO(r.what << ": " << r.error);
    CHECK(r.error < 1e-6);
  }
  const auto rx = test::check_gradient(loss, x, dx, "input");
  CHECK(rx.error < 1e-6);

  // The same model probed through the generic Layer interface.
  const auto in = test::check_input_gradient(net, x, 1);
  CHECK(in.error < 1e-6);
  const auto params = test::check_parameter_gradients(net, x, 1);
  INFO(params.what << ": " << params.error);
  CHECK(params.error < 1e-6);
}

TEST_CASE("Sequential checks that consecutive layers fit", "[model][sequential]") {
  Rng rng(1);
  Sequential<float> net;
  CHECK_THROWS_AS(net.forward(Matrix<float>(3, 1), Context::eval()), InvalidArgument);
  net.emplace<Linear>(4, 3, rng);
  CHECK_THROWS_WITH(net.emplace<Linear>(5, 2, rng), Catch::Contains("takes 5 rows") && Catch::Contains("produces 3"));
  net.emplace<ReLU>(3);
  CHECK(net.size() == 2);
  CHECK(net.input_rows() == 4);
  CHECK(net.output_rows() == 3);
  CHECK(net.sparsity().weights == 12);
  CHECK(net.kl() == 0.0f);
}

TEST_CASE("Sequential forward in evaluation mode is deterministic", "[model][sequential]") {
  Rng rng(2);
  Sequential<double> net = small_mlp(rng);
  Matrix<double> x(6, 4);
  rng.normal(x);
  const Matrix<double> a = net.forward(x, Context::eval());
  const Matrix<double> b = net.forward(x, Context::eval());
  CHECK(a == b);
}

TEST_CASE("Sequential skips the input gradient of parameter-free front layers when none is asked for",
          "[model][sequential]") {
  Rng rng(3);
  Sequential<double> net;
  net.emplace<Flatten>(ImageShape{1, 2, 3});
  net.emplace<ReLU>(6);
  net.emplace<Linear>(6, 4, rng);
  net.emplace<ReLU>(4);
  net.emplace<Linear>(4, 2, rng);
  Matrix<double> x(6, 5), dy(2, 5), dx;
  rng.normal(x);
  rng.normal(dy);
  net.forward(x, Context::train(rng));
  net.zero_grad();
  net.backward(x, dy, &dx);
  std::vector<Matrix<double>> with_dx;
  for (auto* p : net.parameters()) with_dx.push_back(p->grad);
  net.zero_grad();
  net.backward(x, dy, nullptr);
  for (std::size_t i = 0; i < with_dx.size(); ++i) CHECK(net.parameters()[i]->grad == with_dx[i]);
  CHECK(dx.rows() == 6);
}

TEST_CASE("Sequential backward before any forward says to call forward first", "[model][sequential]") {
  Rng rng(4);
  Sequential<float> net;
  net.emplace<Linear>(3, 4, rng);
  net.emplace<ReLU>(4);
  net.emplace<Linear>(4, 2, rng);
  Matrix<float> x(3, 5), dx;
  rng.uniform(x);
  const Matrix<float> dy = Matrix<float>::Ones(2, 5);
  CHECK_THROWS_WITH(net.backward(x, dy, &dx), Catch::Contains("Sequential") && Catch::Contains("no forward yet") &&
                                                  Catch::Contains("call forward"));
  net.forward(x, Context::train(rng));
  net.backward(x, dy, &dx);
  CHECK(dx.rows() == 3);
}
