// The eight matrix products of one training step of the MLP 784-500-300-10 at batch 100 (bench_support.hpp's
// MlpProducts: three forward, three weight gradients, two input gradients) in every layout the library could use and
// on every product back end found, at 1 and 2 threads: which one gives the plain epoch its lower bound (issue #18).
//
//   layouts   fm-W    activations features x batch, W out x in   (the library today; MlpProducts itself)
//             fm-Wt   activations features x batch, W stored in x out
//             bm-W    activations batch x features, W out x in
//             bm-Wt   activations batch x features, W stored in x out
//   back ends eigen           Eigen's products (OpenMP threads)
//             onednn-matmul   oneDNN's matmul primitive, made once per product (core/gemm.hpp's OneDnnProduct)
//             onednn-sgemm    oneDNN's dnnl_sgemm, one call per product
//             eigen-openblas  Eigen on OpenBLAS through EIGEN_USE_BLAS: bench_products_openblas, this file compiled
//                             with that define (it changes Eigen's products for the whole program), run by this one
//
// Each variant's results after one step are checked against MlpProducts' (relative Frobenius error below 1e-5), and
// those against coefficient-wise products, before anything is timed; a wrong variant stops the program. Benchmarks:
// Products/<layout>/<back end>/<threads>, counters gflops and epoch_s (600 steps). At the end a markdown table of
// GFLOP/s side by side, and the best rate with the epoch bound it implies (600 x the step's FLOPs / that rate). Google
// Benchmark's flags apply, e.g.
//   bench_products --benchmark_min_time=0.5 --benchmark_filter='fm-W/'
// (the same flags are passed on to bench_products_openblas). Threads: Eigen's, OpenMP's and OpenBLAS's count are set.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/gemm.hpp"
#include "bench_support.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef BENCH_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif
#ifdef EIGEN_USE_BLAS
extern "C" void openblas_set_num_threads(int);
#endif

