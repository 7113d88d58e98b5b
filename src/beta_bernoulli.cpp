// The compiled library (bayesdrop::compiled): Beta-Bernoulli and dependent beta-Bernoulli dropout (Lee et al. 2018).
// Defines the float and double instantiations that the headers declare `extern template` when
// BAYESDROP_COMPILED_LIB is set (core/instantiation.hpp).
#include "bayesdrop/layers/beta_bernoulli_dropout.hpp"
#include "bayesdrop/layers/dependent_beta_bernoulli_dropout.hpp"

namespace bayesdrop {

template class BetaBernoulliDropout<float>;
template class CompactDependentGate<float>;
template class DependentGateForm<float>;
template class DependentBetaBernoulliDropout<float>;

template class BetaBernoulliDropout<double>;
template class CompactDependentGate<double>;
template class DependentGateForm<double>;
template class DependentBetaBernoulliDropout<double>;

}  // namespace bayesdrop
