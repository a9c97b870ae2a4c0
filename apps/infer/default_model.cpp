#include "apps/infer/default_model.h"

#include <filesystem>

#include "silica/error.h"

namespace silica::infer {

std::string default_model_path() {
    const std::string installed = SILICA_INSTALLED_DEFAULT_MODEL;
    const std::string source = SILICA_SOURCE_DEFAULT_MODEL;
    std::error_code ec;
    if (std::filesystem::is_regular_file(installed, ec)) return installed;
    if (std::filesystem::is_regular_file(source, ec)) return source;
    throw Error("no --model given and the default model is missing (looked for " + installed + " and " + source + ")");
}

}  // namespace silica::infer
