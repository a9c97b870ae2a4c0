// What a loaded Model holds. Internal: the public header only exposes Model's accessors.
#pragma once
#include <memory>
#include <string>

#include "engine/arch/architecture.h"
#include "engine/arch/weight_placement.h"
#include "engine/gguf/gguf.h"
#include "engine/parallel/communicator.h"
#include "silica/model.h"
#include "silica/tokenizer.h"

namespace silica {

struct Model::Impl {
    std::string path;
    gguf::File file;
    ModelParams params;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<arch::Architecture> arch;
    uint64_t fingerprint = 0;
    std::shared_ptr<parallel::Communicator> comm;  // tensor parallelism only
    // The threads' plan the repacked weights were placed by; null when threads are not placed.
    std::unique_ptr<arch::NumaPlacement> placement;
};

// XXH3-64 of the GGUF header, metadata and tensor table (everything before the tensor data),
// seeded with the file size, plus 1 KiB samples of each tensor's start, middle and end: the same
// tensors at the same offsets, and almost surely the same weights, without reading 12 GB.
uint64_t model_fingerprint(const gguf::File& file);

// Builds the tokenizer described by the file's tokenizer.ggml.* metadata.
std::unique_ptr<Tokenizer> tokenizer_from_gguf(const gguf::File& file);

}  // namespace silica
