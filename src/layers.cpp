// The compiled library (bayesdrop::compiled): the layer base, the compact forms and the layers without noise
// (group-lasso SSL among them). Defines the float and double instantiations that the headers declare
// `extern template` when BAYESDROP_COMPILED_LIB is set (core/instantiation.hpp).
#include "bayesdrop/core/compact_form.hpp"
#include "bayesdrop/core/layer.hpp"
#include "bayesdrop/layers/batch_norm1d.hpp"
#include "bayesdrop/layers/channel_bias.hpp"
#include "bayesdrop/layers/conv2d.hpp"
#include "bayesdrop/layers/eval_only.hpp"
#include "bayesdrop/layers/flatten.hpp"
#include "bayesdrop/layers/gate.hpp"
#include "bayesdrop/layers/group_lasso_linear.hpp"
#include "bayesdrop/layers/linear.hpp"
#include "bayesdrop/layers/max_pool2d.hpp"
#include "bayesdrop/layers/relu.hpp"

namespace bayesdrop {

template class Layer<float>;
template class CompactForm<float>;
template class RowwiseForm<float>;
template class GateForm<float>;
template class WeightForm<float>;
template class Gate<float>;
template class Linear<float>;
template class GroupLassoLinear<float>;
template class ReLU<float>;
template class Flatten<float>;
template class Conv2d<float>;
template class ChannelBias<float>;
template class MaxPool2d<float>;
template class BatchNorm1d<float>;
template class SelectRows<float>;
template class SparseLinear<float>;

template class Layer<double>;
template class CompactForm<double>;
template class RowwiseForm<double>;
template class GateForm<double>;
template class WeightForm<double>;
template class Gate<double>;
template class Linear<double>;
template class GroupLassoLinear<double>;
template class ReLU<double>;
template class Flatten<double>;
template class Conv2d<double>;
template class ChannelBias<double>;
template class MaxPool2d<double>;
template class BatchNorm1d<double>;
template class SelectRows<double>;
template class SparseLinear<double>;

}  // namespace bayesdrop

// The alignment this library was compiled with (core/instantiation.hpp).
int bayesdrop::detail::BAYESDROP_ALIGN_CHECK_NAME(EIGEN_MAX_ALIGN_BYTES)() {
  return EIGEN_MAX_ALIGN_BYTES;
}
