#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <memory>

#include "bayesdrop/layers/batch_norm1d.hpp"
#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/uncertainty/mc_predict.hpp"

using namespace bayesdrop;

namespace {

constexpr Index kIn = 12, kClasses = 4, kN = 37;  // 37: batches of 10 leave a short last one

Sequential<float> plain_model(std::uint64_t seed) {
  Rng rng(seed);
  return mlp<float>({kIn, 24, 16, kClasses}, rng);
}

// Binary dropout (p = 0.5) in front of every dense layer, as examples/mnist/models.hpp builds it.
Sequential<float> dropout_model(std::uint64_t seed) {
  Rng rng(seed);
  MlpOptions<float> options;
  options.with_gate([](Index units, std::size_t, Rng&) -> LayerPtr<float> {
    return std::make_unique<BinaryDropout<float>>(units, 0.5);
  });
  return mlp<float>({kIn, 24, 16, kClasses}, rng, options);
}

Matrix<float> inputs(std::uint64_t seed) {
  Rng rng(seed);
  Matrix<float> x(kIn, kN);
  rng.normal(x);
  x *= 2.0f;  // wider inputs, more confident and more varied predictions
  return x;
}

double max_abs_diff(const Matrix<double>& a, const Matrix<double>& b) {
  return (a - b).cwiseAbs().maxCoeff();
}

}  // namespace

