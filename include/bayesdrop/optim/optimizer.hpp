// Parameter groups and the optimiser base class.
//
// A group is a set of parameters that share a learning rate, an L2 weight decay and a schedule; the methods'
// recipes train noise parameters at 10x the rate of the weights and decay only the weights. The optimiser keeps
// its state per parameter, in the order the groups list them, and never by address.
//
// L2 weight decay is coupled, as in TensorFlow's l2_loss and PyTorch's Adam(weight_decay): the gradient gets
// weight_decay * value added, i.e. the loss gets 0.5 * weight_decay * ||value||^2.
//
// Speed. An update reads and writes a few arrays as large as the model, so it is bound by memory bandwidth: large
// tensors are split over Eigen::nbThreads() OpenMP threads (each core brings its own cache bandwidth). And the
// updates run with subnormal floats flushed to zero: a weight whose gradient becomes zero (a unit that died, a
// pixel that is blank in all but a few images) has its momentum decay geometrically, below 1e-38 within ~800 Adam
// steps, and arithmetic on such subnormals is many times slower on x86 (Adam's update: 10x). Flushing changes only
// values below 1.2e-38 (float) or 2.2e-308 (double) to zero, far below anything that moves a weight.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#define BAYESDROP_HAS_MXCSR 1
#endif

#include "bayesdrop/core/error.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/parallel.hpp"
#include "bayesdrop/core/parameter.hpp"
#include "bayesdrop/optim/lr_schedule.hpp"

namespace bayesdrop {

namespace detail {
/// While alive, the calling thread's arithmetic flushes subnormal results to zero and reads subnormal inputs as zero
/// (x86 MXCSR bits FTZ and DAZ); the previous mode is restored on destruction. A no-op on other architectures.
class FlushSubnormals {
 public:
#ifdef BAYESDROP_HAS_MXCSR
  FlushSubnormals() : saved_(_mm_getcsr()) {
    _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero);
  }
  ~FlushSubnormals() {
    _mm_setcsr(saved_);
  }
#else
  FlushSubnormals() {}  // user-provided, so that an unused guard raises no warning
#endif
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;

#ifdef BAYESDROP_HAS_MXCSR
 private:
  static constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x0040;
  unsigned saved_;
#endif
};
}  // namespace detail

template <class Scalar>
struct ParamGroup {
  std::string name = "params";             ///< for logs and errors
  std::vector<Parameter<Scalar>*> params;  ///< not owned; must outlive the optimiser
  double lr = 1e-3;                        ///< base learning rate, > 0
  double weight_decay = 0.0;               ///< coupled L2 coefficient, >= 0
  LrSchedule schedule = LrSchedule::constant();
};

/// The parameters of `all` whose role is one of `roles`, in order (for building groups from model.parameters()).
template <class Scalar>
std::vector<Parameter<Scalar>*> with_roles(const std::vector<Parameter<Scalar>*>& all,
                                           std::initializer_list<ParamRole> roles) {
  std::vector<Parameter<Scalar>*> out;
  for (auto* p : all) {
    if (std::find(roles.begin(), roles.end(), p->role) != roles.end()) out.push_back(p);
  }
  return out;
}

