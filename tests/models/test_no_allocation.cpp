// After the first batch a training step must not allocate: neither through operator new (our containers) nor
// through Eigen's own allocator (temporaries, product workspaces). Eigen's check is compiled in only for this
// executable, with its assertion turned into an exception so that it also fires in Release builds.
// With one thread this holds given EIGEN_STACK_ALLOCATION_LIMIT >= 1 MiB (set for our targets in CMakeLists.txt).
// With OpenMP threads, Eigen 3.4's parallel product allocates its shared packing buffer once per product.
// With BAYESDROP_ONEDNN (core/gemm.hpp), oneDNN 2.6's matmul allocates a few small blocks inside every execution (its
// execution context), which no public interface avoids: those are counted apart, and the library's own must be none.
// On that build the convolutions' per-image products run on oneDNN too, from product objects kept per image group.
#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>

#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(x) \
  if (!(x)) throw std::runtime_error("Eigen assertion failed: " #x)

#include <catch2/catch.hpp>

#include "bayesdrop/layers/conv2d.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/flatten.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/max_pool2d.hpp"
#include "bayesdrop/layers/relu.hpp"
#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bayesdrop/losses/softmax_cross_entropy.hpp"
#include "bayesdrop/models/lenet5.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "bayesdrop/optim/adam.hpp"

namespace {
std::atomic<long> g_news{0};
std::atomic<long> g_onednn_news{0};           // inside a oneDNN execution (BAYESDROP_ONEDNN only)
[[maybe_unused]] long g_last_executions = 0;  // oneDNN executions in the last two checked steps (BAYESDROP_ONEDNN only)

void count_new() {
#ifdef BAYESDROP_ONEDNN
  if (bayesdrop::detail::onednn_executing()) {
    ++g_onednn_news;
    return;
  }
#endif
  ++g_news;
}
}  // namespace

// Every replaceable form, so that all of them pair malloc with free (AddressSanitizer checks the pairing).
// GCC 12 inlines the sized delete after make_unique and warns that free() meets operator new; here both are ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  count_new();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return operator new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  count_new();
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept {
  return operator new(n, tag);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

using namespace bayesdrop;

namespace {

/// Two single-threaded training steps after a first one, counting operator new and Eigen's allocations.
long allocations_after_first_step(Sequential<float>& net, Index inputs, Index batch, Rng& rng) {
  Eigen::setNbThreads(1);
  Adam<float> adam({ParamGroup<float>{"all", net.parameters(), 1e-3, 1e-4}});
  SoftmaxCrossEntropy<float> ce;
  Matrix<float> x(inputs, batch), dz;
  rng.uniform(x);
  Labels y(batch);
  for (Index j = 0; j < batch; ++j) y[j] = Label(j % 10);
  auto step = [&] {
    adam.zero_grad();
    ce.forward(net.forward(x, Context::train(rng)), y);
    ce.backward(y, dz);
    net.backward(x, dz, nullptr);
    adam.step();
  };
  step();  // the first step sizes every buffer
  const long before = g_news.load();
#ifdef BAYESDROP_ONEDNN
  const long onednn_before = g_onednn_news.load(), executions_before = detail::onednn_executions().load();
#endif
  Eigen::internal::set_is_malloc_allowed(false);
  try {
    step();
    step();
  } catch (...) {
    Eigen::internal::set_is_malloc_allowed(true);
    throw;
  }
  Eigen::internal::set_is_malloc_allowed(true);
  const long ours = g_news.load() - before;  // before Catch's messages below, which allocate
#ifdef BAYESDROP_ONEDNN
  const long executions = detail::onednn_executions().load() - executions_before;
  const long onednn_news = g_onednn_news.load() - onednn_before;
  WARN("oneDNN: " << onednn_news << " allocations inside " << executions << " matmul executions (two steps)");
  CHECK(onednn_news <= 8 * executions);  // a few per execution, as measured for oneDNN 2.6, never per element
  g_last_executions = executions;
#endif
  return ours;
}

}  // namespace

TEST_CASE("a single-threaded training step of the MLP allocates nothing after the first", "[model][allocation]") {
  Rng rng(1);
  Sequential<float> net;
  net.emplace<Linear>(784, 500, rng);
  net.emplace<ReLU>(500);
  net.emplace<Linear>(500, 300, rng);
  net.emplace<ReLU>(300);
  net.emplace<Linear>(300, 10, rng);
  CHECK(allocations_after_first_step(net, 784, 100, rng) == 0);
}

TEST_CASE("a single-threaded training step of LeNet-5 allocates nothing after the first", "[model][allocation]") {
  Rng rng(2);
  Sequential<float> net = lenet5<float>(rng);
  CHECK(allocations_after_first_step(net, 784, 50, rng) == 0);
#ifdef BAYESDROP_ONEDNN
  // the two convolutions' per-image products ran on oneDNN: 50 images, 2 steps, 2 + 3 products per image
  CHECK(g_last_executions >= 2 * 50 * 5);
#endif
}

TEST_CASE("a single-threaded training step with padded, strided convolutions and 3/2 pooling allocates nothing",
          "[model][allocation]") {
  Rng rng(3);
  Sequential<float> net;
  net.emplace<Conv2d>(ImageShape{1, 28, 28}, 8, 3, rng, Conv2dOptions{}.with_same_padding());  // 8x28x28
  net.emplace<MaxPool2d>(ImageShape{8, 28, 28}, MaxPool2dOptions{}.with_kernel(3).with_stride(2).with_padding(1));
  net.emplace<ReLU>(Index(8 * 14 * 14));
  auto& conv = net.emplace<SparseVDConv2d>(ImageShape{8, 14, 14}, 12, 5, rng, SparseVDOptions{},
                                           WindowOptions{}.with_padding(2, 1, 2, 1).with_stride(2));  // 12x7x7
  net.emplace<Flatten>(conv.output_shape());
  net.emplace<Linear>(conv.output_shape().size(), 10, rng);
  CHECK(allocations_after_first_step(net, 784, 50, rng) == 0);
}

TEST_CASE("a single-threaded training step with dependent beta-Bernoulli gates allocates nothing after the first",
          "[model][allocation]") {
  Rng rng(4);
  Sequential<float> net;
  net.emplace<DependentBetaBernoulliDropout>(Index(784), rng);  // on the pixels: backward asked for no dx
  net.emplace<Conv2d>(ImageShape{1, 28, 28}, 4, 5, rng);        // 4x24x24
  net.emplace<DependentBetaBernoulliDropout>(ImageShape{4, 24, 24}, rng,
                                             DependentBetaBernoulliOptions{}.with_train_beta_bernoulli(true));
  net.emplace<ReLU>(Index(4 * 24 * 24));
  net.emplace<Flatten>(ImageShape{4, 24, 24});
  net.emplace<DependentBetaBernoulliDropout>(Index(4 * 24 * 24), rng);
  net.emplace<Linear>(4 * 24 * 24, 10, rng);
  CHECK(allocations_after_first_step(net, 784, 50, rng) == 0);
}
