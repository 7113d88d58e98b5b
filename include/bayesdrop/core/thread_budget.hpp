// How many threads a training run should use on a machine that other processes share.
//
// Eigen's products run on OpenMP threads that wait for each other at every product: when another process keeps
// one of two cores busy, a second thread is descheduled half of the time and the whole step waits for it. Measured
// on a 2-core machine with one other CPU-bound process: a plain MLP epoch took 4.7 s with 2 threads against 2.5 s
// with 1. ThreadBudget counts the cores that other processes kept busy and suggests the rest:
//
//   ThreadBudget budget;                       // up to the machine's hardware threads
//   Eigen::setNbThreads(budget.measure(std::chrono::milliseconds(200)));   // before the first epoch
//   ... after each epoch: Eigen::setNbThreads(budget.suggest());           // the load during that epoch
//
// Other processes' load = (busy time of all cores, from /proc/stat) - (this process's CPU time), per second of wall
// time; nice'd processes and the hypervisor's steal time count as busy, since they slow a thread down just as much.
// suggested = hardware threads - round(others' busy cores), at least 1. Where /proc/stat cannot be read (not Linux),
// it suggests every hardware thread.
//
// The thread count changes how Eigen splits its products, so the same seed gives results that differ in float
// rounding between counts: a run that must be reproduced bit for bit fixes its thread count.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace bayesdrop {

class ThreadBudget {
 public:
  /// Suggests between 1 and max_threads threads; 0 means the machine's hardware threads.
  explicit ThreadBudget(int max_threads = 0)
      : max_threads_(max_threads > 0 ? max_threads : std::max(1, int(std::thread::hardware_concurrency()))) {
    mark(start_);
  }

  /// Waits `interval`, then suggests from the load during it (a start-up measurement before any work).
  int measure(std::chrono::milliseconds interval) {
    mark(start_);
    std::this_thread::sleep_for(interval);
    measured_ = false;  // this interval counts however short
    return suggest();
  }

  /// The suggestion from the load since the previous call (or construction), and starts the next interval. An
  /// interval shorter than half a second (a few of /proc/stat's 10 ms ticks) keeps the previous suggestion and goes
  /// on accumulating.
  int suggest() {
    Sample now;
    mark(now);
    const double wall = now.wall - start_.wall;
    if (measured_ && wall < 0.5) return suggested_;
    measured_ = true;
    if (now.valid && start_.valid && wall > 0) {
      const double system_busy = (now.busy_ticks - start_.busy_ticks) / ticks_per_second();
      others_ = std::max(0.0, (system_busy - (now.own_cpu - start_.own_cpu)) / wall);
      suggested_ = std::clamp(max_threads_ - int(std::lround(others_)), 1, max_threads_);
    } else {
      others_ = 0;
      suggested_ = max_threads_;
    }
    start_ = now;
    return suggested_;
  }

  /// Cores that other processes kept busy during the last interval (0 where it cannot be measured).
  double others_busy_cores() const { return others_; }
  /// The last suggestion.
  int suggested() const { return suggested_; }
  int max_threads() const { return max_threads_; }

 private:
  struct Sample {
    bool valid = false;
    double busy_ticks = 0;  // all cores, /proc/stat's aggregate line, in clock ticks
    double own_cpu = 0;     // this process, seconds
    double wall = 0;        // seconds
  };

  static double ticks_per_second() { return 100.0; }  // USER_HZ, 100 on every Linux ABI in use

  static void mark(Sample& s) {
    s.wall = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    s.own_cpu = double(std::clock()) / CLOCKS_PER_SEC;  // all of the process's threads
    std::ifstream stat("/proc/stat");
    std::string line, label;
    s.valid = bool(std::getline(stat, line));
    if (!s.valid) return;
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user and nice)
    std::istringstream in(line);
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    in >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    s.valid = bool(in) && label == "cpu";
    s.busy_ticks = user + nice + system + irq + softirq + steal;
  }

  int max_threads_;
  Sample start_;
  double others_ = 0;
  int suggested_ = 1;
  bool measured_ = false;
};

}  // namespace bayesdrop
