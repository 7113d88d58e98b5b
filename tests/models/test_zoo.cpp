// The model zoo (every network with every dropout type), LeNet-5-Caffe's shapes, and the pruning summary's counts
// on hand-pruned models.
#include <catch2/catch.hpp>

#include "bayesdrop/models/summary.hpp"
#include "bayesdrop/models/zoo.hpp"

using namespace bayesdrop;

TEST_CASE("every network builds with every dropout type and runs in both modes", "[models]") {
  for (const auto& model : model_names()) {
    for (const auto& dropout : dropout_names()) {
      INFO(model << " with " << dropout);
      Rng rng(1);
      CHECK(model_takes_dropout(model, dropout) ==
            (!model_reads_images(model) || model == "lenet5" || !dropout_family(dropout).has_conv()));
      if (!model_takes_dropout(model, dropout)) {  // the lenet5 variants change the plain convolutions
        CHECK_THROWS_WITH(build_model<float>(ModelSpec{model, dropout}, rng),
                          Catch::Contains(model) && Catch::Contains("builds its own"));
        continue;
      }
      auto net = build_model<float>(ModelSpec{model, dropout}, rng);
      CHECK(net.input_rows() == 784);
      CHECK(net.output_rows() == 10);
      Matrix<float> x(784, 3);
      rng.uniform(x);
      const Matrix<float> y_train = net.forward(x, Context::train(rng));
      const Matrix<float> y_eval = net.forward(x, Context::eval());
      CHECK(y_train.allFinite());
      CHECK(y_eval.allFinite());
      const ModelSummary s = summarize(net);
      CHECK(s.layers.size() == (model_reads_images(model) ? 4u : 3u));
      // Nothing pruned at initialisation, except sparse VD's smallest weights (theta ~ N(0, 0.01^2) with
      // log sigma^2 = -10 has log alpha > 3 wherever |theta| < 1.5e-3).
      if (dropout != "sparsevd") CHECK(s.memory_kept() == Approx(1.0));
      const bool gated = dropout_family(dropout).has_gates();  // not ssl, sparsevd or none
      CHECK(s.n_active.size() == (gated ? (model_reads_images(model) ? 4u : 3u) : 0u));
    }
  }
  Rng rng(1);
  CHECK_THROWS_WITH(build_model<float>(ModelSpec{"mlp", "dropconnect"}, rng),
                    Catch::Contains("unknown dropout type 'dropconnect'"));
  CHECK_THROWS_WITH(build_model<float>(ModelSpec{"vgg", "none"}, rng), Catch::Contains("unknown model 'vgg'"));
  CHECK_THROWS_AS(build_model<float>(ModelSpec{"mlp", "binary", 1.0, 0.5}, rng), InvalidArgument);
}

TEST_CASE("LeNet-5-Caffe: 20 and 50 channels of 5x5, 800 inputs to the first dense layer", "[models]") {
  Rng rng(2);
  auto net = build_model<double>(ModelSpec{"lenet5", "none"}, rng);
  const ModelSummary s = summarize(net);
  REQUIRE(s.layers.size() == 4);
  CHECK(s.layers[0].weights == 20 * 1 * 25);
  CHECK(s.layers[1].weights == 50 * 20 * 25);
  CHECK(s.layers[2].units_in == 800);
  CHECK(s.layers[2].weights == 800 * 500);
  CHECK(s.layers[3].weights == 500 * 10);
  CHECK(s.params() == 500 + 20 + 25000 + 50 + 400000 + 500 + 5000 + 10);  // 431080, as the papers count
  // Multiply-adds per example: conv1 at 24x24 positions, conv2 at 8x8.
  CHECK(s.layers[0].flops == 500.0 * 576);
  CHECK(s.layers[1].flops == 25000.0 * 64);
  CHECK(s.layers[2].flops == 400000.0);
}

