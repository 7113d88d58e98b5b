// The ELBO's parts, the KL warm-up and learning-rate presets, and errors that name the layer that produced a NaN.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/training/family_recipes.hpp"
#include "bayesdrop/training/fit.hpp"
#include "support/random_images.hpp"

using namespace bayesdrop;

TEST_CASE("ElboTerms add up as mean CE + weight * KL / N + L2", "[training][elbo]") {
  const ElboTerms t = elbo_terms(0.25, 600.0, 0.5, 60000, 0.01);
  // 0.25 + 0.5 * 600 / 60000 + 0.01 = 0.25 + 0.005 + 0.01
  CHECK(t.kl_term() == Approx(0.005));
  CHECK(t.total() == Approx(0.265));
  CHECK_THROWS_AS(elbo_terms(0.1, 1, 1, 0), InvalidArgument);
  CHECK_THROWS_AS(elbo_terms(0.1, 1, -1, 10), InvalidArgument);
}

TEST_CASE("l2_penalty is wd / 2 times the sum of squares", "[training][elbo]") {
  Parameter<double> w("weight", ParamRole::weight, 2, 2), b("bias", ParamRole::bias, 2, 1);
  w.value << 1, 2, 3, 4;  // 1 + 4 + 9 + 16 = 30
  b.value << -1, 0.5;     // 1 + 0.25
  CHECK(l2_penalty<double>({&w, &b}, 1e-4) == Approx(1e-4 * 0.5 * 31.25));
}

TEST_CASE("the training epoch reports the ELBO parts it minimised", "[training][elbo]") {
  Rng rng(3);
  Dataset<double> data;
  data.shape = ImageShape{1, 1, 4};
  data.images.resize(4, 64);
  rng.normal(data.images);
  data.labels.resize(64);
  for (Index i = 0; i < 64; ++i) data.labels[i] = Label(data.images(0, i) > 0);
  MlpOptions<double> options;
  options.with_dense([](Index in, Index out, std::size_t, Rng& r) -> LayerPtr<double> {
    return std::make_unique<SparseVDLinear<double>>(in, out, r);
  });
  auto model = mlp<double>({4, 6, 2}, rng, options);
  const double wd = 1e-3;
  Adam<double> adam(
      {ParamGroup<double>{"w", with_roles(model.parameters(), {ParamRole::weight, ParamRole::bias}), 1e-3, wd},
       ParamGroup<double>{"noise", with_roles(model.parameters(), {ParamRole::noise}), 1e-3}});
  EpochRunner<double> runner(EpochOptions{}.with_batch(16).with_kl_weight(0.3));
  const EpochResult r = runner.train_epoch(model, adam, data, rng);
  CHECK(r.elbo.n == 64);
  CHECK(r.elbo.kl_weight == 0.3);
  CHECK(r.elbo.kl == Approx(double(model.kl())));
  CHECK(r.elbo.cross_entropy == r.cross_entropy);
  CHECK(r.elbo.l2 == Approx(l2_penalty(with_roles(model.parameters(), {ParamRole::weight, ParamRole::bias}), wd)));
  CHECK(r.elbo.total() == Approx(r.cross_entropy + 0.3 * r.elbo.kl / 64 + r.elbo.l2));
}

TEST_CASE("KL warm-up: rw_linear is 0 up to epoch 5, (epoch - 5) / 15 to epoch 20, then 1", "[training][schedule]") {
  const KlSchedule s = KlSchedule::linear(5, 20);
  CHECK(s.at(0) == 0.0);
  CHECK(s.at(4) == 0.0);
  CHECK(s.at(5) == 0.0);
  CHECK(s.at(6) == Approx(1.0 / 15));
  CHECK(s.at(12.5) == Approx(0.5));
  CHECK(s.at(19) == Approx(14.0 / 15));
  CHECK(s.at(20) == 1.0);
  CHECK(s.at(150) == 1.0);
  CHECK(KlSchedule::constant(0.25).at(7) == 0.25);
  CHECK_THROWS_AS(KlSchedule::linear(5, 5), InvalidArgument);
  CHECK_THROWS_AS(KlSchedule::constant(-1), InvalidArgument);
}

