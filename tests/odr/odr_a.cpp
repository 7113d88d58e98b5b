// One of two translation units that include the whole library (see odr_main.cpp).
#include <cmath>

#include "bayesdrop/bayesdrop.hpp"

// A float MLP trained for one step with Adam on softmax cross-entropy; returns 0 when everything has the expected
// shape and stays finite.
int odr_a() {
  using namespace bayesdrop;
  Rng rng(1);
  Sequential<float> net;
  net.emplace<Linear>(12, 8, rng);
  net.emplace<ReLU>(8);
  net.emplace<Linear>(8, 3, rng);

  ParamGroup<float> group;
  group.params = net.parameters();
  group.lr = 1e-2;
  Adam<float> adam({group});
  SoftmaxCrossEntropy<float> loss;

  Matrix<float> x(12, 4);
  rng.normal(x);
  Labels y(4);
  y << 0, 1, 2, 1;
  adam.zero_grad();
  const Matrix<float>& logits = net.forward(x, Context::train(rng));
  const float value = loss.forward(logits, y);
  Matrix<float> dlogits;
  loss.backward(y, dlogits);
  net.backward(x, dlogits, nullptr);
  adam.step();
  return (std::isfinite(value) && logits.rows() == 3 && logits.cols() == 4 && adam.steps() == 1) ? 0 : 1;
}
