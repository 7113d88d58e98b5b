// compact(): every pruning method's hand-pruned model gives the same logits compacted (double, relative 1e-5) and the
// same classes (float, 200 inputs), with the parameter count of summarize(); unpruned models round-trip; unsupported
// layers and bad gates are refused; the eval-only layers refuse to train.
#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>

#include "bayesdrop/layers/batch_norm1d.hpp"
#include "bayesdrop/models/compact.hpp"
#include "bayesdrop/models/summary.hpp"
#include "bayesdrop/models/zoo.hpp"

using namespace bayesdrop;

namespace {

using Mask = Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic>;

/// k of 0..n-1 at random, ascending.
std::vector<Index> choose(Index n, Index k, Rng& rng) {
  std::vector<Index> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), Index(0));
  for (Index i = 0; i < k; ++i) std::swap(all[i], all[i + Index(rng.uniform_index(std::uint64_t(n - i)))]);
  all.resize(static_cast<std::size_t>(k));
  std::sort(all.begin(), all.end());
  return all;
}

/// Keeps a random `density` of the block rows x cols (every kept row and column keeps at least one weight).
Mask block_mask(Index out, Index in, const std::vector<Index>& rows, const std::vector<Index>& cols, double density,
                Rng& rng) {
  Mask m = Mask::Constant(out, in, false);
  for (Index r : rows) {
    for (Index c : cols) m(r, c) = rng.uniform_one() < density;
  }
  for (std::size_t i = 0; i < std::max(rows.size(), cols.size()); ++i)
    m(rows[i % rows.size()], cols[i % cols.size()]) = true;
  return m;
}

Mask random_mask(Index out, Index in, double density, Rng& rng) {
  Mask m(out, in);
  for (Index i = 0; i < m.size(); ++i) m(i) = rng.uniform_one() < density;
  return m;
}

/// Sets a sparse VD layer's theta (|theta| >= 0.05) and log sigma^2 so exactly `keep` survives, and a random bias.
template <class L>
void prune_sparse_vd(L& layer, const Mask& keep, Rng& rng) {
  auto& t = layer.theta().value;
  rng.normal(t);
  t = t.array().sign() * (t.array().abs() * 0.1 + 0.05);
  using S = typename L::MatrixType::Scalar;
  layer.log_sigma2().value = (S(10) - S(20) * keep.template cast<S>()).matrix();  // -10 kept, 10 pruned
  rng.normal(layer.bias().value);
  REQUIRE(layer.sparsity().active_weights == keep.count());
}

template <class S>
void prune_sbp(Sequential<S>& net, Index i, const std::vector<Index>& keep, Rng& rng) {
  auto* g = dynamic_cast<StructuredBayesianPruning<S>*>(&net.layer(i));
  REQUIRE(g != nullptr);
  g->log_sigma().value.setConstant(S(2));  // SNR < 1: pruned
  for (Index k : keep) {
    g->log_sigma().value(k, 0) = S(-5);
    g->mu().value(k, 0) = S(-rng.uniform_one());  // E[theta] ~ exp(mu) in [0.37, 1]
  }
  REQUIRE(g->n_active() == Index(keep.size()));
}

template <class S>
void prune_bbd(Sequential<S>& net, Index i, const std::vector<Index>& keep, Rng& rng) {
  auto* g = dynamic_cast<BetaBernoulliDropout<S>*>(&net.layer(i));
  REQUIRE(g != nullptr);
  g->raw_a().value.setConstant(S(-10));  // a = 4.5e-5: E[pi] ~ a^b < 1e-2
  g->raw_b().value.setConstant(S(1));
  for (Index k : keep) {
    g->raw_a().value(k, 0) = S(0.5 + rng.uniform_one());
    g->raw_b().value(k, 0) = S(rng.uniform_one());
  }
  REQUIRE(g->n_active() == Index(keep.size()));
}

/// Random biases, so that dropped rows and folded constants matter.
template <class S>
void randomize_biases(Sequential<S>& net, Rng& rng) {
  for (auto* p : net.parameters()) {
    if (p->role == ParamRole::bias) rng.normal(p->value);
  }
}

/// Values the compact model stores: dense weights and biases, or a SparseLinear's nonzeros and bias.
template <class S>
std::int64_t stored_values(Sequential<S>& net, bool nonzeros_only = false) {
  std::int64_t n = 0;
  for (Index i = 0; i < net.size(); ++i) {
    if (auto* s = dynamic_cast<SparseLinear<S>*>(&net.layer(i))) n += s->nonzeros() + s->bias().size();
    for (auto* p : net.layer(i).parameters()) {
      n += nonzeros_only && p->role == ParamRole::weight ? (p->value.array() != S(0)).count() : p->value.size();
    }
  }
  return n;
}

