// What a loaded Model holds. Internal: the public header only exposes Model's accessors.
#pragma once
#include <memory>
#include <string>

#include "engine/arch/architecture.h"
#include "engine/gguf/gguf.h"
#include "silica/model.h"
#include "silica/tokenizer.h"

namespace silica {

struct Model::Impl {
    std::string path;
    gguf::File file;
    ModelParams params;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<arch::Architecture> arch;
};

// Builds the tokenizer described by the file's tokenizer.ggml.* metadata.
std::unique_ptr<Tokenizer> tokenizer_from_gguf(const gguf::File& file);

}  // namespace silica
