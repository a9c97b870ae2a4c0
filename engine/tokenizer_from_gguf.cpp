// The tokenizer a GGUF file describes in its tokenizer.ggml.* metadata.
#include "engine/gguf/gguf.h"
#include "engine/model_impl.h"
#include "silica/error.h"

namespace silica {

std::unique_ptr<Tokenizer> tokenizer_from_gguf(const gguf::File& f) {
    BpeVocab v;
    v.model = f.get_string("tokenizer.ggml.model", "");
    if (v.model != "gpt2")
        throw Error(f.path() + ": unsupported tokenizer model '" + v.model + "' (supported: gpt2 byte-level BPE)");
    v.pre = f.get_string("tokenizer.ggml.pre", "default");
    if (!f.has("tokenizer.ggml.tokens")) throw Error(f.path() + ": missing tokenizer.ggml.tokens");
    v.tokens = f.get_string_array("tokenizer.ggml.tokens");
    if (f.has("tokenizer.ggml.token_type"))
        for (int64_t t : f.get_int_array("tokenizer.ggml.token_type")) v.token_types.push_back(static_cast<int32_t>(t));
    if (!f.has("tokenizer.ggml.merges")) throw Error(f.path() + ": missing tokenizer.ggml.merges");
    v.merges = f.get_string_array("tokenizer.ggml.merges");
    v.bos_id = static_cast<int32_t>(f.get_int("tokenizer.ggml.bos_token_id", -1));
    v.eos_id = static_cast<int32_t>(f.get_int("tokenizer.ggml.eos_token_id", -1));
    v.eot_id = static_cast<int32_t>(f.get_int("tokenizer.ggml.eot_token_id", -1));
    v.pad_id = static_cast<int32_t>(f.get_int("tokenizer.ggml.padding_token_id", -1));
    v.unk_id = static_cast<int32_t>(f.get_int("tokenizer.ggml.unknown_token_id", -1));
    v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", false);
    try {
        return std::make_unique<Tokenizer>(v);
    } catch (const Error& e) {
        throw Error(f.path() + ": " + e.what());
    }
}

}  // namespace silica
