#pragma once

#include <filesystem>
#include <optional>

// Where the bundled default model is: $OCRCORE_MODEL, else next to the
// installed tool (../share/ocrcore/models), else the source tree it was built
// from. nullopt when none exists.
std::optional<std::filesystem::path> find_default_model();