namespace {

namespace bd = bayesdrop;
using bd::Op;
using bench::Mat;
using bench::MlpProducts;

constexpr std::uint64_t kSeed = 20250118;
constexpr double kTolerance = 1e-5;  // relative error of a float product of these sizes is about 1e-7

struct Layout {
  const char* name;
  bool batch_major;         // activations batch x features
  bool transposed_weights;  // W stored in x out
};
constexpr Layout kLayouts[] = {
    {"fm-W", false, false}, {"fm-Wt", false, true}, {"bm-W", true, false}, {"bm-Wt", true, true}};

#ifdef EIGEN_USE_BLAS
const std::vector<std::string> kBackends = {"eigen-openblas"};
#elif defined(BENCH_HAVE_ONEDNN)
const std::vector<std::string> kBackends = {"eigen", "onednn-matmul", "onednn-sgemm"};
#else
const std::vector<std::string> kBackends = {"eigen"};
#endif

void set_threads(int n) {
  Eigen::setNbThreads(n);
#ifdef _OPENMP
  omp_set_num_threads(n);  // oneDNN's count
#endif
#ifdef EIGEN_USE_BLAS
  openblas_set_num_threads(n);
#endif
}

#ifdef BENCH_HAVE_ONEDNN
/// dnnl_sgemm is row-major; column-major c = op(a) op(b) is row-major c^T = op(b)^T op(a)^T, with the same flags.
template <Op OpA, Op OpB, bool Accumulate>
struct SgemmProduct {
  void operator()(const Mat& a, const Mat& b, Mat& c) {
    const bd::Index m = OpA == Op::none ? a.rows() : a.cols(), k = OpA == Op::none ? a.cols() : a.rows();
    const bd::Index n = OpB == Op::none ? b.cols() : b.rows();
    if (!Accumulate) c.resize(m, n);
    const char ta = OpA == Op::none ? 'N' : 'T', tb = OpB == Op::none ? 'N' : 'T';
    if (dnnl_sgemm(tb, ta, n, m, k, 1.f, b.data(), b.rows(), a.data(), a.rows(), Accumulate ? 1.f : 0.f, c.data(), m) !=
        dnnl_success) {
      throw std::runtime_error("dnnl_sgemm failed");
    }
  }
};
#endif

/// One product c = op(a) op(b) (+ c) on back end `backend`, its state (a oneDNN primitive) kept in the closure.
template <Op OpA, Op OpB, bool Accumulate>
std::function<void(const Mat&, const Mat&, Mat&)> make_product(const std::string& backend) {
  if (backend == "eigen" || backend == "eigen-openblas") return bd::detail::EigenProduct<float, OpA, OpB, Accumulate>{};
#ifdef BENCH_HAVE_ONEDNN
  if (backend == "onednn-matmul") {
    auto p = std::make_shared<bd::detail::OneDnnProduct<OpA, OpB, Accumulate>>();
    return [p](const Mat& a, const Mat& b, Mat& c) { (*p)(a, b, c); };
  }
  if (backend == "onednn-sgemm") return SgemmProduct<OpA, OpB, Accumulate>{};
#endif
  throw std::invalid_argument("unknown back end " + backend);
}

std::function<void(const Mat&, const Mat&, Mat&)> make_product(Op ta, Op tb, bool acc, const std::string& backend) {
  const int key = (ta == Op::transpose) * 4 + (tb == Op::transpose) * 2 + acc;
  switch (key) {
    case 0:
      return make_product<Op::none, Op::none, false>(backend);
    case 1:
      return make_product<Op::none, Op::none, true>(backend);
    case 2:
      return make_product<Op::none, Op::transpose, false>(backend);
    case 3:
      return make_product<Op::none, Op::transpose, true>(backend);
    case 4:
      return make_product<Op::transpose, Op::none, false>(backend);
    case 5:
      return make_product<Op::transpose, Op::none, true>(backend);
    case 6:
      return make_product<Op::transpose, Op::transpose, false>(backend);
    default:
      return make_product<Op::transpose, Op::transpose, true>(backend);
  }
}

/// MlpProducts' eight products in one layout on one back end, from MlpProducts' weights and dlogits.
class LayoutProducts {
 public:
  LayoutProducts(const MlpProducts& ref, Layout layout, const std::string& backend) : layout_(layout) {
    for (int l = 1; l <= 3; ++l) {
      const Mat& w = ref.weight(l);
      w_[l] = layout.transposed_weights ? Mat(w.transpose()) : w;
      dw_[l] = Mat::Zero(w_[l].rows(), w_[l].cols());
    }
    d_[3] = layout.batch_major ? Mat(ref.output_grad(3).transpose()) : ref.output_grad(3);
    const bool fm = !layout.batch_major, t = layout.transposed_weights;
    const Op N = Op::none, T = Op::transpose;
    // Forward a_l = W a_{l-1}:  fm-W: W a   fm-Wt: Wt^T a   bm-W: A W^T   bm-Wt: A Wt
    for (int l = 1; l <= 3; ++l) {
      if (fm) {
        add(t ? T : N, N, false, &w_[l], &a_[l - 1], &a_[l], backend);
      } else {
        add(N, t ? N : T, false, &a_[l - 1], &w_[l], &a_[l], backend);
      }
    }
    // Backward, in MlpProducts' order: dW3, d2, dW2, d1, dW1.
    for (int l = 3; l >= 1; --l) {
      // dW += d a^T:  fm-W: d a^T   fm-Wt: a d^T   bm-W: D^T A   bm-Wt: A^T D
      if (fm) {
        if (t)
          add(N, T, true, &a_[l - 1], &d_[l], &dw_[l], backend);
        else
          add(N, T, true, &d_[l], &a_[l - 1], &dw_[l], backend);
      } else {
        if (t)
          add(T, N, true, &a_[l - 1], &d_[l], &dw_[l], backend);
        else
          add(T, N, true, &d_[l], &a_[l - 1], &dw_[l], backend);
      }
      if (l == 1) break;
      // d_{l-1} = W^T d:  fm-W: W^T d   fm-Wt: Wt d   bm-W: D W   bm-Wt: D Wt^T
      if (fm)
        add(t ? N : T, N, false, &w_[l], &d_[l], &d_[l - 1], backend);
      else
        add(N, t ? T : N, false, &d_[l], &w_[l], &d_[l - 1], backend);
    }
  }

  /// One step on input x (784 x batch for fm, batch x 784 for bm).
  void run(const Mat& x) {
    a_[0] = x;  // not timed apart: see time_layout, which gives run() its input already in place
    run_in_place();
  }
  Mat& input() { return a_[0]; }
  void run_in_place() {
    for (auto& p : products_) p();
    benchmark::DoNotOptimize(a_[3].data());
    benchmark::DoNotOptimize(dw_[1].data());
    benchmark::ClobberMemory();
  }

  /// The largest relative error of the logits, the weight gradients and d1 against `ref` (both after one step).
  double error_against(const MlpProducts& ref) const {
    auto rel = [](const Mat& got, const Mat& want) { return double((got - want).norm() / want.norm()); };
    auto as_fm = [&](const Mat& m) { return layout_.batch_major ? Mat(m.transpose()) : m; };
    auto as_w = [&](const Mat& m) { return layout_.transposed_weights ? Mat(m.transpose()) : m; };
    double e = std::max(rel(as_fm(a_[3]), ref.output(3)), rel(as_fm(d_[1]), ref.output_grad(1)));
    for (int l = 1; l <= 3; ++l) e = std::max(e, rel(as_w(dw_[l]), ref.weight_grad(l)));
    return e;
  }

