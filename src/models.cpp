// The compiled library (bayesdrop::compiled): Sequential, the networks built by name (every family's factories),
// compact() and summarize(). Defines the float and double instantiations that the headers declare `extern template`
// when BAYESDROP_COMPILED_LIB is set (core/instantiation.hpp).
#include "bayesdrop/models/compact.hpp"
#include "bayesdrop/models/lenet5.hpp"
#include "bayesdrop/models/mlp.hpp"
#include "bayesdrop/models/registry.hpp"
#include "bayesdrop/models/sequential.hpp"
#include "bayesdrop/models/summary.hpp"
#include "bayesdrop/models/zoo.hpp"

namespace bayesdrop {

template class Sequential<float>;
template Sequential<float> mlp(const std::vector<Index>&, Rng&, const MlpOptions<float>&);
template Sequential<float> lenet5(Rng&, const LeNet5Options<float>&, ImageShape);
template Sequential<float> build_model(const ModelSpec&, Rng&);
template LayerPtr<float> make_gate(const std::string&, ImageShape, double, Rng&);
template Sequential<float> compact(const Sequential<float>&, const CompactOptions&);
template ModelSummary summarize(const Sequential<float>&);
template const DropoutFactories<float>& detail::builtin_factories<float>(std::size_t);

template class Sequential<double>;
template Sequential<double> mlp(const std::vector<Index>&, Rng&, const MlpOptions<double>&);
template Sequential<double> lenet5(Rng&, const LeNet5Options<double>&, ImageShape);
template Sequential<double> build_model(const ModelSpec&, Rng&);
template LayerPtr<double> make_gate(const std::string&, ImageShape, double, Rng&);
template Sequential<double> compact(const Sequential<double>&, const CompactOptions&);
template ModelSummary summarize(const Sequential<double>&);
template const DropoutFactories<double>& detail::builtin_factories<double>(std::size_t);

}  // namespace bayesdrop
