// A chain of layers that owns them: y = f_n(... f_2(f_1(x))).
//
// Sequential is itself a Layer, so chains nest. It keeps one output buffer and one gradient buffer per layer and
// resizes them only when the batch size changes: after the first batch, forward and backward allocate nothing.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/instantiation.hpp"
#include "bayesdrop/core/layer.hpp"

namespace bayesdrop {

template <class Scalar>
class Sequential final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::MatrixType;

  Sequential() = default;

  /// Appends a layer; its input rows must equal the previous layer's output rows.
  Sequential& add(LayerPtr<Scalar> layer) {
    if (!layer) throw InvalidArgument("Sequential::add: null layer");
    if (!layers_.empty() && layers_.back()->output_rows() != layer->input_rows()) {
      throw ShapeError("Sequential::add: layer " + std::to_string(layers_.size()) + " (" + std::string(layer->name()) +
                       ") takes " + std::to_string(layer->input_rows()) + " rows but layer " +
                       std::to_string(layers_.size() - 1) + " (" + std::string(layers_.back()->name()) + ") produces " +
                       std::to_string(layers_.back()->output_rows()));
    }
    layers_.push_back(std::move(layer));
    kl_scales_.push_back(Scalar(1));
    outputs_.emplace_back();
    grads_.emplace_back();
    params_.clear();
    first_trainable_ = layers_.size() - 1;
    for (std::size_t i = layers_.size(); i-- > 0;) {
      if (!layers_[i]->parameters().empty()) first_trainable_ = i;
    }
    for (auto& l : layers_) {
      for (auto* p : l->parameters()) params_.push_back(p);
    }
    return *this;
  }

  /// Constructs a layer of type L in place, appends it and returns it: `net.emplace<Linear<float>>(784, 500, rng)`.
  template <template <class> class L, class... Args>
  L<Scalar>& emplace(Args&&... args) {
    auto layer = std::make_unique<L<Scalar>>(std::forward<Args>(args)...);
    auto& ref = *layer;
    add(std::move(layer));
    return ref;
  }

  Index size() const { return static_cast<Index>(layers_.size()); }
  bool empty() const { return layers_.empty(); }
  Layer<Scalar>& layer(Index i) { return *layers_.at(static_cast<std::size_t>(i)); }
  const Layer<Scalar>& layer(Index i) const { return *layers_.at(static_cast<std::size_t>(i)); }
  /// Output of layer i from the most recent forward (empty before the first); for diagnostics and inspection.
  const MatrixType& output(Index i) const { return outputs_.at(static_cast<std::size_t>(i)); }

  std::string_view name() const override { return "Sequential"; }
  Index input_rows() const override { return require_layers("input_rows").front()->input_rows(); }
  Index output_rows() const override { return require_layers("output_rows").back()->output_rows(); }

