#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>

#include "bayesdrop/core/rng.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/optim/sgd.hpp"

using namespace bayesdrop;

namespace {
// f(w) = 0.5 ||A w - b||^2 with gradient A^T (A w - b); minimiser solves the normal equations.
struct LeastSquares {
  Matrix<double> a, b;
  explicit LeastSquares(Rng& rng) : a(8, 3), b(8, 1) {
    rng.normal(a);
    rng.normal(b);
  }
  void gradient(Parameter<double>& w) const { w.grad = a.transpose() * (a * w.value - b); }
  Matrix<double> solution() const { return (a.transpose() * a).ldlt().solve(a.transpose() * b); }
};
}  // namespace

TEST_CASE("Adam's first steps equal the hand-computed update", "[optim][adam]") {
  Parameter<double> w("w", ParamRole::weight, 2, 1);
  w.value << 1.0, -2.0;
  Adam<double> adam({ParamGroup<double>{"g", {&w}, 0.1, 0.5}}, AdamOptions{}.with_betas(0.9, 0.99).with_eps(1e-8));
  double m[2] = {0, 0}, v[2] = {0, 0}, value[2] = {1.0, -2.0};
  const double grads[2][2] = {{0.3, -0.4}, {-0.2, 0.1}};
  for (int t = 1; t <= 2; ++t) {
    w.grad << grads[t - 1][0], grads[t - 1][1];
    adam.step();
    for (int i = 0; i < 2; ++i) {
      const double g = grads[t - 1][i] + 0.5 * value[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.99 * v[i] + 0.01 * g * g;
      const double mhat = m[i] / (1 - std::pow(0.9, t)), vhat = v[i] / (1 - std::pow(0.99, t));
      value[i] -= 0.1 * mhat / (std::sqrt(vhat) + 1e-8);
      CHECK(w.value(i) == Approx(value[i]).epsilon(1e-12));
    }
  }
  CHECK(adam.steps() == 2);
}

TEST_CASE("Adam and SGD with momentum find the least-squares solution", "[optim]") {
  Rng rng(4);
  LeastSquares problem(rng);
  const Matrix<double> solution = problem.solution();

  Parameter<double> w1("w", ParamRole::weight, 3, 1);
  Adam<double> adam({ParamGroup<double>{"g", {&w1}, 0.05}});
  for (int i = 0; i < 3000; ++i) {
    problem.gradient(w1);
    adam.step();
  }
  CHECK((w1.value - solution).norm() < 1e-4);

  for (bool nesterov : {false, true}) {
    Parameter<double> w2("w", ParamRole::weight, 3, 1);
    const double lr = 0.5 / (problem.a.transpose() * problem.a).eigenvalues().real().maxCoeff();
    Sgd<double> sgd({ParamGroup<double>{"g", {&w2}, lr}}, SgdOptions{}.with_momentum(0.9).with_nesterov(nesterov));
    for (int i = 0; i < 3000; ++i) {
      problem.gradient(w2);
      sgd.step();
    }
    CHECK((w2.value - solution).norm() < 1e-8);
  }
}

TEST_CASE("SGD with momentum follows PyTorch's update rule", "[optim][sgd]") {
  Parameter<double> w("w", ParamRole::weight, 1, 1);
  w.value << 1.0;
  Sgd<double> sgd({ParamGroup<double>{"g", {&w}, 0.1, 0.0}}, SgdOptions{}.with_momentum(0.5));
  w.grad << 2.0;
  sgd.step();  // buf = 2, w = 1 - 0.2
  CHECK(w.value(0) == Approx(0.8));
  w.grad << 1.0;
  sgd.step();  // buf = 0.5 * 2 + 1 = 2, w = 0.8 - 0.2
  CHECK(w.value(0) == Approx(0.6));
}

TEST_CASE("parameter groups keep their own learning rates and weight decay", "[optim]") {
  Parameter<double> weight("weight", ParamRole::weight, 2, 2), gate("gate", ParamRole::noise, 3, 1);
  weight.value.setOnes();
  gate.value.setOnes();
  weight.grad.setConstant(1.0);
  gate.grad.setConstant(-1.0);
  // Adam's first step moves each value by lr * sign(gradient) (up to eps).
  Adam<double> adam({ParamGroup<double>{"weights", {&weight}, 1e-3}, ParamGroup<double>{"gates", {&gate}, 1e-2}});
  adam.step();
  CHECK(weight.value.isApprox(Matrix<double>::Constant(2, 2, 1 - 1e-3), 1e-9));
  CHECK(gate.value.isApprox(Matrix<double>::Constant(3, 1, 1 + 1e-2), 1e-9));

  // Plain SGD: the decayed group also moves by lr * weight_decay * value.
  Parameter<double> a("a", ParamRole::weight, 1, 1), b("b", ParamRole::noise, 1, 1);
  a.value << 2.0;
  b.value << 2.0;
  Sgd<double> sgd({ParamGroup<double>{"decayed", {&a}, 0.1, 0.5}, ParamGroup<double>{"plain", {&b}, 0.1, 0.0}});
  sgd.zero_grad();
  sgd.step();
  CHECK(a.value(0) == Approx(2.0 - 0.1 * 0.5 * 2.0));
  CHECK(b.value(0) == 2.0);
}

TEST_CASE("step() consumes the gradients: every one is zero afterwards, on the threaded path too", "[optim]") {
  Rng rng(3);
  // 300 x 784 spans many chunks (split over threads); 10 x 1 is a single short chunk.
  Parameter<float> big("big", ParamRole::weight, 300, 784), small("small", ParamRole::bias, 10, 1);
  auto fill = [&] {
    rng.normal(big.grad);
    rng.normal(small.grad);
  };
  const Matrix<float> before = big.value;
  fill();
  Adam<float> adam({ParamGroup<float>{"g", {&big, &small}, 1e-3, 1e-4}});
  adam.step();
  CHECK(big.grad.isZero(0));
  CHECK(small.grad.isZero(0));
  CHECK(!big.value.isApprox(before));
  for (const auto options :
       {SgdOptions{}, SgdOptions{}.with_momentum(0.9), SgdOptions{}.with_momentum(0.9).with_nesterov(true)}) {
    fill();
    Sgd<float> sgd({ParamGroup<float>{"g", {&big, &small}, 1e-2, 1e-4}}, options);
    sgd.step();
    CHECK(big.grad.isZero(0));
    CHECK(small.grad.isZero(0));
  }
}

TEST_CASE("with_roles splits a model's parameters into groups", "[optim]") {
  Parameter<float> w("weight", ParamRole::weight, 1, 1), b("bias", ParamRole::bias, 1, 1),
      n("log_alpha", ParamRole::noise, 1, 1);
  const std::vector<Parameter<float>*> all{&w, &n, &b};
  const auto base = with_roles(all, {ParamRole::weight, ParamRole::bias});
  REQUIRE(base.size() == 2);
  CHECK(base[0] == &w);
  CHECK(base[1] == &b);
  CHECK(with_roles(all, {ParamRole::noise}).front() == &n);
}

TEST_CASE("optimisers reject invalid settings", "[optim]") {
  Parameter<float> w("w", ParamRole::weight, 1, 1);
  CHECK_THROWS_AS(Adam<float>({ParamGroup<float>{"g", {&w}, 0.0}}), InvalidArgument);
  CHECK_THROWS_AS(Adam<float>({ParamGroup<float>{"g", {&w}, 1e-3, -1.0}}), InvalidArgument);
  CHECK_THROWS_AS(Adam<float>({ParamGroup<float>{"g", {}, 1e-3}}), InvalidArgument);
  CHECK_THROWS_WITH(Adam<float>({ParamGroup<float>{"a", {&w}, 1e-3}, ParamGroup<float>{"b", {&w}, 1e-3}}),
                    Catch::Contains("more than one group"));
  CHECK_THROWS_AS(Adam<float>({ParamGroup<float>{"g", {&w}, 1e-3}}, AdamOptions{}.with_betas(1.0, 0.9)),
                  InvalidArgument);
  CHECK_THROWS_AS(Sgd<float>({ParamGroup<float>{"g", {&w}, 1e-3}}, SgdOptions{}.with_momentum(1.0)), InvalidArgument);
}

TEST_CASE("piecewise schedule switches at fractions of training", "[optim][schedule]") {
  // The BBD/SBP code base: 60 epochs of 600 batches, boundaries at int(600 * 59 * {0.5, 0.75}).
  const auto s = LrSchedule::piecewise({0.5, 0.75}, {1.0, 0.1, 0.01}, 600 * 59);
  CHECK(s.factor(0) == 1.0);
  CHECK(s.factor(17699) == 1.0);
  CHECK(s.factor(17700) == 0.1);
  CHECK(s.factor(26549) == 0.1);
  CHECK(s.factor(26550) == 0.01);
  CHECK(s.factor(1000000) == 0.01);
  CHECK_THROWS_AS(LrSchedule::piecewise({0.5}, {1.0}, 100), InvalidArgument);
  CHECK_THROWS_AS(LrSchedule::piecewise({0.75, 0.5}, {1.0, 0.1, 0.01}, 100), InvalidArgument);
  CHECK_THROWS_AS(LrSchedule::piecewise({0.5}, {1.0, 0.1}, 0), InvalidArgument);
}

TEST_CASE("linear decay follows sparse VD's lr_linear", "[optim][schedule]") {
  // lr_linear over 200 epochs: constant for 100, then linear to 0.
  const auto s = LrSchedule::linear_decay(200, 0.5);
  CHECK(s.factor(0) == 1.0);
  CHECK(s.factor(100) == 1.0);
  CHECK(s.factor(150) == Approx(0.5));
  CHECK(s.factor(200) == 0.0);
  const auto to0 = LrSchedule::linear_decay(200);
  CHECK(to0.factor(50) == Approx(0.75));
  const auto to_tenth = LrSchedule::linear_decay(10, 0.0, 0.1);
  CHECK(to_tenth.factor(10) == Approx(0.1));
  CHECK(to_tenth.factor(5) == Approx(0.55));
  CHECK_THROWS_AS(LrSchedule::linear_decay(10, 1.0), InvalidArgument);
}

TEST_CASE("the optimiser applies each group's schedule", "[optim][schedule]") {
  Parameter<double> w("w", ParamRole::weight, 1, 1);
  ParamGroup<double> g{"g", {&w}, 0.1};
  g.schedule = LrSchedule::piecewise({0.5}, {1.0, 0.1}, 4);
  Sgd<double> sgd({g});
  double expected = 0;
  for (int t = 0; t < 4; ++t) {
    w.grad << 1.0;  // step() consumes it
    CHECK(sgd.current_lr(0) == Approx(t < 2 ? 0.1 : 0.01));
    expected -= t < 2 ? 0.1 : 0.01;
    sgd.step();
    CHECK(w.value(0) == Approx(expected));
  }
}

namespace {
// An optimiser as a user would write one: it implements only update_chunk (sign descent) and clears nothing.
template <class Scalar>
class SignDescent final : public Optimizer<Scalar> {
 public:
  using Optimizer<Scalar>::Optimizer;

 protected:
  void update_chunk(Parameter<Scalar>& p, std::size_t, Index first, Index len, Scalar lr, Scalar) override {
    for (Index i = first; i < first + len; ++i) {
      p.value.data()[i] -= lr * (p.grad.data()[i] > 0 ? Scalar(1) : p.grad.data()[i] < 0 ? Scalar(-1) : Scalar(0));
    }
  }
};
}  // namespace

TEST_CASE("the base class clears the gradients for every optimiser, also one that does not clear them itself",
          "[optim]") {
  Rng rng(5);
  Parameter<float> big("big", ParamRole::weight, 300, 784), small("small", ParamRole::bias, 3, 1);
  rng.normal(big.grad);
  small.grad << 1.0f, -1.0f, 0.0f;
  SignDescent<float> opt({ParamGroup<float>{"g", {&big, &small}, 0.5}});
  opt.step();
  CHECK(big.grad.isZero(0));
  CHECK(small.grad.isZero(0));
  CHECK(small.value(0) == -0.5f);
  CHECK(small.value(1) == 0.5f);
  // The next batch's gradient alone drives the next step: a stale gradient left behind would still push unit 2.
  small.grad << 0.0f, 0.0f, 0.0f;
  opt.step();
  CHECK(small.value(0) == -0.5f);
  CHECK(small.value(2) == 0.0f);
}

TEST_CASE("optimisers expose their state and step count for checkpoints", "[optim]") {
  Parameter<double> a("a", ParamRole::weight, 2, 2), b("b", ParamRole::bias, 2, 1);
  Adam<double> adam({ParamGroup<double>{"w", {&a}, 0.1}, ParamGroup<double>{"b", {&b}, 0.1}});
  CHECK(adam.name() == "adam");
  const auto state = adam.state();
  REQUIRE(state.size() == 4);
  CHECK(state[0].name == "m0");
  CHECK(state[3].name == "v1");
  CHECK(state[2].value->rows() == 2);
  a.grad.setOnes();
  adam.step();
  CHECK((*adam.state()[0].value)(0, 0) == Approx(0.1));  // m = (1 - beta1) g
  adam.set_steps(7);
  CHECK(adam.steps() == 7);
  CHECK_THROWS_AS(adam.set_steps(-1), InvalidArgument);
  Sgd<double> sgd({ParamGroup<double>{"w", {&a}, 0.1}}, SgdOptions{}.with_momentum(0.9));
  CHECK(sgd.name() == "sgd");
  REQUIRE(sgd.state().size() == 1);
  CHECK(sgd.state()[0].name == "momentum0");
}
