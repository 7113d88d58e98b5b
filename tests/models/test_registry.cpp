// The dropout-family registry: the library's families and their one spelling, and a family defined and registered
// only in this file that trains through build_model, its recipe, fit() and compact() without any library change.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/models/compact.hpp"
#include "bayesdrop/models/registry.hpp"
#include "bayesdrop/models/summary.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/training/family_recipes.hpp"
#include "bayesdrop/training/fit.hpp"

using namespace bayesdrop;

namespace {

// The test family: a deterministic gate that keeps the even units and switches the odd ones off, in training and in
// evaluation alike (y = x * m, m_k = 1 for even k, 0 for odd k). It has no parameters, so compact() drops every odd
// unit and the next layer's columns that read it.
template <class Scalar>
class EveryOtherGate : public Gate<Scalar> {
 public:
  using typename Gate<Scalar>::MatrixType;
  using typename Gate<Scalar>::VectorType;

  explicit EveryOtherGate(ImageShape shape) : Gate<Scalar>(shape, "EveryOtherGate") {}

  std::string_view name() const override { return "EveryOtherGate"; }
  void forward(const MatrixType& x, MatrixType& y, const Context&) override {
    this->check_input(x);
    this->scale_per_unit(x, eval_scale(), y);
  }
  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    this->check_output_grad(x, dy);
    if (dx) this->scale_per_unit(dy, eval_scale(), *dx);
  }
  Index n_active() const override { return (this->units() + 1) / 2; }
  VectorType eval_scale() const override {
    VectorType m(this->units());
    for (Index k = 0; k < m.size(); ++k) m[k] = k % 2 == 0 ? Scalar(1) : Scalar(0);
    return m;
  }
};

Recipe every_other_recipe(const std::string&) {
  Recipe r = Recipe::assignment().with_constant_lr();
  r.name = "everyother";
  r.epochs = 3;
  r.batch = 50;
  return r;
}

const DropoutFamilyRegistrar every_other_registrar(DropoutFamily("everyother", "keeps the even units (a test family)")
                                                       .with_gate([](auto scalar, const GateSite& site, Rng&) {
                                                         using S = typename decltype(scalar)::type;
                                                         return LayerPtr<S>(
                                                             std::make_unique<EveryOtherGate<S>>(site.shape));
                                                       }));
// Its recipe, registered under its name beside it (how a family trains is training/'s, not the registry's).
const FamilyRecipeRegistrar every_other_recipe_registrar("everyother", every_other_recipe);

// 10 classes; an image of class c is noise in [0, 0.2) plus 0.8 on pixels [78 c, 78 c + 78): learnable from the even
// pixels alone.
Dataset<float> blocks(Index n, Rng& rng) {
  Dataset<float> d;
  d.images.resize(784, n);
  rng.uniform(d.images);
  d.images *= 0.2f;
  d.labels.resize(n);
  for (Index i = 0; i < n; ++i) {
    const int c = int(i % 10);
    d.labels[i] = c;
    d.images.col(i).segment(78 * c, 78).array() += 0.8f;
  }
  return d;
}

}  // namespace

TEST_CASE("registry: the library's families, one spelling each, and their help", "[models][registry]") {
  const auto names = dropout_names();
  const std::vector<std::string> builtin{"none", "binary", "gaussian", "variational", "sparsevd", "bbd",
                                         "sbp",  "dbb",    "vib",      "gd",          "l0",       "ssl"};
  REQUIRE(names.size() >= builtin.size());
  CHECK(std::vector<std::string>(names.begin(), names.begin() + 12) == builtin);
  for (const auto& n : names) {
    INFO(n);
    CHECK(dropout_family(n).name() == n);
    CHECK(!dropout_family(n).help().empty());
    CHECK(dropout_help().find(n + ": ") != std::string::npos);
  }
  CHECK(!dropout_family("none").has_gates());
  CHECK(!dropout_family("sparsevd").has_gates());
  CHECK(dropout_family("sparsevd").factories<float>().dense);
  CHECK(dropout_family("sbp").has_gates());
  CHECK(recipe_for_dropout("sparsevd", "lenet5").name == "sparsevd_lenet5");
  CHECK(recipe_for_dropout("sbp").name == "assignment");
  CHECK(recipe_for_dropout("everyother").name == "everyother");
  CHECK_THROWS_WITH(recipe_for_dropout("sparse_vd"), Catch::Contains("unknown dropout type 'sparse_vd'"));
  CHECK_THROWS_WITH(register_family_recipe("sparsevd", every_other_recipe), Catch::Contains("has a recipe already"));
  CHECK_THROWS_AS(register_family_recipe("", every_other_recipe), InvalidArgument);
  CHECK_THROWS_AS(register_family_recipe("someone", FamilyRecipe{}), InvalidArgument);
  CHECK_THROWS_WITH(dropout_family("sparse_vd"),
                    Catch::Contains("unknown dropout type 'sparse_vd'") && Catch::Contains("sparsevd"));
  CHECK_THROWS_AS(register_dropout_family(DropoutFamily("bbd", "again")), InvalidArgument);
  CHECK_THROWS_AS(register_dropout_family(DropoutFamily("two words", "bad")), InvalidArgument);
  CHECK_THROWS_AS(register_dropout_family(DropoutFamily("", "bad")), InvalidArgument);
}