std::vector<std::string> layer_names(const Sequential<double>& net) {
  std::vector<std::string> names;
  for (Index i = 0; i < net.size(); ++i) names.emplace_back(net.layer(i).name());
  return names;
}

/// Double: the compact logits equal the masked model's to a relative 1e-5 (max-norm).
void check_logits(Sequential<double>& model, Sequential<double>& small, Index batch = 20) {
  Rng rng(99);
  Matrix<double> x(model.input_rows(), batch);
  rng.uniform(x);
  const Matrix<double> ref = model.forward(x, Context::eval());
  const Matrix<double> got = small.forward(x, Context::eval());
  REQUIRE(got.rows() == ref.rows());
  REQUIRE(got.cols() == ref.cols());
  CHECK((got - ref).cwiseAbs().maxCoeff() <= 1e-5 * ref.cwiseAbs().maxCoeff());
}

/// Float: the same class for 200 random inputs.
void check_classes(Sequential<float>& model, const CompactOptions& options = {}) {
  Sequential<float> small = compact(model, options);
  Rng rng(98);
  Matrix<float> x(model.input_rows(), 200);
  rng.uniform(x);
  const Matrix<float> ref = model.forward(x, Context::eval());
  const Matrix<float> got = small.forward(x, Context::eval());
  Index same = 0;
  for (Index j = 0; j < x.cols(); ++j) {
    Index a = 0, b = 0;
    ref.col(j).maxCoeff(&a);
    got.col(j).maxCoeff(&b);
    same += a == b ? 1 : 0;
  }
  CHECK(same == 200);
}

// --- the hand-pruned models, in both precisions -------------------------------------------------------------------

template <class S>
Sequential<S> mlp_sbp() {  // the SBP paper's 245-160-55 inputs
  Rng rng(1);
  auto net = build_model<S>(ModelSpec{"mlp", "sbp"}, rng);  // 0 gate 1 fc 2 relu 3 gate 4 fc 5 relu 6 gate 7 fc
  randomize_biases(net, rng);
  prune_sbp(net, 0, choose(784, 245, rng), rng);
  prune_sbp(net, 3, choose(500, 160, rng), rng);
  prune_sbp(net, 6, choose(300, 55, rng), rng);
  return net;
}

template <class S>
Sequential<S> mlp_bbd() {
  Rng rng(2);
  auto net = build_model<S>(ModelSpec{"mlp", "bbd"}, rng);
  randomize_biases(net, rng);
  prune_bbd(net, 0, choose(784, 300, rng), rng);
  prune_bbd(net, 3, choose(500, 200, rng), rng);
  prune_bbd(net, 6, choose(300, 100, rng), rng);
  return net;
}

template <class S>
Sequential<S> lenet5_sbp() {  // the SBP paper's 3-18-284-283
  Rng rng(3);
  // 0 conv1 1 gate(20 ch) 2 pool 3 relu 4 conv2 5 gate(50 ch) 6 pool 7 relu 8 gate(800) 9 fc1 10 relu 11 gate(500) 12
  // fc2
  auto net = build_model<S>(ModelSpec{"lenet5", "sbp"}, rng);
  randomize_biases(net, rng);
  prune_sbp(net, 1, choose(20, 3, rng), rng);
  const std::vector<Index> channels = choose(50, 18, rng);
  prune_sbp(net, 5, channels, rng);
  std::vector<Index> features;  // 284 of the 288 features of the kept channels: every channel keeps some
  for (Index k : choose(288, 284, rng)) features.push_back(channels[std::size_t(k / 16)] * 16 + k % 16);
  prune_sbp(net, 8, features, rng);
  prune_sbp(net, 11, choose(500, 283, rng), rng);
  return net;
}

