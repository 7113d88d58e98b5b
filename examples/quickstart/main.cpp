// The README's quick start: a small MLP trained with Adam on a synthetic two-class problem.
#include <bayesdrop/bayesdrop.hpp>
#include <cstdio>

int main() {
  using namespace bayesdrop;
  Rng rng(42);  // every random draw in bayesdrop comes from an explicitly seeded generator

  // 2-d points, one column per observation; the class is whether the point lies inside the unit circle.
  Dataset<float> data;
  data.shape = ImageShape{1, 1, 2};
  data.images.resize(2, 2000);
  rng.normal(data.images);
  data.labels.resize(2000);
  for (Index i = 0; i < 2000; ++i) data.labels[i] = data.images.col(i).squaredNorm() < 1.0f ? 1 : 0;

  Sequential<float> model = mlp<float>({2, 32, 32, 2}, rng);
  Adam<float> adam({ParamGroup<float>{"all", model.parameters(), 1e-2}});
  EpochRunner<float> runner(EpochOptions{}.with_batch(50));

  for (int epoch = 1; epoch <= 30; ++epoch) {
    const EpochResult r = runner.train_epoch(model, adam, data, rng);
    if (epoch % 10 == 0) std::printf("epoch %d: cross-entropy %.4f, accuracy %.3f\n", epoch, r.cross_entropy, r.accuracy);
  }
  const EpochResult eval = runner.evaluate(model, data);
  std::printf("evaluation accuracy %.3f, KL %.1f, weights %lld\n", eval.accuracy, eval.kl,
              static_cast<long long>(model.sparsity().weights));
  return eval.accuracy > 0.95 ? 0 : 1;
}
