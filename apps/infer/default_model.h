// The model `infer` runs when no --model is given: the trained default model shipped with Silica
// (models/silica-brown-18m-q4_k_m.gguf, see models/README.md).
#pragma once

#include <string>

namespace silica::infer {

// The installed copy (share/silica/models/) when it exists, else the source tree's copy; throws
// silica::Error naming both places when neither exists.
std::string default_model_path();

}  // namespace silica::infer