TEST_CASE("MC prediction with K = 1 and no noise equals the deterministic pass", "[uncertainty][mc]") {
  auto net = plain_model(1);
  const Matrix<float> x = inputs(2);
  McPredictor<float> mc(McOptions{}.with_samples(1).with_batch(10));
  Rng rng(3);
  const McPrediction a = mc.predict(net, x, rng);
  const McPrediction b = mc.deterministic(net, x);
  REQUIRE(a.mean_probs.rows() == kClasses);
  REQUIRE(a.mean_probs.cols() == kN);
  CHECK(max_abs_diff(a.mean_probs, b.mean_probs) <= 1e-12);
  CHECK((a.entropy - b.entropy).cwiseAbs().maxCoeff() <= 1e-12);
  CHECK(a.mutual_information.cwiseAbs().maxCoeff() == 0.0);  // one pass: H[mean] and the mean of H coincide
  CHECK(b.mutual_information.cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("the deterministic pass is the softmax of the evaluation-mode logits", "[uncertainty][mc]") {
  auto net = dropout_model(1);
  const Matrix<float> x = inputs(2);
  const Matrix<float> logits = net.forward(x, Context::eval());
  McPredictor<float> mc(McOptions{}.with_batch(7));
  const McPrediction d = mc.deterministic(net, x);
  for (Index j = 0; j < kN; ++j) {
    const Vector<double> z = logits.col(j).cast<double>();
    const Vector<double> p = (z.array() - z.maxCoeff()).exp().matrix() / (z.array() - z.maxCoeff()).exp().sum();
    // The logits of batches of 7 and of all 37 columns differ by float rounding: products of other shapes.
    CHECK((d.mean_probs.col(j) - p).cwiseAbs().maxCoeff() <= 1e-5);
    CHECK(d.entropy[j] == Approx(-(p.array() * p.array().log()).sum()).epsilon(1e-5));
  }
  // Evaluation draws no noise, so the batch size does not matter (up to that rounding).
  const McPrediction whole = McPredictor<float>(McOptions{}.with_batch(1000)).deterministic(net, x);
  CHECK(max_abs_diff(d.mean_probs, whole.mean_probs) <= 1e-5);
}

TEST_CASE("dropout gives positive mutual information, a plain MLP none", "[uncertainty][mc]") {
  const Matrix<float> x = inputs(2);
  McPredictor<float> mc(McOptions{}.with_samples(30).with_batch(10));

  auto noisy = dropout_model(1);
  Rng rng(5);
  const McPrediction d = mc.predict(noisy, x, rng);
  CHECK(d.mutual_information.minCoeff() >= 0.0);
  CHECK(d.mutual_information.mean() > 1e-2);
  // The mean entropy of the passes is >= 0, so MI <= H[mean] <= log(classes).
  CHECK((d.entropy - d.mutual_information).minCoeff() >= -1e-12);
  CHECK(d.entropy.maxCoeff() <= std::log(double(kClasses)) + 1e-12);
  CHECK((d.mean_probs.colwise().sum().array() - 1.0).abs().maxCoeff() <= 1e-12);

  auto plain = plain_model(1);
  const McPrediction p = mc.predict(plain, x, rng);
  CHECK(p.mutual_information.cwiseAbs().maxCoeff() <= 1e-6);
  CHECK(max_abs_diff(p.mean_probs, mc.deterministic(plain, x).mean_probs) <= 1e-9);
  CHECK((p.mean_probs.colwise().sum().array() - 1.0).abs().maxCoeff() <= 1e-12);
  // Without noise the batch size cannot matter either, up to the float rounding of differently shaped products.
  const McPrediction q = McPredictor<float>(McOptions{}.with_samples(30).with_batch(1000)).predict(plain, x, rng);
  CHECK(max_abs_diff(p.mean_probs, q.mean_probs) <= 1e-5);
}

TEST_CASE("the same seed gives identical MC predictions, another seed different ones", "[uncertainty][mc]") {
  auto net = dropout_model(1);
  const Matrix<float> x = inputs(2);
  McPredictor<float> mc(McOptions{}.with_samples(5).with_batch(10));
  McPrediction a, b;
  Rng r1(11), r2(11), r3(12);
  mc.predict(net, x, r1, a);
  const double* buffer = a.mean_probs.data();
  mc.predict(net, x, r2, b);
  CHECK(a.mean_probs == b.mean_probs);
  CHECK(a.entropy == b.entropy);
  CHECK(a.mutual_information == b.mutual_information);
  mc.predict(net, x, r3, a);  // reuses a's buffers: same shape, no reallocation
  CHECK(a.mean_probs.data() == buffer);
  CHECK(max_abs_diff(a.mean_probs, b.mean_probs) > 1e-6);
}

TEST_CASE("MC softmax is stable for huge logits", "[uncertainty][mc]") {
  Rng rng(1);
  Sequential<double> net;
  auto& lin = net.emplace<Linear>(3, 5, rng);
  lin.weight().value *= 1e5;  // logits of order 1e5: a naive exp() overflows
  Matrix<double> x(3, 4);
  rng.normal(x);
  McPredictor<double> mc(McOptions{}.with_samples(2));
  const McPrediction p = mc.predict(net, x, rng);
  CHECK(p.mean_probs.allFinite());
  CHECK(p.entropy.allFinite());
  CHECK((p.mean_probs.colwise().sum().array() - 1.0).abs().maxCoeff() <= 1e-12);
}

TEST_CASE("MC prediction rejects bad options, shapes and non-finite logits", "[uncertainty][mc]") {
  CHECK_THROWS_AS(McPredictor<float>(McOptions{}.with_samples(0)), InvalidArgument);
  CHECK_THROWS_WITH(McPredictor<float>(McOptions{}.with_samples(0)), Catch::Contains("K >= 1"));
  CHECK_THROWS_AS(McPredictor<float>(McOptions{}.with_batch(0)), InvalidArgument);

  auto net = dropout_model(1);
  McPredictor<float> mc;
  Rng rng(1);
  const Matrix<float> wrong(kIn + 1, 3);
  CHECK_THROWS_AS(mc.predict(net, wrong, rng), ShapeError);
  CHECK_THROWS_WITH(mc.deterministic(net, wrong), Catch::Contains("13x3") && Catch::Contains("12 x N"));

  Matrix<float> x = inputs(2);
  x(0, 5) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_AS(mc.deterministic(net, x), NumericalError);
}

TEST_CASE("MC prediction of an empty input is empty", "[uncertainty][mc]") {
  auto net = plain_model(1);
  Rng rng(1);
  const McPrediction p = McPredictor<float>().predict(net, Matrix<float>(kIn, 0), rng);
  CHECK(p.mean_probs.rows() == kClasses);
  CHECK(p.mean_probs.cols() == 0);
  CHECK(p.entropy.size() == 0);
}

// Monte Carlo passes draw the dropout noise but are otherwise the evaluation network: BatchNorm normalises with its
// running statistics and does not update them (Context::monte_carlo). Checked against a hand-run of the same passes:
// every deterministic layer in evaluation, the dropout layer drawing its noise from the same generator.
TEST_CASE("MC prediction uses BatchNorm's running statistics and leaves them unchanged",
          "[uncertainty][mc][batch_norm]") {
  Rng init(21);
  Sequential<float> net;
  net.emplace<Linear>(kIn, 24, init);
  auto& bn = net.emplace<BatchNorm1d>(24);
  net.emplace<ReLU>(24);
  net.emplace<BinaryDropout>(24, 0.5);
  net.emplace<Linear>(24, kClasses, init);
  // Running statistics away from their start (mean 0, variance 1): a few training passes on shifted data.
  for (int i = 0; i < 5; ++i) {
    Matrix<float> warm(kIn, 16);
    init.normal(warm);
    warm.array() += 1.5f;
    net.forward(warm, Context::train(init));
  }
  const Matrix<float> mean_before = bn.running_mean();
  const Matrix<float> var_before = bn.running_var();
  REQUIRE(mean_before.cwiseAbs().maxCoeff() > 0.05f);

  const Matrix<float> x = inputs(2);
  const Index samples = 4, batch = 10;
  McPredictor<float> mc(McOptions{}.with_samples(samples).with_batch(batch));
  Rng rng(8);
  const McPrediction p = mc.predict(net, x, rng);
  CHECK(bn.running_mean() == mean_before);  // bitwise: not updated
  CHECK(bn.running_var() == var_before);

  // By hand: batch by batch, K passes each, only the dropout layer in training mode.
  Rng replay(8);
  Matrix<double> expected = Matrix<double>::Zero(kClasses, kN);
  for (Index first = 0; first < kN; first += batch) {
    const Index count = std::min(batch, kN - first);
    const Matrix<float> xb = x.middleCols(first, count);
    for (Index k = 0; k < samples; ++k) {
      Matrix<float> h = xb, next;
      for (Index l = 0; l < net.size(); ++l) {
        const bool noisy = net.layer(l).name() == "BinaryDropout";
        net.layer(l).forward(h, next, noisy ? Context::train(replay) : Context::eval());
        h = next;
      }
      for (Index j = 0; j < count; ++j) {
        const Vector<double> z = h.col(j).cast<double>();
        const Vector<double> e = (z.array() - z.maxCoeff()).exp().matrix();
        expected.col(first + j) += e / e.sum() / double(samples);
      }
    }
  }
  CHECK(max_abs_diff(p.mean_probs, expected) <= 1e-12);
  // The noise is on: the passes disagree.
  CHECK(p.mutual_information.mean() > 1e-4);

  // A training-mode pass would have normalised with the batch's statistics and moved the running ones.
  Rng other(8);
  net.forward(x.leftCols(batch), Context::train(other));
  CHECK(bn.running_mean() != mean_before);
}

TEST_CASE("Context separates the noise from the statistics", "[uncertainty][mc][context]") {
  Rng rng(1);
  const Context train = Context::train(rng), eval = Context::eval(), mc = Context::monte_carlo(rng);
  CHECK(train.noise());
  CHECK(train.batch_statistics());
  CHECK(train.training());
  CHECK_FALSE(eval.noise());
  CHECK_FALSE(eval.batch_statistics());
  CHECK_FALSE(eval.training());
  CHECK(mc.noise());
  CHECK(mc.training());  // the stochastic layers read training() as "draw noise"
  CHECK_FALSE(mc.batch_statistics());
  CHECK(&mc.require_rng("test") == &rng);
}
