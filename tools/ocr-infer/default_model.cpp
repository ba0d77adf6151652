#include "default_model.hpp"

#include <cstdlib>

namespace fs = std::filesystem;

std::optional<fs::path> find_default_model() {
  if (const char* env = std::getenv("OCRCORE_MODEL"); env && *env) return fs::path(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path() / OCRCORE_INSTALLED_MODEL_REL;
    if (fs::is_regular_file(installed, ec)) return installed.lexically_normal();
  }
  if (fs::is_regular_file(OCRCORE_SOURCE_MODEL, ec)) return fs::path(OCRCORE_SOURCE_MODEL);
  return std::nullopt;
}
