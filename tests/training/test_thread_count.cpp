// A run's numbers do not depend on the thread count (issue #31): a few training steps of every registered family on
// the MLP, and of LeNet-5 with the families that have convolution factories, leave bit-identical parameters on 1, 2
// and 8 threads. The noise is counter-based (core/rng.hpp) and the products are cut by shape alone
// (core/gemm.hpp's product_split); Eigen's own parallel product would fail this test.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bayesdrop/models/registry.hpp"
#include "bayesdrop/models/zoo.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/training/epoch_runner.hpp"
#include "support/threads.hpp"

using namespace bayesdrop;

namespace {

using Threads = test::ScopedThreads;

/// n random 28 x 28 images with labels that depend on them (so that gradients are not noise alone).
Dataset<float> images(Index n) {
  Rng rng(41);
  Dataset<float> d;
  d.shape = ImageShape{1, 28, 28};
  d.images.resize(784, n);
  rng.uniform(d.images);
  d.labels.resize(n);
  for (Index i = 0; i < n; ++i) d.labels[i] = Label(int(d.images.col(i).head(10).sum()) % 10);
  return d;
}

/// Every parameter after `steps` Adam steps (batch 100) of the family on the network, from seed 5.
std::vector<Matrix<float>> train(const std::string& model, const std::string& family, const Dataset<float>& data,
                                 int threads) {
  Threads scope(threads);
  Rng rng(5);
  Sequential<float> net = build_model<float>(ModelSpec{model, family}, rng);
  Adam<float> adam({ParamGroup<float>{"all", net.parameters(), 1e-3}});
  EpochRunner<float> runner(EpochOptions{}.with_batch(100).with_kl_weight(1.0 / double(data.size())));
  runner.train_epoch(net, adam, data, rng);
  std::vector<Matrix<float>> params;
  for (const auto* p : net.parameters()) params.push_back(p->value);
  return params;
}

void check_same_on_1_2_8_threads(const std::string& model, const std::string& family, const Dataset<float>& data) {
  INFO(model << ", " << family);
  const auto one = train(model, family, data, 1);
  for (int threads : {2, 8}) {
    INFO(threads << " threads against 1");
    const auto many = train(model, family, data, threads);
    REQUIRE(many.size() == one.size());
    for (std::size_t i = 0; i < one.size(); ++i) {
      INFO("parameter " << i);
      CHECK(many[i] == one[i]);
    }
  }
}

}  // namespace

TEST_CASE("three training steps of every family on the MLP give the same bits on 1, 2 and 8 threads",
          "[training][threads]") {
  const Dataset<float> data = images(300);
  for (const std::string& family : dropout_names()) check_same_on_1_2_8_threads("mlp", family, data);
}

TEST_CASE("two training steps of LeNet-5 give the same bits on 1, 2 and 8 threads", "[training][threads][conv]") {
  const Dataset<float> data = images(200);
  for (const std::string family : {"none", "sparsevd", "bbd", "sbp"})
    check_same_on_1_2_8_threads("lenet5", family, data);
}