namespace {
// Switches SBP units off: a wide posterior (log sigma = 2) has SNR far below 1.
void prune_sbp(Sequential<double>& net, Index gate_index, Index keep) {
  auto* sbp = dynamic_cast<StructuredBayesianPruning<double>*>(&net.layer(gate_index));
  REQUIRE(sbp != nullptr);
  for (Index k = keep; k < sbp->units(); ++k) sbp->log_sigma().value(k, 0) = 2.0;
  REQUIRE(sbp->n_active() == keep);
}
}  // namespace

TEST_CASE("summary of a gated MLP: gates decide the kept block of every dense layer", "[models]") {
  Rng rng(3);
  auto net = build_model<double>(ModelSpec{"mlp", "sbp"}, rng);
  // layers: 0 gate(784) 1 fc 2 relu 3 gate(500) 4 fc 5 relu 6 gate(300) 7 fc
  prune_sbp(net, 0, 400);
  prune_sbp(net, 3, 200);
  prune_sbp(net, 6, 100);
  const ModelSummary s = summarize(net);
  CHECK(s.n_active == std::vector<Index>{400, 200, 100});
  REQUIRE(s.layers.size() == 3);
  CHECK(s.layers[0].active_in == 400);
  CHECK(s.layers[0].active_out == 200);
  CHECK(s.layers[0].params_kept == 400 * 200 + 200);
  CHECK(s.layers[1].active_in == 200);
  CHECK(s.layers[1].active_out == 100);
  CHECK(s.layers[2].active_in == 100);
  CHECK(s.layers[2].active_out == 10);
  CHECK(s.layers[2].params_kept == 100 * 10 + 10);
  CHECK(s.layers[0].memory_kept() == Approx(80200.0 / 392500.0));
  CHECK(s.layers[0].input_kept() == Approx(400.0 / 784.0));
  const double all = 784 * 500 + 500 * 300 + 300 * 10, kept = 400 * 200 + 200 * 100 + 100 * 10;
  CHECK(s.flops_kept() == Approx(kept / all));
  CHECK(s.params() == 784 * 500 + 500 + 500 * 300 + 300 + 300 * 10 + 10);
  CHECK(s.params_kept() == 80200 + 20100 + 1010);
}

TEST_CASE("summary of a sparse VD MLP counts individual weights", "[models]") {
  Rng rng(4);
  auto net = build_model<double>(ModelSpec{"lenet300", "sparsevd"}, rng);
  // Keep every weight (theta = 0.1: log alpha = -10 - log 0.01 = -5.4), then prune all but the first 10 columns of
  // the first layer (log sigma^2 = 10: log alpha clipped at 8 > 3).
  for (auto* p : net.parameters()) {
    if (p->name == "theta") p->value.setConstant(0.1);
  }
  auto* fc1 = dynamic_cast<SparseVDLinear<double>*>(&net.layer(0));
  REQUIRE(fc1 != nullptr);
  fc1->parameters()[1]->value.rightCols(784 - 10).setConstant(10.0);
  const ModelSummary s = summarize(net);
  CHECK(s.layers[0].active_in == 10);
  CHECK(s.layers[0].active_weights == 10 * 300);
  CHECK(s.layers[0].compression() == Approx(784.0 / 10.0));
  const double weights = 784 * 300 + 300 * 100 + 100 * 10;
  CHECK(s.compression() == Approx(weights / (3000 + 300 * 100 + 100 * 10)));
}

TEST_CASE("LeNet-5 as SBP's script builds it: SAME padding gives 2450 dense inputs; the bias can follow the gate",
          "[models]") {
  Rng rng(4);
  auto same = build_model<float>(ModelSpec{"lenet5-same", "sbp"}, rng);
  const auto dense = summarize(same).layers;
  REQUIRE(dense.size() == 4u);
  CHECK(dense[0].units_in == 1);     // conv1 reads the one pixel channel
  CHECK(dense[2].units_in == 2450);  // 50 x 7 x 7: 28 -> 28 -> pool 14 -> 14 -> pool 7
  auto after = build_model<float>(ModelSpec{"lenet5-bias-after-gate", "sbp"}, rng);
  // conv1 (no bias), gate, ChannelBias, pool, ReLU, conv2 (no bias), gate, ChannelBias, ...
  std::vector<std::string> names;
  for (Index i = 0; i < 8; ++i) names.emplace_back(after.layer(i).name());
  CHECK(names == std::vector<std::string>{"Conv2d", "StructuredBayesianPruning", "ChannelBias", "MaxPool2d", "ReLU",
                                          "Conv2d", "StructuredBayesianPruning", "ChannelBias"});
  CHECK(after.layer(0).parameters().size() == 1u);  // the weights only: the bias moved behind the gate
  auto plain = build_model<float>(ModelSpec{"lenet5", "sbp"}, rng);
  CHECK(plain.layer(0).parameters().size() == 2u);
  // The same number of trained values: the bias moved, none was added.
  Index moved = 0, original = 0;
  for (auto* p : after.parameters()) moved += p->size();
  for (auto* p : plain.parameters()) original += p->size();
  CHECK(moved == original);
}

