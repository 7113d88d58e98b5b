// A whole run as one library call (README, "A run as one call"): structured Bayesian pruning on the MLP from a
// pretrained start, checkpointed, resumed if a checkpoint is there, saved with its architecture and loaded back
// without it. It trains what `bayesdrop-mnist --dropout sbp --pretrain 2 --epochs 2 --threads 1` trains, bit for bit.
// Usage: bayesdrop-pretrained-sbp [MNIST_DIR] [OUT.model]
#include <bayesdrop/bayesdrop.hpp>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  using namespace bayesdrop;
  try {
    const std::string dir = argc > 1 ? argv[1] : default_data_dir("mnist");  // or $BAYESDROP_MNIST_DIR
    const std::string out = argc > 2 ? argv[2] : "sbp.model";
    const Dataset<float> train = load_mnist<float>(dir, Split::train), test = load_mnist<float>(dir, Split::test);

    RunSpec spec;
    spec.model = {"mlp", "sbp"};                     // 784-500-300-10 with SBP gates on its three inputs
    spec.recipe = recipe_for_dropout("sbp", "mlp");  // the method's recipe
    spec.recipe.epochs = 2;                          // (200 in the paper)
    spec.recipe.pretrain_epochs = 2;                 // the plain network first, as the authors start
    spec.seed = 1;
    spec.threads = 1;                 // a fixed count repeats bit for bit; 0: the idle cores
    spec.checkpoint = out + ".ckpt";  // after every epoch of both phases
    spec.resume = spec.checkpoint;    // an interrupted run continues where it stopped
    spec.resume_if_exists = true;

    RunCallbacks<float> print;
    print.on_epoch = [](const EpochLog& log) {
      std::printf("epoch %d: test accuracy %.4f\n", log.epoch, log.test.accuracy);
    };
    RunResult<float> run = train_run<float>(spec, train, &test, print);
    save_model(run.model, spec.model, out);  // the file records its architecture

    Sequential<float> back = load_model_file<float>(out);  // no architecture needed
    EpochRunner<float> runner;
    std::printf("%s: %s with %s gates, test accuracy %.4f\n", out.c_str(), spec.model.model.c_str(),
                spec.model.dropout.c_str(), runner.evaluate(back, test).accuracy);
  } catch (const Error& e) {
    std::fprintf(stderr, "pretrained-sbp: %s\n", e.what());
    return 1;
  }
}