 private:
  void add(Op ta, Op tb, bool acc, const Mat* a, const Mat* b, Mat* c, const std::string& backend) {
    products_.push_back([p = make_product(ta, tb, acc, backend), a, b, c] { p(*a, *b, *c); });
  }

  Layout layout_;
  Mat w_[4], dw_[4], a_[4], d_[4];  // index 1..3 = layer; a_[0] the input
  std::vector<std::function<void()>> products_;
};

/// The batches in the layout's orientation.
std::vector<Mat> batches(bool batch_major) {
  std::vector<Mat> xs = bench::random_batches(784, bench::kBatch, 60, kSeed + 2);
  if (batch_major) {
    for (auto& x : xs) x = Mat(x.transpose());
  }
  return xs;
}

void gflops_counters(benchmark::State& state) {
  bench::report_steps(state);
  state.counters["gflops"] =
      benchmark::Counter(double(state.iterations()) * MlpProducts::flops() * 1e-9, benchmark::Counter::kIsRate);
}

void time_layout(benchmark::State& state, Layout layout, const std::string& backend) {
  set_threads(int(state.range(0)));
  state.counters["threads"] = double(state.range(0));
  std::vector<Mat> xs = batches(layout.batch_major);
  if (layout.batch_major == false && !layout.transposed_weights && backend == "eigen") {
    bench::time_products(state, xs, kSeed);  // today's layout and back end: MlpProducts itself, as EpochBound
    return;
  }
  MlpProducts ref(kSeed);
  LayoutProducts products(ref, layout, backend);
  products.run(xs[0]);
  std::size_t b = 0;
  for (auto _ : state) {
    // The input is the previous layer's buffer in a real step: point a_[0] at the next batch without copying.
    products.input().swap(xs[b]);  // O(1): Eigen swaps the data pointers
    products.run_in_place();
    products.input().swap(xs[b]);
    b = (b + 1) % xs.size();
  }
  gflops_counters(state);
}

/// MlpProducts' results after one step against Eigen's coefficient-wise products (lazyProduct: neither the blocked
/// kernels nor BLAS), so that the reference itself is checked in bench_products_openblas too.
double reference_error(const MlpProducts& ref, const Mat& x) {
  auto rel = [](const Mat& got, const Mat& want) { return double((got - want).norm() / want.norm()); };
  const Mat& d3 = ref.output_grad(3);
  const Mat h1 = ref.weight(1).lazyProduct(x), h2 = ref.weight(2).lazyProduct(h1), z = ref.weight(3).lazyProduct(h2);
  const Mat d2 = ref.weight(3).transpose().lazyProduct(d3), d1 = ref.weight(2).transpose().lazyProduct(d2);
  const Mat dw[] = {d1.lazyProduct(x.transpose()), d2.lazyProduct(h1.transpose()), d3.lazyProduct(h2.transpose())};
  double e = std::max(rel(ref.output(3), z), rel(ref.output_grad(1), d1));
  for (int l = 1; l <= 3; ++l) e = std::max(e, rel(ref.weight_grad(l), dw[l - 1]));
  return e;
}

/// Checks every variant once against MlpProducts; returns the largest error per "layout/backend".
bool check_all(std::map<std::string, double>& errors) {
  set_threads(1);
  const Mat x = bench::random_batches(784, bench::kBatch, 1, kSeed + 3)[0];
  MlpProducts ref(kSeed);
  ref.run(x);
  const double ref_error = reference_error(ref, x);
  if (!(ref_error < kTolerance)) {
    std::fprintf(stderr, "bench_products: MlpProducts differs from coefficient-wise products: rel. error %.3g\n",
                 ref_error);
    return false;
  }
  bool ok = true;
  for (const Layout& layout : kLayouts) {
    for (const auto& backend : kBackends) {
      LayoutProducts p(ref, layout, backend);
      p.run(layout.batch_major ? Mat(x.transpose()) : x);
      const double e = std::max(p.error_against(ref), ref_error);
      errors[std::string(layout.name) + "/" + backend] = e;
      if (!(e < kTolerance)) {
        std::fprintf(stderr, "bench_products: %s on %s differs from Eigen's feature-major products: rel. error %.3g\n",
                     layout.name, backend.c_str(), e);
        ok = false;
      }
    }
  }
  return ok;
}

/// One timed variant: its rate.
struct Row {
  std::string layout, backend;
  int threads;
  double gflops;
};

/// The console reporter that also keeps each benchmark's gflops.
class Recorder : public benchmark::ConsoleReporter {
 public:
  std::vector<Row> rows;
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred || run.run_type != Run::RT_Iteration) continue;
      // "Products/<layout>/<backend>/<threads>/..."
      std::vector<std::string> parts;
      std::stringstream name(run.benchmark_name());
      for (std::string part; std::getline(name, part, '/');) parts.push_back(part);
      if (parts.size() < 4 || parts[0] != "Products") continue;
      rows.push_back({parts[1], parts[2], std::atoi(parts[3].c_str()), run.counters.at("gflops").value});
    }
  }
};

