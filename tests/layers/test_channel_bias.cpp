// ChannelBias: one bias per channel of an image, added at every position; its gradients by finite differences.
#include <catch2/catch.hpp>

#include "bayesdrop/layers/channel_bias.hpp"
#include "support/gradcheck.hpp"

using namespace bayesdrop;

TEST_CASE("ChannelBias adds each channel's bias at all its positions", "[layer][channel_bias]") {
  ChannelBias<double> layer(ImageShape{2, 1, 3});
  layer.bias().value << 1.0, -2.0;
  Matrix<double> x(6, 2), y;
  x << 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;
  layer.forward(x, y, Context::eval());
  Matrix<double> expected(6, 2);
  expected << 1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 8, 9;
  CHECK(y == expected);
  CHECK(layer.parameters().size() == 1u);
  CHECK(layer.parameters()[0]->role == ParamRole::bias);
  CHECK_THROWS_AS(ChannelBias<float>(ImageShape{0, 4, 4}), InvalidArgument);
}

TEST_CASE("ChannelBias gradients match finite differences", "[layer][channel_bias][gradcheck]") {
  Rng rng(5);
  ChannelBias<double> layer(ImageShape{3, 2, 2});
  rng.normal(layer.bias().value);
  Matrix<double> x(12, 4);
  rng.normal(x);
  const auto input = test::check_input_gradient(layer, x, 1);
  INFO(input.what << ": " << input.error);
  CHECK(input.error < 1e-8);
  const auto params = test::check_parameter_gradients(layer, x, 1);
  INFO(params.what << ": " << params.error);
  CHECK(params.error < 1e-8);
}
