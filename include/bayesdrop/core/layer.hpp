// The Layer contract: what every bayesdrop layer promises, written down once, as dlib's layers_abstract.h does.
//
// Shapes. Inputs and outputs are column-major matrices with one column per observation: x is input_rows() x B,
// y is output_rows() x B, for any batch size B >= 1. Images are flattened per column (see core/types.hpp).
//
// forward(x, y, ctx)
//   \pre  x.rows() == input_rows(); in Mode::train a stochastic layer also needs ctx.rng.
//   \post y is resized to output_rows() x B and overwritten.
//         In Mode::train the layer may cache what backward needs (a reference-free copy of its noise: masks, the
//         sampled epsilon, pre-activation moments). It must not keep a pointer to x: backward gets x again.
//         In Mode::eval the output is deterministic: the same x gives the same y, and no noise is drawn.
//         Buffers are resized only when B changes, so after the first batch a forward pass allocates nothing.
//
// backward(x, dy, dx)
//   \pre  the most recent forward of this layer was in Mode::train with this same x; dy is output_rows() x B and
//         holds d loss / d y. Every layer checks this with check_backward() (ShapeError otherwise), its forward
//         starting with check_forward() so that the base class knows the batch.
//   \post *dx is resized to input_rows() x B and OVERWRITTEN with d loss / d x, unless dx is null (the caller does
//         not need it, e.g. for the first layer), in which case the layer skips that work.
//         Every parameter's grad is INCREMENTED (+=) by d loss / d value, so gradients of several terms can be
//         summed; Sequential::zero_grad() clears them, and Optimizer::step() leaves them zero.
//
// parameters()  the layer's trained tensors with their gradients, in a fixed order; pointers stay valid for the
//               layer's lifetime. State that is not trained (a cached mask, running statistics) is not a Parameter.
// state()       the untrained tensors that are part of the model and must be saved with it (running statistics);
//               empty for most layers. Caches of the last batch are not state.
// kl()          the layer's KL(q || p) summed over its units or weights, at the current parameters (0 for layers
//               without a posterior). kl_backward(c) INCREMENTS every parameter's grad by c * d kl() / d value.
//               has_kl() says whether the layer has such a term at all (a layer that overrides kl() overrides it).
// set_train_mask(on)  sparse VD's train_clip (training/authors_choices.hpp): mask the weights its evaluation
//               prunes in training too. Returns false, doing nothing, for a layer without such a mask.
// sparsity()    counts of active input units and weights (see core/sparsity.hpp); layers that cannot be pruned
//               report everything active. Evaluation-mode decisions (thresholds) define "active".
// compact_form() optional: how compact() rebuilds the layer without its pruned parts (core/compact_form.hpp);
//               null for a layer compact() cannot take.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bayesdrop/core/context.hpp"
#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/parameter.hpp"
#include "bayesdrop/core/sparsity.hpp"
#include "bayesdrop/core/types.hpp"

namespace bayesdrop {

template <class Scalar>
class CompactForm;  // core/compact_form.hpp

template <class Scalar>
class Layer {
 public:
  using MatrixType = Matrix<Scalar>;

  virtual ~Layer() = default;
  Layer() = default;
  Layer(const Layer&) = delete;  // parameters have identity: optimisers hold pointers to them
  Layer& operator=(const Layer&) = delete;
  Layer(Layer&&) noexcept = default;
  Layer& operator=(Layer&&) noexcept = default;

  /// Short type name for logs and errors, e.g. "Linear".
  virtual std::string_view name() const = 0;
  /// Rows of x (features per observation) the layer accepts.
  virtual Index input_rows() const = 0;
  /// Rows of y it produces.
  virtual Index output_rows() const = 0;

  virtual void forward(const MatrixType& x, MatrixType& y, const Context& ctx) = 0;
  virtual void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) = 0;

  /// The input-gate shortcut of Sequential::backward (models/sequential.hpp), for a gate that scales each row of its
  /// input by one factor shared by the batch, in front of this layer, when no input gradient is wanted: adds the
  /// parameter gradients as backward(x, dy, nullptr) does and sets g(i) = sum over the batch of x(i, j) dL/dx(i, j)
  /// instead of forming dx. Returns false, doing nothing, where that is not cheaper than dx (the default).
  virtual bool backward_row_scale(const MatrixType& /*x*/, const MatrixType& /*dy*/, Vector<Scalar>& /*g*/) {
    return false;
  }
  /// Whether the last training forward was y = x * s(i), one factor per row shared by the batch, so that
  /// backward_from_row_scale() can finish the backward (the default: no).
  virtual bool row_scaled_output() const { return false; }
  /// For a layer with row_scaled_output(): adds its parameter gradients from g(i) = sum over the batch of
  /// y(i, j) dL/dy(i, j), given by the next layer's backward_row_scale(), instead of from dy; no input gradient.
  virtual void backward_from_row_scale(const MatrixType& /*x*/, const Vector<Scalar>& /*g*/) {}

