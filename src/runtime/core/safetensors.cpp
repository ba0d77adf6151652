#include "runtime/core/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "ocrcore/error.hpp"
#include "runtime/core/bfloat16.hpp"
#include "runtime/core/file_io.hpp"

namespace ocrcore::detail {

namespace {

using json = nlohmann::json;

// A header larger than this is not a model we wrote or can sensibly read; the
// limit also keeps a corrupt length from driving a huge allocation.
constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;

std::size_t dtype_size(const std::string& dtype) {
  static const std::map<std::string, std::size_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2},  {"BF16", 2},    {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U64", 8},     {"U32", 4},
      {"U16", 2}, {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

}  // namespace

SafetensorsView parse_safetensors(const std::uint8_t* bytes, std::size_t size,
                                  const std::string& source) {
  auto fail = [&](const std::string& what) -> Error { return Error(source + ": " + what); };
  if (size < 8)
    throw fail("file is " + std::to_string(size) +
               " bytes, too short for a safetensors header (truncated?)");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes, 8);  // little-endian on x86
  if (header_len < 2 || header_len > kMaxHeaderBytes)
    throw fail("header length " + std::to_string(header_len) +
               " is not plausible (not a safetensors file?)");
  if (header_len > size - 8)
    throw fail("header length " + std::to_string(header_len) + " runs past the end of the " +
               std::to_string(size) + "-byte file (truncated?)");

  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + header_len);
  } catch (const json::exception& e) {
    throw fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw fail("header is not a JSON object");

  SafetensorsView view;
  view.data = bytes + 8 + header_len;
  view.data_size = size - 8 - header_len;

  for (auto& item : header.items()) {
    // Not a structured binding: clang before 16 cannot capture one in a lambda.
    const std::string& name = item.key();
    auto& value = item.value();
    if (name == "__metadata__") {
      if (!value.is_object()) throw fail("__metadata__ is not a JSON object");
      for (auto& [key, text] : value.items()) {
        if (!text.is_string()) throw fail("__metadata__ value of '" + key + "' is not a string");
        view.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { return fail("tensor '" + name + "': " + what); };
    if (!value.is_object()) throw bad("entry is not a JSON object");
    if (!value.contains("dtype") || !value["dtype"].is_string()) throw bad("no dtype string");
    if (!value.contains("shape") || !value["shape"].is_array()) throw bad("no shape array");
    if (!value.contains("data_offsets") || !value["data_offsets"].is_array() ||
        value["data_offsets"].size() != 2)
      throw bad("data_offsets is not a [begin, end] pair");
    SafetensorsEntry e;
    e.dtype = value["dtype"].get<std::string>();
    std::size_t elem = dtype_size(e.dtype);
    if (elem == 0) throw bad("unknown dtype '" + e.dtype + "'");
    std::uint64_t numel = 1;
    for (auto& d : value["shape"]) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
        throw bad("shape has a value that is not a non-negative integer");
      auto dim = d.get<std::uint64_t>();
      if (dim != 0 && numel > std::numeric_limits<std::uint64_t>::max() / 16 / dim)
        throw bad("shape is too large");
      numel *= dim;
      e.shape.push_back(static_cast<std::int64_t>(dim));
    }
    for (auto& o : value["data_offsets"])
      if (!o.is_number_integer() || o.get<std::int64_t>() < 0)
        throw bad("data_offsets has a value that is not a non-negative integer");
    auto begin = value["data_offsets"][0].get<std::uint64_t>();
    auto end = value["data_offsets"][1].get<std::uint64_t>();
    if (begin > end) throw bad("data_offsets begin > end");
    if (end > view.data_size)
      throw bad("data_offsets end " + std::to_string(end) + " is past the data section (" +
                std::to_string(view.data_size) + " bytes; file truncated?)");
    if (end - begin != numel * elem)
      throw bad("holds " + std::to_string(end - begin) + " bytes but shape and dtype need " +
                std::to_string(numel * elem));
    e.begin = static_cast<std::size_t>(begin);
    e.end = static_cast<std::size_t>(end);
    view.entries.emplace(name, std::move(e));
  }

  std::vector<std::pair<std::size_t, std::string>> by_offset;
  for (auto& [name, e] : view.entries)
    if (e.end > e.begin) by_offset.emplace_back(e.begin, name);
  std::sort(by_offset.begin(), by_offset.end());
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const auto& prev = view.entries.at(by_offset[i - 1].second);
    if (by_offset[i].first < prev.end)
      throw fail("tensors '" + by_offset[i - 1].second + "' and '" + by_offset[i].second +
                 "' overlap in the data section");
  }
  return view;
}

Tensor read_f32_tensor(const SafetensorsView& file, const std::string& name) {
  const auto& e = file.entries.at(name);
  Tensor t;
  t.shape = e.shape;
  if (e.dtype == "BF16") {
    t.data.resize((e.end - e.begin) / sizeof(std::uint16_t));
    for (std::size_t i = 0; i < t.data.size(); ++i) {
      std::uint16_t b;  // the data section need not be 2-byte aligned in memory
      std::memcpy(&b, file.data + e.begin + i * sizeof b, sizeof b);
      t.data[i] = from_bf16_bits(b);
    }
    return t;
  }
  if (e.dtype != "F32")
    throw Error("tensor '" + name + "' has dtype " + e.dtype + ", expected F32 or BF16");
  t.data.resize((e.end - e.begin) / sizeof(float));
  if (!t.data.empty()) std::memcpy(t.data.data(), file.data + e.begin, e.end - e.begin);
  return t;
}

std::vector<std::int8_t> read_i8_values(const SafetensorsView& file, const std::string& name) {
  const auto& e = file.entries.at(name);
  if (e.dtype != "I8") throw Error("tensor '" + name + "' has dtype " + e.dtype + ", expected I8");
  std::vector<std::int8_t> values(e.end - e.begin);
  if (!values.empty()) std::memcpy(values.data(), file.data + e.begin, e.end - e.begin);
  return values;
}

void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, std::string>& metadata, const TensorMap& tensors,
                       const std::map<std::string, Int8Tensor>& int8_tensors,
                       const std::set<std::string>& bf16) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::size_t offset = 0;
  auto add = [&](const std::string& name, const char* dtype, const std::vector<std::int64_t>& shape,
                 std::size_t count, std::size_t size) {
    std::int64_t numel = 1;
    for (auto d : shape)
      numel *= d;
    if (static_cast<std::size_t>(numel) != count)
      throw Error(path.string() + ": tensor '" + name + "' has " + std::to_string(count) +
                  " values but its shape needs " + std::to_string(numel));
    if (header.contains(name)) throw Error(path.string() + ": tensor '" + name + "' given twice");
    header[name] = {
        {"dtype", dtype}, {"shape", shape}, {"data_offsets", {offset, offset + count * size}}};
    offset += count * size;
  };
  for (const auto& name : bf16)
    if (!tensors.count(name))
      throw Error(path.string() + ": tensor '" + name + "' to store as BF16 is not given");
  // F32, then BF16, then I8: each section stays aligned to its element size.
  for (const auto& [name, t] : tensors)
    if (!bf16.count(name)) add(name, "F32", t.shape, t.data.size(), sizeof(float));
  for (const auto& [name, t] : tensors)
    if (bf16.count(name)) add(name, "BF16", t.shape, t.data.size(), sizeof(std::uint16_t));
  for (const auto& [name, t] : int8_tensors)
    add(name, "I8", t.shape, t.values.size(), 1);
  std::string text = header.dump();
  // Pad with spaces so the data section starts 8-byte aligned, as the
  // reference implementation does.
  while ((text.size() + 8) % 8 != 0)
    text.push_back(' ');
  write_file_atomic(path, [&](std::ostream& out) {
    std::uint64_t len = text.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, t] : tensors)
      if (!bf16.count(name))
        out.write(reinterpret_cast<const char*>(t.data.data()),
                  static_cast<std::streamsize>(t.data.size() * sizeof(float)));
    for (const auto& [name, t] : tensors) {
      if (!bf16.count(name)) continue;
      std::vector<std::uint16_t> halves(t.data.size());
      for (std::size_t i = 0; i < halves.size(); ++i)
        halves[i] = to_bf16_bits(t.data[i]);
      out.write(reinterpret_cast<const char*>(halves.data()),
                static_cast<std::streamsize>(halves.size() * sizeof(std::uint16_t)));
    }
    for (const auto& [name, t] : int8_tensors)
      out.write(reinterpret_cast<const char*>(t.values.data()),
                static_cast<std::streamsize>(t.values.size()));
  });
}

}  // namespace ocrcore::detail
