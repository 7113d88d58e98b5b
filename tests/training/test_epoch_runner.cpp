#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/training/epoch_runner.hpp"

using namespace bayesdrop;

namespace {
// Two Gaussian blobs in 5-d, separable: a small model must learn them within a few epochs.
Dataset<double> blobs(Index n, std::uint64_t seed) {
  Rng rng(seed);
  Dataset<double> d;
  d.shape = ImageShape{1, 1, 5};
  d.images.resize(5, n);
  rng.normal(d.images);
  d.labels.resize(n);
  for (Index i = 0; i < n; ++i) {
    d.labels[i] = Label(i % 2);
    d.images(0, i) += d.labels[i] ? 2.0 : -2.0;
  }
  return d;
}
}  // namespace

TEST_CASE("EpochRunner trains a small model and evaluates it", "[training]") {
  const auto data = blobs(1030, 1);  // not a multiple of the batch: the last batch is shorter
  Rng rng(2);
  auto model = mlp<double>({5, 16, 2}, rng);
  Adam<double> adam({ParamGroup<double>{"all", model.parameters(), 1e-2}});
  EpochRunner<double> runner(EpochOptions{}.with_batch(100));
  Index calls = 0;
  BatchProgress first, last;
  EpochResult r;
  for (int epoch = 0; epoch < 5; ++epoch) {
    r = runner.train_epoch(model, adam, data, rng, [&](const BatchProgress& p) {
      if (++calls == 1) first = p;
      last = p;
    });
  }
  // After the first batch of an untrained two-class model the running cross-entropy is that batch's, near ln 2
  // (not diluted over the whole epoch).
  CHECK(first.done == 1);
  CHECK(first.cross_entropy > 0.3);
  CHECK(first.accuracy >= 0.0);
  CHECK(first.accuracy <= 1.0);
  CHECK(last.total == 11);
  CHECK(last.done == 11);
  CHECK(calls == 55);
  // After the last batch the running means are the epoch's (the last batch holds 30 examples, not 100).
  CHECK(last.cross_entropy == Approx(r.cross_entropy).epsilon(1e-12));
  CHECK(last.accuracy == Approx(r.accuracy).epsilon(1e-12));
  CHECK(adam.steps() == 55);
  CHECK(r.examples == 1030);
  const EpochResult eval = runner.evaluate(model, data);
  CHECK(eval.accuracy > 0.95);
  CHECK(eval.cross_entropy < 0.2);
  CHECK(eval.kl == 0.0);
}

TEST_CASE("EpochRunner runs are reproducible from the seed", "[training]") {
  const auto data = blobs(300, 3);
  auto train_once = [&](std::uint64_t seed) {
    Rng rng(seed);
    auto model = mlp<double>({5, 8, 2}, rng);
    Adam<double> adam({ParamGroup<double>{"all", model.parameters(), 1e-2}});
    EpochRunner<double> runner(EpochOptions{}.with_batch(32));
    runner.train_epoch(model, adam, data, rng);
    return Matrix<double>(model.parameters().front()->value);
  };
  CHECK(train_once(7) == train_once(7));
  CHECK(train_once(7) != train_once(8));
}

TEST_CASE("EpochRunner stops with a clear error when the loss is not finite", "[training]") {
  auto data = blobs(200, 4);
  data.images(3, 150) = std::numeric_limits<double>::quiet_NaN();
  Rng rng(5);
  auto model = mlp<double>({5, 4, 2}, rng);
  Adam<double> adam({ParamGroup<double>{"all", model.parameters(), 1e-2}});
  EpochRunner<double> runner;
  CHECK_THROWS_WITH(runner.train_epoch(model, adam, data, rng),
                    Catch::Contains("cross-entropy") && Catch::Contains("nan") && Catch::Contains("learning rate"));
}

TEST_CASE("EpochRunner rejects bad options and data that does not fit the model", "[training]") {
  CHECK_THROWS_AS(EpochRunner<float>(EpochOptions{}.with_batch(0)), InvalidArgument);
  CHECK_THROWS_AS(EpochRunner<float>(EpochOptions{}.with_kl_weight(-1)), InvalidArgument);
  const auto data = blobs(50, 6);
  Rng rng(6);
  auto model = mlp<double>({7, 4, 2}, rng);  // expects 7 features, the data has 5
  Adam<double> adam({ParamGroup<double>{"all", model.parameters(), 1e-2}});
  EpochRunner<double> runner;
  CHECK_THROWS_AS(runner.train_epoch(model, adam, data, rng), ShapeError);
  CHECK_THROWS_AS(mlp<double>({7}, rng), InvalidArgument);
}

TEST_CASE("EpochRunner without shuffle feeds the stored order every epoch", "[training]") {
  // Plain SGD on a linear model: the weights after an epoch depend on the order of the batches, and with the stored
  // order not on the generator at all.
  const auto data = blobs(250, 5);  // batches of 64: three full, then 58
  auto train_once = [&](std::uint64_t seed, bool shuffle, int epochs) {
    Rng init(1);
    auto model = mlp<double>({5, 2}, init);
    Adam<double> adam({ParamGroup<double>{"all", model.parameters(), 1e-2}});
    EpochRunner<double> runner(EpochOptions{}.with_batch(64).with_shuffle(shuffle));
    Rng rng(seed);
    for (int e = 0; e < epochs; ++e) runner.train_epoch(model, adam, data, rng);
    return Matrix<double>(model.parameters().front()->value);
  };
  CHECK(train_once(7, false, 2) == train_once(8, false, 2));
  CHECK(train_once(7, true, 2) != train_once(8, true, 2));
  CHECK(train_once(7, false, 2) != train_once(7, true, 2));

  // The same as training on the stored batches by hand.
  Rng init(1);
  auto model = mlp<double>({5, 2}, init);
  Adam<double> adam({ParamGroup<double>{"all", model.parameters(), 1e-2}});
  EpochRunner<double> runner(EpochOptions{}.with_batch(64).with_shuffle(false));
  Rng rng(9);
  for (Index first = 0; first < data.size(); first += 64) {
    Dataset<double> part;
    const Index count = std::min<Index>(64, data.size() - first);
    part.shape = data.shape;
    part.images = data.images.middleCols(first, count);
    part.labels = data.labels.segment(first, count);
    runner.train_epoch(model, adam, part, rng);  // one batch each, in the order stored
  }
  CHECK(Matrix<double>(model.parameters().front()->value) == train_once(7, false, 1));
}
