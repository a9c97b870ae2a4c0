// The tensors of a Hugging Face checkpoint directory: model.safetensors, or the shards listed by
// model.safetensors.index.json ({"weight_map": {tensor name: shard file name}}).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/safetensors/safetensors.h"

namespace silica::safetensors {

class Checkpoint {
public:
    struct Entry {
        const TensorInfo* info;
        const File* file;  // the shard holding it (for messages: file->path())
    };

    // Throws silica::Error naming the file at fault: no model.safetensors nor index, a malformed
    // shard or index, a tensor in two shards, a weight_map entry its shard does not hold, or a
    // shard tensor the weight_map does not list.
    static Checkpoint open(const std::string& dir);

    // Every tensor of every shard, shard by shard in header order.
    const std::vector<Entry>& tensors() const { return entries_; }
    const Entry* find(std::string_view name) const;
    // "DIR/model.safetensors" or "DIR/model.safetensors.index.json": what messages name.
    const std::string& source() const { return source_; }

private:
    std::string source_;
    std::vector<std::unique_ptr<File>> files_;
    std::vector<Entry> entries_;
};

}  // namespace silica::safetensors