/// LeNet-300-100 with sparse VD, structured so that summarize() applies: 200 pixels, 250 and 80 hidden units.
template <class S>
Sequential<S> lenet300_svd_structured() {
  Rng rng(4);
  auto net = build_model<S>(ModelSpec{"lenet300", "sparsevd"}, rng);  // 0 fc 1 relu 2 fc 3 relu 4 fc
  const auto pixels = choose(784, 200, rng), h1 = choose(300, 250, rng), h2 = choose(100, 80, rng);
  std::vector<Index> classes(10);
  std::iota(classes.begin(), classes.end(), Index(0));
  prune_sparse_vd(dynamic_cast<SparseVDLinear<S>&>(net.layer(0)), block_mask(300, 784, h1, pixels, 0.3, rng), rng);
  prune_sparse_vd(dynamic_cast<SparseVDLinear<S>&>(net.layer(2)), block_mask(100, 300, h2, h1, 0.3, rng), rng);
  prune_sparse_vd(dynamic_cast<SparseVDLinear<S>&>(net.layer(4)), block_mask(10, 100, classes, h2, 0.8, rng), rng);
  return net;
}

/// LeNet-300-100 with the sparse VD paper's 98.9 / 97.2 / 62.0 % of the weights pruned at random, and the first 10
/// units of both hidden layers without any weight.
template <class S>
Sequential<S> lenet300_svd_random() {
  Rng rng(5);
  auto net = build_model<S>(ModelSpec{"lenet300", "sparsevd"}, rng);
  const double keep[3] = {0.011, 0.028, 0.38};
  for (Index i = 0; i < 3; ++i) {
    auto& l = dynamic_cast<SparseVDLinear<S>&>(net.layer(2 * i));
    Mask m = random_mask(l.output_rows(), l.input_rows(), keep[i], rng);
    if (i < 2) m.topRows(10).setConstant(false);  // dead units: their bias is a constant for the next layer
    prune_sparse_vd(l, m, rng);
  }
  return net;
}

/// LeNet-5 with sparse VD: kept channels 8 and 20, 300 hidden units, random weights inside; summarize() applies.
/// With `dead`, conv1 also loses channels whose conv2 weights stay, so constants are folded through pool and ReLU.
template <class S>
Sequential<S> lenet5_svd(bool dead) {
  Rng rng(6);
  // 0 conv1 1 pool 2 relu 3 conv2 4 pool 5 relu 6 fc1 7 relu 8 fc2
  auto net = build_model<S>(ModelSpec{"lenet5", "sparsevd"}, rng);
  const auto c1 = choose(20, 8, rng), c2 = choose(50, 20, rng), h = choose(500, 300, rng);
  std::vector<Index> taps, c1_cols, c2_cols, one{0}, classes(10);
  std::iota(classes.begin(), classes.end(), Index(0));
  for (Index k = 0; k < 25; ++k) taps.push_back(k);
  for (Index c : dead ? choose(20, 20, rng) : c1) {
    for (Index k = 0; k < 25; ++k) c1_cols.push_back(c * 25 + k);
  }
  for (Index c : c2) {
    for (Index k = 0; k < 16; ++k) c2_cols.push_back(c * 16 + k);
  }
  prune_sparse_vd(dynamic_cast<SparseVDConv2d<S>&>(net.layer(0)), block_mask(20, 25, c1, taps, 0.6, rng), rng);
  prune_sparse_vd(dynamic_cast<SparseVDConv2d<S>&>(net.layer(3)), block_mask(50, 500, c2, c1_cols, 0.4, rng), rng);
  prune_sparse_vd(dynamic_cast<SparseVDLinear<S>&>(net.layer(6)), block_mask(500, 800, h, c2_cols, 0.1, rng), rng);
  prune_sparse_vd(dynamic_cast<SparseVDLinear<S>&>(net.layer(8)), block_mask(10, 500, classes, h, 0.7, rng), rng);
  return net;
}

}  // namespace

TEST_CASE("compact: gated MLPs (SBP 245-160-55, BBD) keep only the kept block of every layer", "[models][compact]") {
  SECTION("SBP") {
    auto model = mlp_sbp<double>();
    auto small = compact(model);
    CHECK(layer_names(small) == std::vector<std::string>{"SelectRows", "Linear", "ReLU", "Linear", "ReLU", "Linear"});
    CHECK(small.input_rows() == 784);
    CHECK(small.layer(1).input_rows() == 245);
    CHECK(small.layer(1).output_rows() == 160);
    CHECK(small.layer(3).output_rows() == 55);
    check_logits(model, small);
    CHECK(stored_values(small) == summarize(model).params_kept());
    auto model_f = mlp_sbp<float>();
    check_classes(model_f);
  }
  SECTION("BBD") {
    auto model = mlp_bbd<double>();
    auto small = compact(model);
    CHECK(small.layer(1).input_rows() == 300);
    check_logits(model, small);
    CHECK(stored_values(small) == summarize(model).params_kept());
    auto model_f = mlp_bbd<float>();
    check_classes(model_f);
  }
}