// The built-in families declare what they put into a network (has_gates, has_dense, has_conv) apart from their
// factories, so that listing them instantiates no layer; the two must agree, in both precisions.
template <class Scalar>
void check_kinds_match_factories() {
  for (const auto& n : dropout_names()) {
    INFO(n);
    const DropoutFamily& f = dropout_family(n);
    const DropoutFactories<Scalar>& make = f.template factories<Scalar>();
    CHECK(f.has_gates() == bool(make.gate));
    CHECK(f.has_dense() == bool(make.dense));
    CHECK(f.has_conv() == bool(make.conv));
  }
}

TEST_CASE("registry: each family's kinds are the factories it has", "[models][registry]") {
  check_kinds_match_factories<float>();
  check_kinds_match_factories<double>();
  CHECK(dropout_family("sparsevd").has_conv());
  CHECK(!dropout_family("bbd").has_dense());
}

TEST_CASE("registry: the drop rate rule puts p_input on the pixels and on lenet5's conv channels",
          "[models][registry]") {
  Rng rng(1);
  const ModelSpec mlp_spec{"mlp", "binary", 0.1, 0.4};
  auto net = build_model<float>(mlp_spec, rng);
  std::vector<double> rates;
  for (Index i = 0; i < net.size(); ++i) {
    if (const auto* g = dynamic_cast<const BinaryDropout<float>*>(&net.layer(i))) rates.push_back(g->p());
  }
  CHECK(rates == std::vector<double>{0.1, 0.4, 0.4});
  auto lenet = build_model<float>(ModelSpec{"lenet5", "binary", 0.1, 0.4}, rng);
  rates.clear();
  for (Index i = 0; i < lenet.size(); ++i) {
    if (const auto* g = dynamic_cast<const BinaryDropout<float>*>(&lenet.layer(i))) rates.push_back(g->p());
  }
  CHECK(rates == std::vector<double>{0.1, 0.1, 0.4, 0.4});
}

TEST_CASE("registry: a family registered in a test file trains through build_model, its recipe, fit and compact",
          "[models][registry]") {
  const auto names = dropout_names();
  REQUIRE(std::find(names.begin(), names.end(), "everyother") != names.end());

  Rng rng(7);
  const Dataset<float> data = blocks(500, rng);
  const ModelSpec spec{"mlp", "everyother"};
  Sequential<float> model = build_model<float>(spec, rng);
  const ModelSummary before = summarize(model);
  REQUIRE(before.n_active.size() == 3);  // a gate in front of each of the three dense layers
  CHECK(before.n_active[0] == 392);

  const Recipe recipe = recipe_for_dropout(spec.dropout, spec.model);
  CHECK(recipe.name == "everyother");
  const auto history = fit(model, recipe, data, &data, rng);
  REQUIRE(history.size() == 3);  // the family's recipe says 3 epochs
  CHECK(history.back().test.accuracy > 0.9);

  // compact(): the odd units are gone, the predictions are those of the masked model.
  Sequential<float> small = compact(model);
  CHECK(small.layer(0).name() == "SelectRows");
  CHECK(small.layer(0).output_rows() == 392);
  const Matrix<float> x = data.images.leftCols(20);
  const Matrix<float> ref = model.forward(x, Context::eval()), got = small.forward(x, Context::eval());
  REQUIRE(got.rows() == 10);
  CHECK((got - ref).cwiseAbs().maxCoeff() <= 1e-5f * ref.cwiseAbs().maxCoeff());  // summed in another order
}
