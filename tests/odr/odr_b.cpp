// The second translation unit that includes the whole library (see odr_main.cpp).
#include <cmath>

#include "bayesdrop/bayesdrop.hpp"

// The same pieces as odr_a.cpp in double, plus SGD and Flatten, so both TUs instantiate overlapping templates.
int odr_b() {
  using namespace bayesdrop;
  Rng rng(2);
  Sequential<double> net;
  net.emplace<Flatten>(ImageShape{1, 3, 4});
  net.emplace<Linear>(12, 3, rng);

  ParamGroup<double> group;
  group.params = net.parameters();
  Sgd<double> sgd({group});
  Adam<double> adam_unused({ParamGroup<double>{"unused", net.parameters()}});
  SoftmaxCrossEntropy<double> loss;

  Matrix<double> x(12, 2);
  rng.uniform(x);
  Labels y(2);
  y << 2, 0;
  const Matrix<double>& logits = net.forward(x, Context::train(rng));
  const double value = loss.forward(logits, y);
  Matrix<double> dlogits;
  loss.backward(y, dlogits);
  sgd.zero_grad();
  net.backward(x, dlogits, nullptr);
  sgd.step();
  return (std::isfinite(value) && logits.rows() == 3 && logits.cols() == 2) ? 0 : 1;
}