TEST_CASE("compact: SBP on LeNet-5 (3-18-284-283) gives smaller convolutions and a row selection",
          "[models][compact]") {
  auto model = lenet5_sbp<double>();
  auto small = compact(model);
  CHECK(layer_names(small) == std::vector<std::string>{"Conv2d", "MaxPool2d", "ReLU", "Conv2d", "MaxPool2d",
                                                       "SelectRows", "ReLU", "Linear", "ReLU", "Linear"});
  CHECK(dynamic_cast<Conv2d<double>&>(small.layer(0)).output_shape().channels == 3);
  CHECK(dynamic_cast<Conv2d<double>&>(small.layer(3)).output_shape().channels == 18);
  CHECK(small.layer(7).input_rows() == 284);
  CHECK(small.layer(7).output_rows() == 283);
  check_logits(model, small, 8);
  CHECK(stored_values(small) == summarize(model).params_kept());
  auto model_f = lenet5_sbp<float>();
  check_classes(model_f);
}

TEST_CASE("compact: sparse VD LeNet-300-100, dense-smaller and sparse storage", "[models][compact]") {
  SECTION("structured: nonzeros + biases as summarize() counts them") {
    auto model = lenet300_svd_structured<double>();
    auto sparse = compact(model, CompactOptions{}.with_sparse_density(1.0));
    CHECK(layer_names(sparse) ==
          std::vector<std::string>{"SelectRows", "SparseLinear", "ReLU", "SparseLinear", "ReLU", "SparseLinear"});
    CHECK(sparse.layer(1).input_rows() == 200);
    CHECK(sparse.layer(1).output_rows() == 250);
    CHECK(sparse.layer(3).output_rows() == 80);
    check_logits(model, sparse);
    CHECK(stored_values(sparse) == summarize(model).params_kept());
    CHECK(summarize(sparse).params_kept() == summarize(model).params_kept());
    auto dense = compact(model, CompactOptions{}.with_sparse_density(0.0));
    CHECK(layer_names(dense)[1] == "Linear");
    check_logits(model, dense);
    CHECK(stored_values(dense, true) == summarize(model).params_kept());
  }
  SECTION("the paper's sparsity at random, with dead rows folded into the next bias") {
    auto model = lenet300_svd_random<double>();
    for (double density : {0.0, 1.0, kCompactSparseDensity}) {
      INFO("sparse_density " << density);
      auto small = compact(model, CompactOptions{}.with_sparse_density(density));
      check_logits(model, small);
      // summarize() also counts weights of outputs the next layer never reads; compact() drops them.
      CHECK(stored_values(small, true) <= summarize(model).params_kept());
    }
    auto model_f = lenet300_svd_random<float>();
    check_classes(model_f);
    check_classes(model_f, CompactOptions{}.with_sparse_density(1.0));
  }
}

TEST_CASE("compact: sparse VD LeNet-5 becomes smaller dense convolutions", "[models][compact]") {
  for (bool dead : {false, true}) {
    INFO((dead ? "dead conv1 channels folded into conv2's bias" : "structured"));
    auto model = lenet5_svd<double>(dead);
    auto small = compact(model);
    CHECK(dynamic_cast<Conv2d<double>&>(small.layer(0)).output_shape().channels == 8);
    CHECK(dynamic_cast<Conv2d<double>&>(small.layer(3)).output_shape().channels == 20);
    check_logits(model, small, 8);
    if (!dead) CHECK(stored_values(small, true) == summarize(model).params_kept());
    auto model_f = lenet5_svd<float>(dead);
    check_classes(model_f);
  }
}

TEST_CASE("compact: an unpruned model round-trips; identity gates disappear", "[models][compact]") {
  for (const char* name : {"mlp", "lenet5"}) {
    for (const char* dropout : {"none", "binary"}) {
      INFO(name << " " << dropout);
      Rng rng(7);
      auto model = build_model<double>(ModelSpec{name, dropout}, rng);
      randomize_biases(model, rng);
      auto small = compact(model);
      const auto plain = build_model<double>(ModelSpec{name, "none"}, rng);
      CHECK(layer_names(small) == layer_names(plain));
      for (Index i = 0; i < small.size(); ++i) CHECK(small.layer(i).input_rows() == plain.layer(i).input_rows());
      CHECK(small.parameters().size() == model.parameters().size());
      check_logits(model, small, 4);
      CHECK(stored_values(small) == summarize(model).params());
    }
  }
}

