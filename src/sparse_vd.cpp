// The compiled library (bayesdrop::compiled): Sparse variational dropout (Molchanov 2017), dense and convolutional.
// Defines the float and double instantiations that the headers declare `extern template` when
// BAYESDROP_COMPILED_LIB is set (core/instantiation.hpp).
#include "bayesdrop/layers/sparse_vd_conv2d.hpp"
#include "bayesdrop/layers/sparse_vd_linear.hpp"

namespace bayesdrop {

template class SparseVDLinear<float>;
template class SparseVDConv2d<float>;

template class SparseVDLinear<double>;
template class SparseVDConv2d<double>;

}  // namespace bayesdrop