  /// Runs the chain and returns a reference to the last layer's output (valid until the next forward).
  const MatrixType& forward(const MatrixType& x, const Context& ctx) {
    require_layers("forward");
    this->note_forward(x, ctx);
    const MatrixType* in = &x;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      layers_[i]->forward(*in, outputs_[i], ctx);
      in = &outputs_[i];
    }
    return *in;
  }

  void forward(const MatrixType& x, MatrixType& y, const Context& ctx) override { y = forward(x, ctx); }

  /// Back-propagates dy (d loss / d output of the last forward) through every layer; x is that forward's input.
  /// When dx is null, the layers in front of the first one with parameters are skipped, and that layer is asked
  /// for no input gradient: with a parameter-free gate in front of the first Linear, this saves its largest product.
  void backward(const MatrixType& x, const MatrixType& dy, MatrixType* dx) override {
    require_layers("backward");
    this->check_backward(x, dy, true);  // before any forward: says to call forward first; the layers check the mode
    const std::size_t stop = dx ? 0 : first_trainable_;
    const MatrixType* upstream = &dy;
    for (std::size_t i = layers_.size(); i-- > stop;) {
      const MatrixType& in = i == 0 ? x : outputs_[i - 1];
      // The input-gate shortcut: a gate with one factor per unit for the whole batch (SBP) is the first layer to
      // train, so only its factors' gradient is wanted from the layer behind it, not that layer's input gradient;
      // a Linear gives it from its weight gradient, saving the product W^T dy (core/layer.hpp).
      if (!dx && i == stop + 1 && layers_[stop]->row_scaled_output() &&
          layers_[i]->backward_row_scale(in, *upstream, row_scale_grad_)) {
        layers_[stop]->backward_from_row_scale(stop == 0 ? x : outputs_[stop - 1], row_scale_grad_);
        return;
      }
      MatrixType* down = i == 0 ? dx : (i == stop ? nullptr : &grads_[i]);
      layers_[i]->backward(in, *upstream, down);
      upstream = down;
    }
  }

  /// Every parameter of every layer, in layer order. Pointers stay valid while the model lives.
  std::vector<Parameter<Scalar>*> parameters() override { return params_; }
  /// Every layer's untrained state, in layer order, names prefixed with the layer's index ("3.running_mean").
  std::vector<StateTensor<Scalar>> state() override {
    std::vector<StateTensor<Scalar>> all;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      for (auto& s : layers_[i]->state()) all.push_back({std::to_string(i) + "." + s.name, s.value});
    }
    return all;
  }
  /// Clears every parameter's gradient (allocation-free).
  void zero_grad() {
    for (auto* p : params_) p->zero_grad();
  }

  /// The model's KL: sum over layers of kl_scale(i) * layer i's KL (scales are 1 unless set).
  bool has_kl() const override {
    for (const auto& l : layers_) {
      if (l->has_kl()) return true;
    }
    return false;
  }
  /// Sets the train mask of every layer that has one; true if any does.
  bool set_train_mask(bool on) override {
    bool any = false;
    for (auto& l : layers_) any = l->set_train_mask(on) || any;
    return any;
  }
  Scalar kl() const override {
    Scalar total(0);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      if (kl_scales_[i] != Scalar(0)) total += kl_scales_[i] * layers_[i]->kl();
    }
    return total;
  }
  void kl_backward(Scalar coeff) override {
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      if (kl_scales_[i] != Scalar(0)) layers_[i]->kl_backward(coeff * kl_scales_[i]);
    }
  }

  /// Multiplies layer i's KL in kl() and kl_backward() by `scale` (finite, >= 0): the beta-Bernoulli authors' PyTorch
  /// code weighs the KL of LeNet-5's conv gates by per-layer kl_scale factors (40 and 16).
  void set_kl_scale(Index i, double scale) {
    if (!(scale >= 0) || !std::isfinite(scale)) {
      throw InvalidArgument("Sequential::set_kl_scale: the scale must be finite and >= 0, got " +
                            std::to_string(scale));
    }
    kl_scales_.at(static_cast<std::size_t>(i)) = Scalar(scale);
  }
  double kl_scale(Index i) const { return double(kl_scales_.at(static_cast<std::size_t>(i))); }

  /// Totals over the chain: input units of the first layer, weights summed over all layers.
  SparsityStats sparsity() const override {
    SparsityStats s;
    if (layers_.empty()) return s;
    const SparsityStats first = layers_.front()->sparsity();
    s.units_in = first.units_in;
    s.active_in = first.active_in;
    for (const auto& l : layers_) {
      const SparsityStats t = l->sparsity();
      s.weights += t.weights;
      s.active_weights += t.active_weights;
    }
    return s;
  }

 private:
  const std::vector<LayerPtr<Scalar>>& require_layers(const char* what) const {
    if (layers_.empty()) {
      throw InvalidArgument(std::string("Sequential::") + what + ": the model has no layers; add some first");
    }
    return layers_;
  }

  std::vector<LayerPtr<Scalar>> layers_;
  std::vector<Scalar> kl_scales_;    // one per layer, 1 unless set_kl_scale
  std::vector<MatrixType> outputs_;  // outputs_[i]: output of layer i
  std::vector<MatrixType> grads_;    // grads_[i]: d loss / d input of layer i (i >= 1)
  std::vector<Parameter<Scalar>*> params_;
  Vector<Scalar> row_scale_grad_;    // the input-gate shortcut's g
  std::size_t first_trainable_ = 0;  // index of the first layer with parameters (the last layer if none has any)
};

BAYESDROP_EXTERN_CLASS_TEMPLATE(Sequential)

}  // namespace bayesdrop