TEST_CASE("recipes: the assignment's rates and steps, sparse VD's decay and warm-up", "[training][schedule]") {
  const Recipe a = recipe_for_dropout("bbd");
  CHECK(a.name == "assignment");
  const LrSchedule s = a.schedule(600, 60);  // 60 epochs of 600 batches: boundaries at 600 * 59 * {0.5, 0.75}
  CHECK(s.factor(0) == 1.0);
  CHECK(s.factor(17699) == 1.0);
  CHECK(s.factor(17700) == Approx(0.1));
  CHECK(s.factor(26549) == Approx(0.1));
  CHECK(s.factor(26550) == Approx(0.01));
  CHECK(a.kl_schedule(60).is_constant());

  const Recipe v = recipe_for_dropout("sparsevd", "lenet300");
  CHECK(v.name == "sparsevd");
  CHECK(v.weight_decay == 0.0);
  CHECK(v.lr_noise == v.lr_weights);
  const LrSchedule d = v.schedule(10, 100);  // 1000 steps
  CHECK(d.factor(0) == 1.0);
  CHECK(d.factor(500) == Approx(1.0));
  CHECK(d.factor(750) == Approx(0.5).margin(1e-3));
  CHECK(d.factor(999) == Approx(0.002));  // (1000 - 999) / 500
  CHECK(v.kl_schedule(200).at(5) == 0.0);
  CHECK(v.kl_schedule(200).at(20) == 1.0);
  CHECK(v.kl_schedule(12).at(1) == 0.0);  // 5 and 20 scaled by 12/60: 1 and 4
  CHECK(v.kl_schedule(12).at(2.5) == Approx(0.5));

  const Recipe l5 = recipe_for_dropout("sparsevd", "lenet5");
  CHECK(l5.name == "sparsevd_lenet5");
  CHECK_THROWS_WITH(recipe_for_dropout("sparse_vd"), Catch::Contains("unknown dropout type 'sparse_vd'"));
  CHECK(l5.schedule(10, 100).factor(500) == Approx(0.5).margin(1e-3));

  Rng rng(1);
  auto model = build_model<float>(ModelSpec{"mlp", "sbp"}, rng);
  const auto groups = a.param_groups(model, 10, 10);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].params.size() == 6);  // three weights, three biases
  CHECK(groups[0].weight_decay == 1e-4);
  CHECK(groups[1].params.size() == 6);  // mu and log sigma of three gates
  CHECK(groups[1].lr == 1e-2);
  CHECK(groups[1].weight_decay == 0.0);
}

TEST_CASE("a NaN in training names the layer it came from", "[training][elbo]") {
  Rng rng(5);
  Dataset<double> data;
  data.shape = ImageShape{1, 1, 3};
  data.images = Matrix<double>::Ones(3, 20);
  data.labels = Labels::Zero(20);
  auto model = mlp<double>({3, 4, 2}, rng);
  Adam<double> adam({ParamGroup<double>{"all", model.parameters(), 1e-3}});
  EpochRunner<double> runner(EpochOptions{}.with_batch(10));

  SECTION("a parameter that became NaN") {
    model.parameters()[2]->value(0, 0) = std::numeric_limits<double>::quiet_NaN();  // layer 2's weight
    REQUIRE_THROWS_AS(runner.train_epoch(model, adam, data, rng), NumericalError);
    REQUIRE_THROWS_WITH(runner.train_epoch(model, adam, data, rng),
                        Catch::Contains("layer 2 (Linear) parameter 'weight' holds NaN"));
  }
  SECTION("an input that holds Inf") {
    data.images(1, 3) = std::numeric_limits<double>::infinity();
    REQUIRE_THROWS_WITH(runner.train_epoch(model, adam, data, rng), Catch::Contains("input batch holds Inf"));
  }
}

TEST_CASE("fit runs the recipe's epochs, logs each and calls back", "[training]") {
  Rng rng(7);
  const Dataset<float> data = test::random_images(200, rng);
  auto model = build_model<float>(ModelSpec{"mlp", "bbd"}, rng);
  Recipe recipe = Recipe::assignment();
  int starts = 0, ends = 0;
  const auto history =
      fit(model, recipe, data, &data, rng,
          FitOptions{}
              .with_epochs(2)
              .with_on_epoch([&](const EpochLog& log) { ends += log.epoch; })
              .with_on_epoch_start([&](int, const std::vector<double>& lr, const std::vector<Index>& n_active) {
                ++starts;
                CHECK(lr.size() == 2);
                CHECK(n_active.size() == 3);
              }));
  REQUIRE(history.size() == 2);
  CHECK(starts == 2);
  CHECK(ends == 3);
  CHECK(history[0].lr[1] == Approx(1e-2));
  CHECK(history[1].n_active.size() == 3);
  CHECK(history[1].test.examples == 200);
  CHECK(history[1].train.elbo.kl > 0);
}
