// A reader and writer of flat JSON objects: the metadata of model files and checkpoints, without a JSON dependency.
//
//   JsonObject meta = parse_json_object(R"({"model": "mlp", "p_input": 0.2, "notes": [1, 2]})", "x.model");
//   meta.text("model");   // "mlp"
//   meta.number("p_input");  // 0.2
//   write_json_object({{"model", json_string("mlp")}, {"p_input", json_number(0.2)}});
//
// Values that are strings, numbers, true, false and null are read; nested objects and arrays are kept as their raw
// text (a caller with a JSON library can parse them further). Anything that is not a JSON object is a DataError naming
// the source and the offset.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bayesdrop/core/error.hpp"

namespace bayesdrop {

/// One value of a flat JSON object.
struct JsonValue {
  enum class Kind { string, number, boolean, null, nested };
  Kind kind = Kind::null;
  std::string text;   ///< string: its decoded characters; nested: the raw text; number: the token
  double number = 0;  ///< number: its value; boolean: 1 or 0
};

/// A JSON object's fields by name (the last one wins when a name repeats, as most JSON readers do).
struct JsonObject {
  std::map<std::string, JsonValue> fields;
  std::string source;  ///< for messages

  bool contains(const std::string& key) const { return fields.count(key) != 0; }
  const JsonValue* find(const std::string& key) const {
    const auto it = fields.find(key);
    return it == fields.end() ? nullptr : &it->second;
  }
};

namespace detail {

class JsonScanner {
 public:
  JsonScanner(const std::string& text, const std::string& source) : s_(text), source_(source) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(source_ + ": not a JSON object (" + what + " at offset " + std::to_string(pos_) + ")");
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() {
    skip_space();
    if (at_end()) fail("unexpected end");
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (at_end()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("a control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          append_utf8(out, hex4());
          break;
        default:
          fail("an unknown escape");
      }
    }
  }

  JsonValue value() {
    JsonValue v;
    const char c = peek();
    if (c == '"') {
      v.kind = JsonValue::Kind::string;
      v.text = string();
    } else if (c == '{' || c == '[') {
      v.kind = JsonValue::Kind::nested;
      const std::size_t start = pos_;
      skip_nested();
      v.text = s_.substr(start, pos_ - start);
    } else if (word("true")) {
      v.kind = JsonValue::Kind::boolean;
      v.number = 1;
    } else if (word("false")) {
      v.kind = JsonValue::Kind::boolean;
    } else if (word("null")) {
      v.kind = JsonValue::Kind::null;
    } else {
      v.kind = JsonValue::Kind::number;
      v.text = number_token();
      v.number = std::strtod(v.text.c_str(), nullptr);
    }
    return v;
  }

 private:
  bool word(const char* w) {
    const std::string t(w);
    if (s_.compare(pos_, t.size(), t) != 0) return false;
    pos_ += t.size();
    return true;
  }
  // JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  std::string number_token() {
    const std::size_t start = pos_;
    auto digits = [this] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      fail("expected a value");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) fail("expected digits after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) fail("expected an exponent");
    }
    return s_.substr(start, pos_ - start);
  }
  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("a short \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= unsigned(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= unsigned(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= unsigned(h - 'A' + 10);
      else
        fail("a bad \\u escape");
    }
    return v;
  }
  // Basic-plane code points only (surrogate pairs are kept as two 3-byte sequences: the metadata never has them).
  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }
  // Skips a nested object or array, strings included, to its matching bracket (depth-limited: a crafted file of a
  // million brackets is refused, not a stack overflow; the scan itself is iterative).
  void skip_nested() {
    std::vector<char> open;
    do {
      if (at_end()) fail("an unterminated object or array");
      const char c = s_[pos_];
      if (c == '"') {
        string();
        continue;
      }
      ++pos_;
      if (c == '{' || c == '[') {
        if (open.size() >= 512) fail("nesting deeper than 512");
        open.push_back(c == '{' ? '}' : ']');
      } else if (c == '}' || c == ']') {
        if (c != open.back()) fail("a mismatched bracket");
        open.pop_back();
      }
    } while (!open.empty());
  }

  const std::string& s_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

}  // namespace detail

/// Parses `text` as one JSON object whose fields are read as JsonValue. Throws DataError naming `source`.
inline JsonObject parse_json_object(const std::string& text, const std::string& source) {
  detail::JsonScanner in(text, source);
  JsonObject out;
  out.source = source;
  in.expect('{');
  if (in.peek() != '}') {
    while (true) {
      std::string key = in.string();
      in.expect(':');
      out.fields[std::move(key)] = in.value();
      if (in.peek() == '}') break;
      in.expect(',');
    }
  }
  in.expect('}');
  in.skip_space();
  if (!in.at_end()) in.fail("text after the object");
  return out;
}

/// A JSON string literal of `s` (quoted, escaped).
inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// The shortest decimal text that reads back as `x` (null for NaN and infinities, which JSON lacks).
inline std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[32];
  if (x == std::floor(x) && std::fabs(x) < 1e15) {  // whole numbers as integers: 60000, not 6e+04
    std::snprintf(buf, sizeof buf, "%.0f", x);
    return buf;
  }
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  return buf;
}

/// A JSON object of `fields` (name, value already as JSON text), in the order given, on one line.
inline std::string write_json_object(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out = "{";
  for (const auto& [key, value] : fields) out += (out.size() > 1 ? "," : "") + json_string(key) + ":" + value;
  return out + "}";
}

}  // namespace bayesdrop
