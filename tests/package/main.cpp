// Consumer smoke test: a 784-32-10 MLP (Linear, ReLU, Linear) through the umbrella header; exit 0 iff the forward
// pass of a batch of 5 gives a finite 10 x 5 output.
#include <bayesdrop/bayesdrop.hpp>
#include <iostream>

int main() {
  using namespace bayesdrop;
  Rng rng(2024);
  Sequential<float> net;
  net.emplace<Linear>(784, 32, rng);  // fc1: 784 -> 32
  net.emplace<ReLU>(32);
  net.emplace<Linear>(32, 10, rng);  // fc2: 32 -> 10

  Matrix<float> x(784, 5);
  rng.uniform(x);
  const Matrix<float>& y = net.forward(x, Context::eval());

  const bool ok = y.rows() == 10 && y.cols() == 5 && y.allFinite();
  std::cout << "bayesdrop consumer: output " << y.rows() << " x " << y.cols() << (ok ? " ok" : " WRONG") << "\n";
  std::cout << "bayesdrop consumer: product back end " << bayesdrop::product_backend() << "\n";
  return ok ? 0 : 1;
}
