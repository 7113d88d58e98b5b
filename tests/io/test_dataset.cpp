// mean_image and subtract_image: the sparse VD authors' MNIST preparation (every image minus the training set's mean
// image), checked against sums written out by hand.
#include <catch2/catch.hpp>

#include "bayesdrop/io/dataset.hpp"

namespace bd = bayesdrop;

TEST_CASE("mean_image averages each pixel over the examples; subtract_image centres every image", "[io][dataset]") {
  bd::Dataset<float> train;
  train.shape = bd::ImageShape{1, 1, 3};
  train.images.resize(3, 4);
  train.images << 0.0f, 1.0f, 0.5f, 0.5f,  //
      0.0f, 0.0f, 0.0f, 0.0f,              //
      1.0f, 0.25f, 0.25f, 0.5f;
  train.labels.resize(4);
  train.labels << 0, 1, 2, 3;
  const bd::Vector<float> mean = bd::mean_image(train);
  REQUIRE(mean.size() == 3);
  CHECK(mean(0) == 0.5f);
  CHECK(mean(1) == 0.0f);
  CHECK(mean(2) == 0.5f);

  bd::Dataset<float> test = train;
  bd::subtract_image(train, mean);
  CHECK(train.images.rowwise().sum().cwiseAbs().maxCoeff() < 1e-6f);  // centred: each pixel sums to 0
  CHECK(train.images(0, 1) == 0.5f);
  CHECK(train.images(2, 0) == 0.5f);
  CHECK(train.images(2, 1) == -0.25f);
  bd::subtract_image(test, mean);  // the test set loses the training set's mean, not its own
  CHECK(test.images == train.images);
}

TEST_CASE("mean_image and subtract_image refuse what they cannot centre", "[io][dataset]") {
  bd::Dataset<float> empty;
  empty.images.resize(784, 0);
  CHECK_THROWS_AS(bd::mean_image(empty), bd::InvalidArgument);
  bd::Dataset<float> data;
  data.images = bd::Matrix<float>::Ones(4, 2);
  data.labels.resize(2);
  const bd::Vector<float> three = bd::Vector<float>::Zero(3);
  CHECK_THROWS_AS(bd::subtract_image(data, three), bd::ShapeError);
}
