#include "layers/layer_kind.hpp"

namespace ocrcore::detail {

int FieldReader::integer(const char* key, std::optional<int> fallback, int min) {
  used_.insert(key);
  if (!obj_.contains(key)) {
    if (fallback) return *fallback;
    fail(std::string("missing field '") + key + "'");
  }
  const json& v = obj_[key];
  if (!v.is_number_integer()) fail(std::string("field '") + key + "' must be an integer");
  auto x = v.get<std::int64_t>();
  if (x < min || x > (1 << 24))
    fail(std::string("field '") + key + "' = " + std::to_string(x) + " is out of range");
  return static_cast<int>(x);
}

std::pair<int, int> FieldReader::pair(const char* key, std::optional<std::pair<int, int>> fallback,
                                      int min) {
  used_.insert(key);
  if (!obj_.contains(key)) {
    if (fallback) return *fallback;
    fail(std::string("missing field '") + key + "'");
  }
  const json& v = obj_[key];
  auto check = [&](const json& x) {
    if (!x.is_number_integer() || x.get<std::int64_t>() < min || x.get<std::int64_t>() > 65536)
      fail(std::string("field '") + key + "' must be an integer >= " + std::to_string(min) +
           " or a pair of them");
    return x.get<int>();
  };
  if (v.is_array()) {
    if (v.size() != 2) fail(std::string("field '") + key + "' must have 2 values [h, w]");
    return {check(v[0]), check(v[1])};
  }
  int x = check(v);
  return {x, x};
}

bool FieldReader::boolean(const char* key, bool fallback) {
  used_.insert(key);
  if (!obj_.contains(key)) return fallback;
  if (!obj_[key].is_boolean()) fail(std::string("field '") + key + "' must be true or false");
  return obj_[key].get<bool>();
}

double FieldReader::number(const char* key, double fallback) {
  used_.insert(key);
  if (!obj_.contains(key)) return fallback;
  if (!obj_[key].is_number()) fail(std::string("field '") + key + "' must be a number");
  return obj_[key].get<double>();
}

std::string FieldReader::string(const char* key) {
  used_.insert(key);
  if (!obj_.contains(key) || !obj_[key].is_string() || obj_[key].get<std::string>().empty())
    fail(std::string("field '") + key + "' must be a non-empty string");
  return obj_[key].get<std::string>();
}

const json& FieldReader::raw(const char* key) {
  used_.insert(key);
  return obj_.at(key);
}

void FieldReader::reject_unknown() const {
  for (auto& [key, value] : obj_.items())
    if (!used_.count(key)) fail("unknown field '" + key + "'");
}

}  // namespace ocrcore::detail
