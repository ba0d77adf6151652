#include "runtime/core/preprocessing_json.hpp"

#include <nlohmann/json.hpp>

#include "ocrcore/error.hpp"

namespace ocrcore::detail {

using json = nlohmann::json;

namespace {

std::string polarity_name(Preprocessing::Polarity p) {
  switch (p) {
    case Preprocessing::Polarity::dark_on_light:
      return "dark_on_light";
    case Preprocessing::Polarity::light_on_dark:
      return "light_on_dark";
    default:
      return "auto";
  }
}

std::string normalization_name(Preprocessing::Normalization n) {
  return n == Preprocessing::Normalization::center_text ? "center_text" : "scale_crop";
}

}  // namespace

std::string preprocessing_to_json(const Preprocessing& p) {
  return json{{"height", p.height},
              {"polarity", polarity_name(p.polarity)},
              {"stretch_contrast", p.stretch_contrast},
              {"max_width", p.max_width},
              {"normalization", normalization_name(p.normalization)}}
      .dump();
}

Preprocessing preprocessing_from_json(const std::string& text, int height) {
  Preprocessing p;
  p.height = height;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(std::string(kPreprocessingKey) + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(std::string(kPreprocessingKey) + " is not a JSON object");
  for (auto& item : j.items()) {
    // Not a structured binding: clang before 16 cannot capture one in a lambda.
    const std::string& key = item.key();
    auto& v = item.value();
    auto bad = [&](const std::string& what) {
      return Error(std::string(kPreprocessingKey) + ": '" + key + "' " + what);
    };
    if (key == "height") {
      if (!v.is_number_integer() || v.get<int>() != height)
        throw bad("must equal the architecture's input_height " + std::to_string(height));
    } else if (key == "polarity") {
      std::string s = v.is_string() ? v.get<std::string>() : "";
      if (s == "auto" || s == "automatic")  // "automatic": ONNX files of ocrcore <= 0.1
        p.polarity = Preprocessing::Polarity::automatic;
      else if (s == "dark_on_light")
        p.polarity = Preprocessing::Polarity::dark_on_light;
      else if (s == "light_on_dark")
        p.polarity = Preprocessing::Polarity::light_on_dark;
      else
        throw bad("must be \"auto\", \"dark_on_light\" or \"light_on_dark\"");
    } else if (key == "stretch_contrast") {
      if (!v.is_boolean()) throw bad("must be true or false");
      p.stretch_contrast = v.get<bool>();
    } else if (key == "max_width") {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 1 << 20)
        throw bad("must be an integer in [1, 1048576]");
      p.max_width = v.get<int>();
    } else if (key == "normalization") {
      // Absent in files written before it existed: scale_crop, as they were.
      std::string s = v.is_string() ? v.get<std::string>() : "";
      if (s == "scale_crop")
        p.normalization = Preprocessing::Normalization::scale_crop;
      else if (s == "center_text")
        p.normalization = Preprocessing::Normalization::center_text;
      else
        throw bad("must be \"scale_crop\" or \"center_text\"");
    } else {
      throw bad("is not a known setting");
    }
  }
  return p;
}

}  // namespace ocrcore::detail
