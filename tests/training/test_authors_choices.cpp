// The authors' training choices as recipe options: each changes what it should.
#include <catch2/catch.hpp>
#include <string>

#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"
#include "bayesdrop/layers/variational_linear.hpp"
#include "bayesdrop/models/model_file.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/training/authors_choices.hpp"
#include "bayesdrop/training/fit.hpp"
#include "support/random_images.hpp"

using namespace bayesdrop;

TEST_CASE("train_clip masks sparse VD weights of log alpha >= 3 in training", "[training][authors]") {
  // One input drives every output; weight (0, 0) has a huge log sigma^2, so log alpha > 3: with train_clip its mean
  // contribution theta * x is gone from the training output, the noise (same seed) unchanged.
  auto outputs = [](bool clip) {
    Rng init(1);
    Sequential<double> model;
    model.add(std::make_unique<SparseVDLinear<double>>(4, 3, init));
    auto* layer = dynamic_cast<SparseVDLinear<double>*>(&model.layer(0));
    layer->parameters()[0]->value(0, 0) = 0.7;   // theta
    layer->parameters()[1]->value(0, 0) = 10.0;  // log sigma^2: log alpha = 10 - log 0.49, clipped to 8
    // The other weights of input 0 get theta = 0.5 (log alpha = -10 - log 0.25 < 3): an initial theta below about
    // 1.5e-3 in magnitude would have log alpha >= 3 as well and be masked too.
    layer->parameters()[0]->value.col(0).tail(2).setConstant(0.5);
    Recipe recipe = Recipe::sparsevd();
    recipe.train_clip = clip;
    apply_model_choices(model, recipe);
    CHECK(layer->options().train_mask == clip);
    Matrix<double> x = Matrix<double>::Zero(4, 5), y;
    x.row(0).setConstant(2.0);
    Rng noise(5);
    model.forward(x, y, Context::train(noise));
    return y;
  };
  const Matrix<double> plain = outputs(false), clipped = outputs(true);
  CHECK(((plain.row(0).array() - clipped.row(0).array()) - 0.7 * 2.0).abs().maxCoeff() < 1e-12);
  CHECK((plain.bottomRows(2) - clipped.bottomRows(2)).cwiseAbs().maxCoeff() == 0.0);

  Rng rng(2);
  auto gated = build_model<float>(ModelSpec{"lenet300", "bbd"}, rng);
  Recipe recipe;
  recipe.train_clip = true;
  CHECK_THROWS_WITH(apply_model_choices(gated, recipe), Catch::Contains("no sparse VD layers"));
}

TEST_CASE("kl_scales weigh each noise layer's KL and its gradient", "[training][authors]") {
  Rng rng(3);
  auto model = build_model<double>(ModelSpec{"lenet300", "bbd"}, rng);
  const auto layers = noise_layers(model);
  REQUIRE(layers.size() == 3);
  const double k0 = model.layer(layers[0]).kl(), k1 = model.layer(layers[1]).kl(), k2 = model.layer(layers[2]).kl();
  REQUIRE(model.kl() == Approx(k0 + k1 + k2));
  auto* gate0 = model.layer(layers[0]).parameters()[0];
  model.kl_backward(1.0);
  const Matrix<double> grad_plain = gate0->grad;
  model.zero_grad();

  Recipe recipe;
  recipe.kl_scales = {40.0, 0.0, 1.0};
  apply_model_choices(model, recipe);
  CHECK(model.kl() == Approx(40 * k0 + k2));
  model.kl_backward(1.0);
  CHECK((gate0->grad - 40.0 * grad_plain).cwiseAbs().maxCoeff() < 1e-9 * grad_plain.cwiseAbs().maxCoeff());
  CHECK(model.layer(layers[1]).parameters()[0]->grad.isZero(0));

  recipe.kl_scales = {1.0, 2.0};
  CHECK_THROWS_WITH(apply_model_choices(model, recipe), Catch::Contains("2 scales for a model with 3 noise layers"));
  recipe.kl_scales = {1.0, -2.0, 1.0};
  CHECK_THROWS_AS(apply_model_choices(model, recipe), InvalidArgument);

  auto lenet5 = build_model<float>(ModelSpec{"lenet5", "bbd"}, rng);
  CHECK(noise_layers(lenet5).size() == authors_bbd_lenet5_kl_scales().size());
}

