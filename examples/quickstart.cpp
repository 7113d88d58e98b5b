// Quick start: the MLP 784-500-300-10 with beta-Bernoulli gates on the inputs of its three dense layers, trained
// on MNIST for three epochs with the course assignment's recipe. Usage: bayesdrop-quickstart [MNIST_DIR]
#include <bayesdrop/bayesdrop.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  using namespace bayesdrop;
  try {
    const std::string dir = argc > 1 ? argv[1] : default_data_dir("mnist");  // or $BAYESDROP_MNIST_DIR
    const Dataset<float> train = load_mnist<float>(dir, Split::train), test = load_mnist<float>(dir, Split::test);

    Rng rng(42);  // every random draw comes from an explicitly seeded generator
    MlpOptions<float> gates;
    gates.with_gate([](Index units, std::size_t, Rng& r) -> LayerPtr<float> {
      return std::make_unique<BetaBernoulliDropout<float>>(units, r, BetaBernoulliOptions::assignment());
    });
    Sequential<float> model = mlp<float>({784, 500, 300, 10}, rng, gates);

    // Adam: gates at 1e-2, weights at 1e-3 with L2 1e-4; loss = cross-entropy + KL / 60000.
    const Recipe recipe = Recipe::assignment();
    fit(model, recipe, train, &test, rng, FitOptions{}.with_epochs(3).with_on_epoch([](const EpochLog& log) {
      std::printf("epoch %d: test accuracy %.4f, n_active [%ld, %ld, %ld]\n", log.epoch, log.test.accuracy,
                  long(log.n_active[0]), long(log.n_active[1]), long(log.n_active[2]));
    }));
    const ModelSummary summary = summarize(model);
    std::printf("parameters kept: %.1f %%\n", 100 * summary.memory_kept());
  } catch (const Error& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
  }
}