TEST_CASE("lenet5() refuses its padding and bias placement with a family's own convolutions", "[models]") {
  Rng rng(6);
  LeNet5Options<float> options;
  options.with_conv([](ImageShape in, Index channels, Index kernel, std::size_t, Rng& r) -> LayerPtr<float> {
    return std::make_unique<Conv2d<float>>(in, channels, kernel, r);
  });
  CHECK_NOTHROW(lenet5<float>(rng, options));
  CHECK_THROWS_WITH(
      lenet5<float>(rng, LeNet5Options<float>(options).with_conv_window(WindowOptions{}.with_same_padding())),
      Catch::Contains("plain Conv2d only"));
  CHECK_THROWS_WITH(lenet5<float>(rng, LeNet5Options<float>(options).with_gate_before_bias(true)),
                    Catch::Contains("plain Conv2d only"));
}

TEST_CASE("lenet5-same-bias-after-gate has both of SBP's script's choices", "[models]") {
  Rng rng(4);
  auto both = build_model<float>(ModelSpec{"lenet5-same-bias-after-gate", "sbp"}, rng);
  CHECK(summarize(both).layers.at(2).units_in == 2450);
  CHECK(std::string(both.layer(2).name()) == "ChannelBias");
  CHECK(both.layer(0).parameters().size() == 1u);
  CHECK_FALSE(model_takes_dropout("lenet5-same-bias-after-gate", "sparsevd"));
}

TEST_CASE("ModelSpec::dense_init starts the plain dense layers, and a family with its own refuses it", "[models]") {
  for (const std::string net : {"lenet5", "mlp"}) {
    ModelSpec spec{net, "sbp"};
    spec.dense_init = Init::truncated_normal(0.01);
    Rng rng(5);
    auto model = build_model<float>(spec, rng);
    Index dense = 0;
    for (Index i = 0; i < model.size(); ++i) {
      if (std::string(model.layer(i).name()) != "Linear") continue;
      const auto& w = model.layer(i).parameters().front()->value;
      CHECK(w.array().abs().maxCoeff() <= 0.02f);
      CHECK(w.array().abs().maxCoeff() > 0.015f);
      ++dense;
    }
    CHECK(dense == (net == "mlp" ? 3 : 2));
    // The convolutions keep Glorot uniform: conv1's limit sqrt(6 / (25 + 500)) = 0.107.
    if (net == "lenet5") CHECK(model.layer(0).parameters().front()->value.array().abs().maxCoeff() > 0.05f);
    // The default stays Glorot uniform: dense1 of lenet5 U(-0.077, 0.077), of the MLP U(-0.069, 0.069).
    Rng again(5);
    auto glorot = build_model<float>(ModelSpec{net, "sbp"}, again);
    for (Index i = 0; i < glorot.size(); ++i) {
      if (std::string(glorot.layer(i).name()) == "Linear") {
        CHECK(glorot.layer(i).parameters().front()->value.array().abs().maxCoeff() > 0.05f);
        break;
      }
    }
  }
  ModelSpec own{"lenet5", "sparsevd"};
  own.dense_init = Init::truncated_normal(0.01);
  Rng rng(5);
  CHECK_THROWS_WITH(build_model<float>(own, rng), Catch::Contains("builds its own"));
}