TEST_CASE("kl_scales count every layer with a KL term: variational type B, and not binary dropout",
          "[training][authors]") {
  Rng rng(5);
  Sequential<double> model;  // two VariationalLinear layers (Kingma 2015, type B): both carry a KL
  model.emplace<VariationalLinear>(20, 8, rng);
  model.emplace<ReLU>(8);
  model.emplace<VariationalLinear>(8, 3, rng);
  REQUIRE(noise_layers(model) == std::vector<Index>{0, 2});
  const double k0 = model.layer(0).kl(), k2 = model.layer(2).kl();
  REQUIRE(k0 != 0);  // the approximation of Kingma et al. (2015) may be negative
  Recipe recipe;
  recipe.kl_scales = {3.0, 0.5};
  apply_model_choices(model, recipe);
  CHECK(model.kl() == Approx(3 * k0 + 0.5 * k2));

  // Binary dropout has no KL, so it has nothing to scale.
  auto binary = build_model<float>(ModelSpec{"lenet300", "binary"}, rng);
  CHECK(noise_layers(binary).empty());
  recipe.kl_scales = {1.0, 1.0, 1.0};
  CHECK_THROWS_WITH(apply_model_choices(binary, recipe), Catch::Contains("3 scales for a model with 0 noise layers"));
}

TEST_CASE("SBP's Adam: beta1 0.95, constant rate, then linear to 0 from the middle", "[training][authors]") {
  const Recipe r = Recipe::sbp_authors();
  CHECK(r.adam_beta1 == 0.95);
  CHECK(adam_options(r).beta1 == 0.95);
  CHECK(r.lr_noise == r.lr_weights);
  CHECK(r.weight_decay == 0);
  const LrSchedule s = r.schedule(600, 200);
  CHECK(s.factor(0) == 1.0);
  CHECK(s.factor(600 * 100) == 1.0);
  CHECK(s.factor(600 * 150) == Approx(0.5));
  CHECK(s.factor(600 * 200) == 0.0);

  // fit() with the recipe trains with its beta1: the same as Adam built by hand with beta1 = 0.95.
  Rng data_rng(4);
  const Dataset<float> data = test::random_images(40, data_rng);
  auto train = [&](bool by_hand) {
    Rng rng(6);
    auto model = build_model<float>(ModelSpec{"lenet300", "sbp"}, rng);
    auto opts = FitOptions{}.with_epochs(2).with_batch(20);
    if (by_hand) {
      Adam<float> adam(r.param_groups(model, 2, 2), AdamOptions{}.with_betas(0.95, 0.999));
      fit(model, adam, data, static_cast<const Dataset<float>*>(nullptr), rng, opts.with_kl(r.kl_schedule(2)));
    } else {
      fit(model, r, data, static_cast<const Dataset<float>*>(nullptr), rng, opts);
    }
    return serialize_model(model);
  };
  CHECK(train(false) == train(true));
  Recipe plain = r;
  plain.adam_beta1 = 0.9;
  CHECK(adam_options(plain).beta1 == 0.9);
}

TEST_CASE("a pretrained start copies the plain weights and keeps the noise at its initial value",
          "[training][authors]") {
  Rng rng(7);
  auto plain = build_model<float>(ModelSpec{"lenet300", "none"}, rng);
  auto svd = build_model<float>(ModelSpec{"lenet300", "sparsevd"}, rng);
  copy_pretrained_weights(plain, svd);
  auto* theta = svd.layer(0).parameters()[0];
  auto* log_sigma2 = svd.layer(0).parameters()[1];
  CHECK(theta->value == plain.layer(0).parameters()[0]->value);
  CHECK((log_sigma2->value.array() == float(kSparseVDLogSigma2Init)).all());  // the scripts' lsinit = -10

  auto gated = build_model<float>(ModelSpec{"lenet300", "sbp"}, rng);
  copy_pretrained_weights(plain, gated);
  CHECK(with_roles(gated.parameters(), {ParamRole::weight})[2]->value ==
        with_roles(plain.parameters(), {ParamRole::weight})[2]->value);
  auto other = build_model<float>(ModelSpec{"mlp", "none"}, rng);
  CHECK_THROWS_WITH(copy_pretrained_weights(other, gated), Catch::Contains("in the plain network"));
}
