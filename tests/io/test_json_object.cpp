// The flat JSON objects of model-file metadata (io/json_object.hpp): written, read back, and anything that is not
// one JSON object refused with the source and the offset.
#include <catch2/catch.hpp>
#include <string>

#include "bayesdrop/io/json_object.hpp"

namespace bd = bayesdrop;
using Catch::Contains;

TEST_CASE("json_object: fields of every kind are read; nested values are kept as text", "[io]") {
  const auto o = bd::parse_json_object(
      R"( {"model": "mlp", "p": 0.25, "n": -3e2, "on": true, "off": false, "x": null,
           "esc": "a\"b\\c\n\u00e9", "list": [1, {"a": "]"}], "obj": {"k": [2]}} )",
      "meta");
  CHECK(o.find("model")->text == "mlp");
  CHECK(o.find("p")->number == 0.25);
  CHECK(o.find("n")->number == -300);
  CHECK(o.find("on")->kind == bd::JsonValue::Kind::boolean);
  CHECK(o.find("on")->number == 1);
  CHECK(o.find("off")->number == 0);
  CHECK(o.find("x")->kind == bd::JsonValue::Kind::null);
  CHECK(o.find("esc")->text == "a\"b\\c\n\xc3\xa9");
  CHECK(o.find("list")->text == R"([1, {"a": "]"}])");
  CHECK(o.find("obj")->kind == bd::JsonValue::Kind::nested);
  CHECK_FALSE(o.contains("missing"));
  CHECK(bd::parse_json_object("{}", "e").fields.empty());
}

TEST_CASE("json_object: what is written reads back the same", "[io]") {
  const std::string text = bd::write_json_object({{"s", bd::json_string("q\"\\\n\x01")},
                                                  {"a", bd::json_number(0.1)},
                                                  {"b", bd::json_number(60000)},
                                                  {"c", bd::json_number(1.0 / 3.0)},
                                                  {"d", bd::json_number(1e-300)}});
  CHECK(text.find(R"("a":0.1,)") != std::string::npos);
  CHECK(text.find(R"("b":60000,)") != std::string::npos);
  const auto o = bd::parse_json_object(text, "t");
  CHECK(o.find("s")->text == "q\"\\\n\x01");
  CHECK(o.find("a")->number == 0.1);
  CHECK(o.find("b")->number == 60000);
  CHECK(o.find("c")->number == 1.0 / 3.0);  // shortest text that reads back exactly
  CHECK(o.find("d")->number == 1e-300);
  CHECK(bd::json_number(std::nan("")) == "null");
}

TEST_CASE("json_object: what is not one JSON object is a DataError naming the source", "[io]") {
  for (const char* bad : {"", "[1]", "{", R"({"a" 1})", R"({"a": 1,})", R"({"a": 01})", R"({"a": -})", R"({"a": "x)",
                          R"({"a": [1, 2})", R"({"a": [}]})", R"({"a": 1} x)", R"({"a": tru})", "{\"a\": \"\x01\"}",
                          R"({"a": "\q"})", R"({"a": "\u12"})", R"({1: 2})"}) {
    INFO(bad);
    CHECK_THROWS_AS(bd::parse_json_object(bad, "src.model"), bd::DataError);
    CHECK_THROWS_WITH(bd::parse_json_object(bad, "src.model"), Contains("src.model") && Contains("offset"));
  }
  const std::string deep = std::string(100000, '[');  // refused by depth, not a stack overflow
  CHECK_THROWS_WITH(bd::parse_json_object("{\"a\": " + deep + "}", "d"), Contains("deeper"));
}