  virtual std::vector<Parameter<Scalar>*> parameters() { return {}; }
  /// Untrained tensors saved with the model (see the contract above).
  virtual std::vector<StateTensor<Scalar>> state() { return {}; }
  virtual Scalar kl() const { return Scalar(0); }
  virtual void kl_backward(Scalar /*coeff*/) {}
  /// True for a layer with a KL term (its kl() is part of the ELBO, and a KL scale applies to it).
  virtual bool has_kl() const { return false; }
  /// Masks, in training too, the weights that evaluation prunes (sparse VD's train_clip); false: no such mask.
  virtual bool set_train_mask(bool /*on*/) { return false; }
  virtual SparsityStats sparsity() const { return SparsityStats{input_rows(), input_rows(), 0, 0}; }
  /// The layer's part in compact() (core/compact_form.hpp), or null (the default) for a layer compact() refuses.
  virtual std::shared_ptr<CompactForm<Scalar>> compact_form() const { return nullptr; }

 protected:
  /// The start of every forward: check_input(x), then note_forward(x, ctx).
  void check_forward(const MatrixType& x, const Context& ctx) {
    check_input(x);
    note_forward(x, ctx);
  }
  /// Remembers the batch of this forward (rows and columns of x) and whether it was a training forward, for
  /// check_backward().
  void note_forward(const MatrixType& x, const Context& ctx) {
    forward_rows_ = x.rows();
    forward_cols_ = x.cols();
    training_forward_ = ctx.training();
  }
  /// The start of every backward: the contract's precondition, checked alike for every layer. Throws ShapeError
  /// unless the most recent forward was in Mode::train on a batch of x's shape (rows and columns), and unless dy is
  /// output_rows() x x.cols(). A layer's caches (masks, noise, moments) are then those of this batch. A container
  /// whose layers check the mode themselves passes any_mode = true: then any forward on this batch will do.
  void check_backward(const MatrixType& x, const MatrixType& dy, bool any_mode = false) const {
    check_training_batch(x, any_mode);
    check_output_grad(x, dy);
  }
  /// check_backward() without dy: the most recent forward was in Mode::train (unless any_mode) on x's batch.
  void check_training_batch(const MatrixType& x, bool any_mode = false) const {
    if ((!training_forward_ && !any_mode) || x.rows() != forward_rows_ || x.cols() != forward_cols_) {
      const bool same_batch = x.rows() == forward_rows_ && x.cols() == forward_cols_;
      const std::string last =
          forward_rows_ < 0 ? "there was no forward yet"
          : same_batch      ? "the most recent forward was in evaluation mode"
                            : "the most recent forward had x " + detail::shape_string(forward_rows_, forward_cols_);
      throw ShapeError(std::string(name()) + ": backward needs a training forward on this batch (x " +
                       detail::shape_string(x.rows(), x.cols()) + "), but " + last +
                       "; call forward(x, y, Context::train(rng)) with the same x first");
    }
  }
  /// The generator of a training forward; the error for a Context without one names this layer. A forward that
  /// fails here did not happen, so it is forgotten: a backward after it is refused.
  Rng& training_rng(const Context& ctx) {
    if (ctx.rng != nullptr) return *ctx.rng;  // no name string on this path: a name over 15 characters allocates
    forward_rows_ = forward_cols_ = -1;
    return ctx.require_rng(std::string(name()).c_str());
  }

  /// Forward-side shape check with a message that names the layer.
  void check_input(const MatrixType& x) const {
    if (x.rows() != input_rows()) {
      throw ShapeError(std::string(name()) + ": input has " + std::to_string(x.rows()) +
                       " rows but the layer expects " + std::to_string(input_rows()) +
                       " (features per observation, one column per observation)");
    }
  }
  /// Backward-side shape check of dy against the cached batch.
  void check_output_grad(const MatrixType& x, const MatrixType& dy) const {
    if (dy.rows() != output_rows() || dy.cols() != x.cols()) {
      throw ShapeError(std::string(name()) + ": output gradient is " + detail::shape_string(dy.rows(), dy.cols()) +
                       " but the layer produced " + detail::shape_string(output_rows(), x.cols()));
    }
  }

 private:
  Index forward_rows_ = -1, forward_cols_ = -1;  // the batch of the most recent forward (-1: none yet)
  bool training_forward_ = false;                // and whether it was in Mode::train
};

template <class Scalar>
using LayerPtr = std::unique_ptr<Layer<Scalar>>;

BAYESDROP_EXTERN_CLASS_TEMPLATE(Layer)

}  // namespace bayesdrop