template <class Scalar>
class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup<Scalar>> groups) : groups_(std::move(groups)) {
    std::vector<const Parameter<Scalar>*> seen;
    for (const auto& g : groups_) {
      if (!(g.lr > 0) || !std::isfinite(g.lr)) {
        throw InvalidArgument("Optimizer: group '" + g.name + "' needs a finite learning rate > 0, got " +
                              std::to_string(g.lr));
      }
      if (!(g.weight_decay >= 0) || !std::isfinite(g.weight_decay)) {
        throw InvalidArgument("Optimizer: group '" + g.name + "' needs a finite weight_decay >= 0, got " +
                              std::to_string(g.weight_decay));
      }
      for (const auto* p : g.params) {
        if (p == nullptr) throw InvalidArgument("Optimizer: group '" + g.name + "' holds a null parameter");
        if (std::find(seen.begin(), seen.end(), p) != seen.end()) {
          throw InvalidArgument("Optimizer: parameter '" + p->name + "' is in more than one group");
        }
        seen.push_back(p);
      }
    }
    if (seen.empty()) throw InvalidArgument("Optimizer: no parameters to optimise (all groups are empty)");
    slots_ = seen.size();
  }
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Applies one update to every parameter from its accumulated gradient, and CONSUMES the gradients: each chunk
  /// of a gradient is cleared right after update_chunk() has read it, so that after step() every gradient is zero
  /// and the next batch can accumulate into it without a separate zero_grad() pass over memory (the training loop
  /// calls zero_grad() once, before its first batch). The clearing is done here, for every optimiser: a subclass
  /// only ever sees chunks and cannot forget it (a forgotten clear would let gradients silently accumulate over
  /// batches). Call zero_grad() yourself only to discard gradients you computed but do not want applied.
  void step() {
    begin_step();
    std::size_t slot = 0;
    for (auto& g : groups_) {
      const Scalar lr = Scalar(g.lr * g.schedule.factor(steps_));
      const Scalar wd = Scalar(g.weight_decay);
      for (auto* p : g.params) {
        if (p->grad.size() != p->value.size()) {
          throw ShapeError("Optimizer: parameter '" + p->name + "' has a gradient of " +
                           detail::shape_string(p->grad.rows(), p->grad.cols()) + " for a value of " +
                           detail::shape_string(p->value.rows(), p->value.cols()));
        }
        Scalar* grad = p->grad.data();
        const std::size_t s = slot++;
        for_chunks(p->value.size(), [&](Index first, Index len) {
          update_chunk(*p, s, first, len, lr, wd);
          std::fill_n(grad + first, len, Scalar(0));
        });
      }
    }
    ++steps_;
  }

  /// Clears the gradients of every parameter this optimiser updates (what Parameter::zero_grad does, but with the
  /// large tensors split over threads).
  void zero_grad() {
    for (auto& g : groups_) {
      for (auto* p : g.params) {
        Scalar* grad = p->grad.data();
        for_chunks(p->grad.size(), [grad](Index s, Index len) { std::fill_n(grad + s, len, Scalar(0)); });
      }
    }
  }

  /// Steps taken so far (the next step uses the schedules at this value).
  std::int64_t steps() const { return steps_; }
  /// The learning rate group i uses at the next step.
  double current_lr(std::size_t i) const { return groups_.at(i).lr * groups_.at(i).schedule.factor(steps_); }
  const std::vector<ParamGroup<Scalar>>& groups() const { return groups_; }

  /// The optimiser's kind ("adam", "sgd"), as checkpoints record it.
  virtual std::string name() const { return "optimizer"; }
  /// The state that carries from step to step besides the step count (Adam's moments, SGD's momentum buffers), as
  /// named tensors owned by the optimiser, in slot order; checkpoints save and restore it through these pointers.
  virtual std::vector<StateTensor<Scalar>> state() { return {}; }
  /// Continues counting from `steps` (restoring a checkpoint): the schedules and Adam's bias corrections use it.
  void set_steps(std::int64_t steps) {
    if (steps < 0)
      throw InvalidArgument("Optimizer::set_steps: the step count must be >= 0, got " + std::to_string(steps));
    steps_ = steps;
  }

 protected:
  /// Number of parameters (state slots) over all groups.
  std::size_t slots() const { return slots_; }
  /// Called once at the start of each step, before the updates (e.g. for bias corrections).
  virtual void begin_step() {}
  /// Updates elements [first, first + len) of parameter p (column-major order) from the same elements of p.grad;
  /// `slot` indexes its state (0 .. slots()-1, in group order). Called by step() for consecutive chunks small enough
  /// to stay in L1 cache, from Eigen::nbThreads() OpenMP threads at once for a large tensor: it must touch only the
  /// elements of its own chunk (of p.value, p.grad and its state of this slot). It must not clear p.grad: step()
  /// does that after it returns. Runs with subnormals flushed to zero (see the top of this file).
  virtual void update_chunk(Parameter<Scalar>& p, std::size_t slot, Index first, Index len, Scalar lr,
                            Scalar weight_decay) = 0;

  /// Applies fn(first, length) to consecutive chunks of n elements, small enough that one chunk's values stay in L1
  /// cache between the statements of an update: the passes then cost about as much as one fused loop. Chunks of a
  /// large tensor run on Eigen::nbThreads() OpenMP threads, so fn must only touch elements of its own chunk. All run
  /// with subnormals flushed to zero (see the top of this file).
  template <class Fn>
  static void for_chunks(Index n, Fn&& fn) {
    parallel_chunks<detail::FlushSubnormals>(n, std::forward<Fn>(fn));
  }

 private:
  std::vector<ParamGroup<Scalar>> groups_;
  std::size_t slots_ = 0;
  std::int64_t steps_ = 0;
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(Optimizer)

}  // namespace bayesdrop
