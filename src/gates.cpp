// The compiled library (bayesdrop::compiled): binary, Gaussian and variational dropout (Kingma 2015, types A and B),
// structured Bayesian pruning, the variational information bottleneck, generalized dropout and L0 gates. Defines the
// float and double instantiations that the headers declare `extern template` when BAYESDROP_COMPILED_LIB is set
// (core/instantiation.hpp).
#include "bayesdrop/layers/binary_dropout.hpp"
#include "bayesdrop/layers/gaussian_dropout.hpp"
#include "bayesdrop/layers/generalized_dropout.hpp"
#include "bayesdrop/layers/l0_gate.hpp"
#include "bayesdrop/layers/structured_bayesian_pruning.hpp"
#include "bayesdrop/layers/variational_dropout.hpp"
#include "bayesdrop/layers/variational_information_bottleneck.hpp"
#include "bayesdrop/layers/variational_linear.hpp"

namespace bayesdrop {

template class BinaryDropout<float>;
template class GaussianDropout<float>;
template class VariationalDropout<float>;
template class VariationalLinear<float>;
template class StructuredBayesianPruning<float>;
template class VariationalInformationBottleneck<float>;
template class GeneralizedDropout<float>;
template class L0Gate<float>;

template class BinaryDropout<double>;
template class GaussianDropout<double>;
template class VariationalDropout<double>;
template class VariationalLinear<double>;
template class StructuredBayesianPruning<double>;
template class VariationalInformationBottleneck<double>;
template class GeneralizedDropout<double>;
template class L0Gate<double>;

}  // namespace bayesdrop