#ifdef BENCH_OPENBLAS_EXE
/// Runs bench_products_openblas with our flags and takes its rows ("ROW layout backend threads gflops" lines).
void run_openblas(int argc, char** argv, std::vector<Row>& rows, std::map<std::string, double>& errors) {
  std::string cmd = "'" BENCH_OPENBLAS_EXE "' --rows";
  for (int i = 1; i < argc; ++i) cmd += " '" + std::string(argv[i]) + "'";  // flags hold no single quotes
  std::fflush(stdout);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe)) {
    char layout[64], backend[64];
    int threads;
    double value;
    // The console reporter's colour reset may stand in front of a line.
    const char* row = std::strstr(line, "ROW ");
    const char* check = std::strstr(line, "CHECK ");
    if (row && std::sscanf(row, "ROW %63s %63s %d %lf", layout, backend, &threads, &value) == 4) {
      rows.push_back({layout, backend, threads, value});
    } else if (check && std::sscanf(check, "CHECK %63s %lf", layout, &value) == 2) {
      errors[layout] = value;
    } else {
      std::fputs(line, stdout);
    }
  }
  if (pclose(pipe) != 0) std::fprintf(stderr, "bench_products: bench_products_openblas failed\n");
}
#endif

void print_table(const std::vector<Row>& rows, const std::map<std::string, double>& errors) {
  std::map<std::pair<std::string, std::string>, std::map<int, double>> by_variant;
  std::vector<std::pair<std::string, std::string>> order;
  std::map<int, Row> best;
  for (const Row& r : rows) {
    auto key = std::make_pair(r.layout, r.backend);
    if (!by_variant.count(key)) order.push_back(key);
    by_variant[key][r.threads] = r.gflops;
    if (!best.count(r.threads) || r.gflops > best[r.threads].gflops) best[r.threads] = r;
  }
  std::printf("\nThe eight products of one MLP 784-500-300-10 step at batch 100 (%.1f MFLOP), GFLOP/s:\n\n",
              MlpProducts::flops() * 1e-6);
  std::printf("| layout | back end | 1 thread | 2 threads | check (rel. error) |\n|---|---|---|---|---|\n");
  for (const auto& key : order) {
    const auto& t = by_variant[key];
    auto cell = [&](int n) {
      char buf[32];
      if (t.count(n))
        std::snprintf(buf, sizeof buf, "%.1f", t.at(n));
      else
        std::snprintf(buf, sizeof buf, "-");
      return std::string(buf);
    };
    const auto e = errors.find(key.first + "/" + key.second);
    std::printf("| %s | %s | %s | %s | %.1e |\n", key.first.c_str(), key.second.c_str(), cell(1).c_str(),
                cell(2).c_str(), e == errors.end() ? 0.0 : e->second);
  }
  std::printf("\n");
  for (const auto& [threads, r] : best) {
    // bound = 600 steps x FLOPs per step / best rate
    const double bound_s = bench::kStepsPerEpoch * MlpProducts::flops() / (r.gflops * 1e9);
    std::printf("best at %d thread%s: %.1f GFLOP/s (%s, %s): epoch bound %.3f s of products\n", threads,
                threads == 1 ? "" : "s", r.gflops, r.layout.c_str(), r.backend.c_str(), bound_s);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // --rows (bench_products_openblas run by bench_products): print rows and checks as lines to be parsed.
  bool rows_only = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--rows")
      rows_only = true;
    else
      args.push_back(argv[i]);
  }
  int n = int(args.size());
  std::map<std::string, double> errors;
  if (!check_all(errors)) return 1;
  for (const Layout& layout : kLayouts) {
    for (const auto& backend : kBackends) {
      const std::string name = std::string("Products/") + layout.name + "/" + backend;
      benchmark::RegisterBenchmark(name.c_str(),
                                   [layout, backend](benchmark::State& s) { time_layout(s, layout, backend); })
          ->Arg(1)
          ->Arg(2)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  Recorder recorder;
  benchmark::RunSpecifiedBenchmarks(&recorder);
  benchmark::Shutdown();
  if (rows_only) {
    for (const Row& r : recorder.rows) {
      std::printf("ROW %s %s %d %.6g\n", r.layout.c_str(), r.backend.c_str(), r.threads, r.gflops);
    }
    for (const auto& [key, e] : errors) std::printf("CHECK %s %.6g\n", key.c_str(), e);
    return 0;
  }
#ifdef BENCH_OPENBLAS_EXE
  run_openblas(argc, argv, recorder.rows, errors);
#endif
  print_table(recorder.rows, errors);
  return 0;
}
