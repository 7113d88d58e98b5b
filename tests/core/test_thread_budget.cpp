// ThreadBudget: counts the cores other processes keep busy, not this process's own threads.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "bayesdrop/core/thread_budget.hpp"

#if defined(__linux__)
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#endif

using bayesdrop::ThreadBudget;
using std::chrono::milliseconds;

namespace {

// Keeps one core busy until `stop` is set.
void spin(const std::atomic<bool>& stop) {
  volatile double x = 1;
  while (!stop.load(std::memory_order_relaxed)) x = x * 1.0000001 + 1e-9;
}

}  // namespace

TEST_CASE("ThreadBudget: suggestions stay between 1 and the maximum", "[thread_budget]") {
  ThreadBudget one(1);
  CHECK(one.measure(milliseconds(50)) == 1);
  ThreadBudget two(2);
  const int n = two.measure(milliseconds(50));
  CHECK(n >= 1);
  CHECK(n <= 2);
  CHECK(two.others_busy_cores() >= 0);
  CHECK(ThreadBudget().max_threads() >= 1);
}

#if defined(__linux__)
TEST_CASE("ThreadBudget: another process's busy core is counted and left to it", "[thread_budget]") {
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // the other process: busy until killed
    std::atomic<bool> never(false);
    spin(never);
    _exit(0);
  }
  std::this_thread::sleep_for(milliseconds(50));  // let it start
  ThreadBudget budget(2);
  const int n = budget.measure(milliseconds(400));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  INFO("others' busy cores " << budget.others_busy_cores());
  CHECK(budget.others_busy_cores() >= 0.6);
  CHECK(n == 1);
}

TEST_CASE("ThreadBudget: this process's own threads are not counted as others' load", "[thread_budget]") {
  ThreadBudget budget(2);
  budget.measure(milliseconds(300));
  const double quiet = budget.others_busy_cores();
  std::atomic<bool> stop(false);
  std::thread worker(spin, std::cref(stop));
  budget.measure(milliseconds(400));
  stop = true;
  worker.join();
  INFO("others' busy cores: " << quiet << " before, " << budget.others_busy_cores() << " with our own thread busy");
  CHECK(budget.others_busy_cores() < quiet + 0.5);
}
#endif