namespace {
/// A gate whose evaluation scale is negative: not foldable through ReLU.
class NegativeGate final : public Gate<double> {
 public:
  explicit NegativeGate(Index units) : Gate<double>(units, "NegativeGate") {}
  std::string_view name() const override { return "NegativeGate"; }
  void forward(const MatrixType& x, MatrixType& y, const Context&) override { y = -x; }
  void backward(const MatrixType&, const MatrixType& dy, MatrixType* dx) override {
    if (dx) *dx = -dy;
  }
  Index n_active() const override { return units(); }
  VectorType eval_scale() const override { return -VectorType::Ones(units()); }
};
}  // namespace

TEST_CASE("compact: unsupported layers and unfoldable gates are refused", "[models][compact]") {
  Rng rng(8);
  Sequential<double> bn;
  bn.emplace<Linear>(4, 3, rng);
  bn.emplace<BatchNorm1d>(3);
  bn.emplace<Linear>(3, 2, rng);
  CHECK_THROWS_AS(compact(bn), InvalidArgument);
  CHECK_THROWS_WITH(compact(bn), Catch::Contains("layer 1 (BatchNorm1d)") &&
                                     Catch::Contains("compact() supports Linear/Conv2d/SparseVD layers"));
  Sequential<double> neg;
  neg.emplace<Linear>(4, 3, rng);
  neg.emplace<ReLU>(3);
  neg.add(std::make_unique<NegativeGate>(3));
  neg.emplace<Linear>(3, 2, rng);
  CHECK_THROWS_WITH(compact(neg), Catch::Contains("layer 2 (NegativeGate)") && Catch::Contains("negative"));
  CHECK_THROWS_AS(CompactOptions{}.with_sparse_density(1.5), InvalidArgument);
}

TEST_CASE("compact: the eval-only layers refuse to train", "[models][compact]") {
  auto model = lenet300_svd_random<double>();
  auto small = compact(model, CompactOptions{}.with_sparse_density(1.0));
  Rng rng(9);
  Matrix<double> x(784, 2), dy(10, 2), dx;
  rng.uniform(x);
  CHECK_THROWS_WITH(small.forward(x, Context::train(rng)), Catch::Contains("compact models are for inference"));
  small.forward(x, Context::eval());
  dy.setOnes();
  CHECK_THROWS_WITH(small.backward(x, dy, &dx), Catch::Contains("train the original model"));
}

namespace {
CompactRows<double> rows(std::vector<double> scale, std::vector<double> value) {
  CompactRows<double> a{Eigen::Map<Vector<double>>(scale.data(), Index(scale.size())),
                        Eigen::Map<Vector<double>>(value.data(), Index(value.size()))};
  return a;
}
}  // namespace

