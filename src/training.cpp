// The compiled library (bayesdrop::compiled): The optimisers, the loss, the training loop, checkpoints, model files,
// MNIST and Monte Carlo prediction. Defines the float and double instantiations that the headers declare `extern
// template` when BAYESDROP_COMPILED_LIB is set (core/instantiation.hpp).
#include "bayesdrop/io/mnist.hpp"
#include "bayesdrop/losses/softmax_cross_entropy.hpp"
#include "bayesdrop/methods/run.hpp"
#include "bayesdrop/models/model_file.hpp"
#include "bayesdrop/models/saved_model.hpp"
#include "bayesdrop/optim/adam.hpp"
#include "bayesdrop/optim/optimizer.hpp"
#include "bayesdrop/optim/sgd.hpp"
#include "bayesdrop/training/authors_choices.hpp"
#include "bayesdrop/training/checkpoint.hpp"
#include "bayesdrop/training/epoch_runner.hpp"
#include "bayesdrop/training/fit.hpp"
#include "bayesdrop/uncertainty/mc_predict.hpp"

namespace bayesdrop {

template class Optimizer<float>;
template class Adam<float>;
template class Sgd<float>;
template class SoftmaxCrossEntropy<float>;
template class EpochRunner<float>;
template class McPredictor<float>;
template std::vector<EpochLog> fit(Sequential<float>&, Optimizer<float>&, const Dataset<float>&, const Dataset<float>*,
                                   Rng&, const FitOptions&);
template std::vector<EpochLog> fit(Sequential<float>&, const Recipe&, const Dataset<float>&, const Dataset<float>*,
                                   Rng&, const FitOptions&);
template std::string serialize_checkpoint(const Sequential<float>&, Optimizer<float>&, const Rng&,
                                          const CheckpointInfo&);
template CheckpointInfo deserialize_checkpoint(Sequential<float>&, Optimizer<float>&, Rng&, std::string_view,
                                               const CheckpointInfo&, const std::string&);
template void apply_model_choices(Sequential<float>&, const Recipe&);
template void copy_pretrained_weights(Sequential<float>&, Sequential<float>&);
template void copy_beta_bernoulli_gates(Sequential<float>&, Sequential<float>&);
template std::string serialize_model(const Sequential<float>&, const std::string&);
template std::string deserialize_model(Sequential<float>&, std::string_view, const std::string&);
template void save_model(const Sequential<float>&, const std::string&, const std::string&);
template std::string load_model(Sequential<float>&, const std::string&);
template Dataset<float> load_mnist(const std::string&, Split);
template RunResult<float> train_run(const RunSpec&, const Dataset<float>&, const Dataset<float>*,
                                    const RunCallbacks<float>&);
template ModelSpec warm_start(Sequential<float>&, const std::string&);
template Sequential<float> load_model_file(const std::string&);

template class Optimizer<double>;
template class Adam<double>;
template class Sgd<double>;
template class SoftmaxCrossEntropy<double>;
template class EpochRunner<double>;
template class McPredictor<double>;
template std::vector<EpochLog> fit(Sequential<double>&, Optimizer<double>&, const Dataset<double>&,
                                   const Dataset<double>*, Rng&, const FitOptions&);
template std::vector<EpochLog> fit(Sequential<double>&, const Recipe&, const Dataset<double>&, const Dataset<double>*,
                                   Rng&, const FitOptions&);
template std::string serialize_checkpoint(const Sequential<double>&, Optimizer<double>&, const Rng&,
                                          const CheckpointInfo&);
template CheckpointInfo deserialize_checkpoint(Sequential<double>&, Optimizer<double>&, Rng&, std::string_view,
                                               const CheckpointInfo&, const std::string&);
template void apply_model_choices(Sequential<double>&, const Recipe&);
template void copy_pretrained_weights(Sequential<double>&, Sequential<double>&);
template void copy_beta_bernoulli_gates(Sequential<double>&, Sequential<double>&);
template std::string serialize_model(const Sequential<double>&, const std::string&);
template std::string deserialize_model(Sequential<double>&, std::string_view, const std::string&);
template void save_model(const Sequential<double>&, const std::string&, const std::string&);
template std::string load_model(Sequential<double>&, const std::string&);
template Dataset<double> load_mnist(const std::string&, Split);
template RunResult<double> train_run(const RunSpec&, const Dataset<double>&, const Dataset<double>*,
                                     const RunCallbacks<double>&);
template ModelSpec warm_start(Sequential<double>&, const std::string&);
template Sequential<double> load_model_file(const std::string&);

}  // namespace bayesdrop
