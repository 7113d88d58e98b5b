// The MNIST trainer's PNG pictures (examples/mnist/pictures.hpp), written to a temporary directory and read back
// with stb_image (whose implementation, like stb_image_write's, is in Debian's libstb).
#include <stb/stb_image.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pictures.hpp"

using trainer::Rgb;
namespace fs = std::filesystem;

namespace {

struct Image {
  int width = 0, height = 0;
  std::unique_ptr<unsigned char, void (*)(void*)> data{nullptr, stbi_image_free};
  Rgb at(int x, int y) const {
    const unsigned char* p = data.get() + (std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3;
    return Rgb{p[0], p[1], p[2]};
  }
};

Image load(const fs::path& path) {
  Image img;
  int channels = 0;
  img.data.reset(stbi_load(path.string().c_str(), &img.width, &img.height, &channels, 3));
  REQUIRE(img.data);
  return img;
}

/// A fresh directory for this process, removed at the end of the test case.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("bayesdrop_test_pictures_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

std::string str(Rgb c) {
  return "(" + std::to_string(c.r) + ", " + std::to_string(c.g) + ", " + std::to_string(c.b) + ")";
}

}  // namespace

TEST_CASE("the pixel mask is 28x28 upscaled, kept pixels white, pruned black, fractions grey", "[examples][pictures]") {
  TempDir dir;
  std::vector<float> keep(784, 0.0f);
  keep[0] = 1.0f;           // row 0, column 0
  keep[28 * 5 + 3] = 0.5f;  // row 5, column 3
  const fs::path png = dir.path / "mask.png";
  trainer::write_pixel_mask_png(png.string(), keep, 8);
  const Image img = load(png);
  CHECK(img.width == 224);
  CHECK(img.height == 224);
  INFO("kept " << str(img.at(4, 4)) << ", pruned " << str(img.at(223, 223)) << ", half " << str(img.at(27, 43)));
  CHECK(img.at(0, 0) == Rgb{255, 255, 255});
  CHECK(img.at(7, 7) == Rgb{255, 255, 255});  // the whole 8x8 square (nearest-neighbour upscaling)
  CHECK(img.at(8, 0) == Rgb{0, 0, 0});        // its right neighbour is pruned
  CHECK(img.at(223, 223) == Rgb{0, 0, 0});
  CHECK(img.at(3 * 8 + 3, 5 * 8 + 3) == Rgb{128, 128, 128});

  trainer::write_pixel_mask_png(png.string(), keep, 1);
  CHECK(load(png).width == 28);
}

TEST_CASE("over a background, kept pixels are tinted and pruned ones show the dimmed digit", "[examples][pictures]") {
  TempDir dir;
  std::vector<float> keep(784, 0.0f), background(784, 0.0f);
  keep[0] = 1.0f;        // kept over black background
  keep[1] = 1.0f;        // kept over the brightest background pixel
  background[1] = 0.5f;  // the brightest: scaled to 1
  background[2] = 0.5f;  // pruned over the brightest background pixel
  const fs::path png = dir.path / "mask_bg.png";
  trainer::write_pixel_mask_png(png.string(), keep, background, 4);
  const Image img = load(png);
  REQUIRE(img.width == 112);
  INFO("kept on black " << str(img.at(1, 1)) << ", kept on digit " << str(img.at(5, 1)) << ", pruned on digit "
                        << str(img.at(9, 1)));
  CHECK(img.at(5, 1) == trainer::palette::tint);  // full tint where the background is brightest
  const Rgb dim = img.at(1, 1);                   // 45 % tint where it is black
  CHECK(dim.r > 100);
  CHECK(dim.r < trainer::palette::tint.r);
  CHECK(img.at(9, 1) == Rgb{120, 120, 120});  // pruned: the background as grey
  CHECK(img.at(111, 111) == Rgb{0, 0, 0});    // pruned over black
}

TEST_CASE("pictures reject bad input and unwritable paths with clear errors", "[examples][pictures]") {
  TempDir dir;
  const std::string missing = (dir.path / "no_such_directory" / "mask.png").string();
  const std::vector<float> keep(784, 1.0f);
  CHECK_THROWS_WITH(trainer::write_pixel_mask_png(missing, keep),
                    Catch::Contains(missing) && Catch::Contains("directory exists"));
  const std::string ok = (dir.path / "x.png").string();
  CHECK_THROWS_WITH(trainer::write_pixel_mask_png(ok, std::vector<float>(100, 1.0f)), Catch::Contains("784"));
  CHECK_THROWS_AS(trainer::write_pixel_mask_png(ok, keep, std::vector<float>(10)), bayesdrop::InvalidArgument);
  CHECK_THROWS_AS(trainer::write_pixel_mask_png(ok, keep, 0), bayesdrop::InvalidArgument);
}