TEST_CASE("compact forms: each library layer says what its compact form is", "[models][compact]") {
  Rng rng(10);
  // Layers compact() cannot take have none.
  CHECK(BatchNorm1d<double>(3).compact_form() == nullptr);

  SECTION("Linear: a scaled input folds into its columns, a constant input into its bias") {
    Linear<double> lin(3, 2, rng);
    lin.bias().value << 0.5, -0.25;
    auto form = lin.compact_form();
    REQUIRE(form);
    CHECK(form->carries_weights());
    CHECK_FALSE(form->folds_into_next());
    const Matrix<double> w = lin.weight().value;
    // input 0 scaled by 2, input 1 the constant 3, input 2 the constant 0 (pruned)
    const CompactRows<double> out = form->fold(rows({2, 0, 0}, {0, 3, 0}), "test");
    CHECK(out.scale == Vector<double>::Ones(2));
    const std::vector<char> need = form->needed_inputs({1, 1}, rows({2, 0, 0}, {0, 3, 0}));
    CHECK(need == std::vector<char>{1, 0, 0});
    std::vector<LayerPtr<double>> built;
    const std::vector<Index> produced = form->build({0}, {1, 1}, built, CompactOptions{}, "test");
    CHECK(produced == std::vector<Index>{0, 1});
    REQUIRE(built.size() == 1);
    auto& small = dynamic_cast<Linear<double>&>(*built[0]);
    CHECK(small.weight().value == 2.0 * w.col(0));
    CHECK(small.bias().value.col(0) == lin.bias().value.col(0) + 3.0 * w.col(1));
  }
  SECTION("SparseVDLinear: below the density threshold a SparseLinear, else a dense Linear") {
    SparseVDLinear<double> svd(4, 3, rng);
    auto form = svd.compact_form();
    REQUIRE(form);
    form->fold(rows({1, 1, 1, 1}, {0, 0, 0, 0}), "test");
    std::vector<LayerPtr<double>> sparse, dense;
    form->build({0, 1, 2, 3}, {1, 1, 1}, sparse, CompactOptions{}.with_sparse_density(1.0), "test");
    form->build({0, 1, 2, 3}, {1, 1, 1}, dense, CompactOptions{}.with_sparse_density(0.0), "test");
    CHECK(sparse.at(0)->name() == "SparseLinear");
    CHECK(dense.at(0)->name() == "Linear");
    Matrix<double> x(4, 2);
    rng.uniform(x);
    Matrix<double> got, ref;
    sparse[0]->forward(x, got, Context::eval());
    svd.forward(x, ref, Context::eval());
    CHECK(got.isApprox(ref));
  }
  SECTION("Conv2d and SparseVDConv2d: a smaller Conv2d over the kept channels") {
    Conv2d<double> conv(ImageShape{2, 4, 4}, 3, 3, rng);
    SparseVDConv2d<double> svd(ImageShape{2, 4, 4}, 3, 3, rng);
    for (Layer<double>* l : std::vector<Layer<double>*>{&conv, &svd}) {
      auto form = l->compact_form();
      REQUIRE(form);
      CHECK(form->carries_weights());
      // channel 1 pruned: the form reads channel 0 only
      CompactRows<double> in = rows(std::vector<double>(32, 1.0), std::vector<double>(32, 0.0));
      in.scale.segment(16, 16).setZero();
      form->fold(in, "test");
      std::vector<LayerPtr<double>> built;
      form->build(std::vector<Index>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, std::vector<char>(12, 1),
                  built, CompactOptions{}, "test");
      REQUIRE(built.size() == 1);
      CHECK(built[0]->name() == "Conv2d");
      CHECK(built[0]->input_rows() == 16);
      CHECK(built[0]->output_rows() == 12);
    }
  }
  SECTION("ReLU rebuilds over the kept rows and clamps constants; Flatten disappears") {
    auto relu = ReLU<double>(3).compact_form();
    REQUIRE(relu);
    CHECK(relu->fold(rows({1, 0, 0}, {0, -2, 5}), "test").value == rows({}, {0, 0, 5}).value);
    std::vector<LayerPtr<double>> built;
    CHECK(relu->build({0, 2}, {1, 1, 1}, built, CompactOptions{}, "test") == std::vector<Index>{0, 2});
    REQUIRE(built.size() == 1);
    CHECK(built[0]->input_rows() == 2);
    auto flat = Flatten<double>(ImageShape{1, 2, 2}).compact_form();
    REQUIRE(flat);
    built.clear();
    CHECK(flat->build({1, 3}, {1, 1, 1, 1}, built, CompactOptions{}, "test") == std::vector<Index>{1, 3});
    CHECK(built.empty());
  }
  SECTION("MaxPool2d pools the kept channels and needs whole channels") {
    auto pool = MaxPool2d<double>(ImageShape{2, 2, 2}).compact_form();
    REQUIRE(pool);
    const CompactRows<double> out = pool->fold(rows({1, 1, 1, 1, 0, 0, 0, 0}, {0, 0, 0, 0, 4, 4, 4, 4}), "test");
    CHECK(out.scale == rows({1, 0}, {0, 4}).scale);
    CHECK(out.value == rows({1, 0}, {0, 4}).value);
    CHECK(pool->needed_inputs({0, 1}, out) == std::vector<char>{0, 0, 0, 0, 1, 1, 1, 1});
    CHECK_THROWS_AS(pool->fold(rows({1, 0, 1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0, 0, 0}), "test"), InvalidArgument);
    std::vector<LayerPtr<double>> built;
    CHECK(pool->build({4, 5, 6, 7}, {0, 1}, built, CompactOptions{}, "test") ==
          std::vector<Index>{1});  // rows of the original output
    CHECK(built.at(0)->input_rows() == 4);
  }
  SECTION("gates multiply the picture by their evaluation scale and fold into the next weight layer") {
    StructuredBayesianPruning<double> sbp(3);
    auto form = sbp.compact_form();
    REQUIRE(form);
    CHECK(form->folds_into_next());
    CHECK_FALSE(form->carries_weights());
    const CompactRows<double> out = form->fold(rows({1, 1, 1}, {0, 0, 0}), "test");
    CHECK(out.scale.isApprox(sbp.eval_scale()));
  }
}
