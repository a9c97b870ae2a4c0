// silica::Tokenizer: special-token splitting, the pre-tokenizer regex, then BPE per piece.
#include "silica/tokenizer.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "silica/error.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenizer.h"

namespace silica {

using tokenizer::BpeModel;
using tokenizer::Pretokenizer;

namespace {

std::vector<std::string> raw_token_bytes(const BpeVocab& v, const std::vector<int32_t>& types) {
    std::vector<std::string> bytes(v.tokens.size());
    for (size_t id = 0; id < v.tokens.size(); ++id) {
        if (types[id] != kTokenNormal) {
            bytes[id] = v.tokens[id];  // control, user-defined, unused: literal text
            continue;
        }
        auto decoded = tokenizer::byte_level_decode(v.tokens[id]);
        if (!decoded) throw Error("tokenizer token " + std::to_string(id) + " is not in byte-level form");
        bytes[id] = std::move(*decoded);
    }
    return bytes;
}

std::vector<int32_t> checked_types(const BpeVocab& v) {
    if (v.tokens.empty()) throw Error("tokenizer vocabulary is empty");
    if (v.token_types.empty()) return std::vector<int32_t>(v.tokens.size(), kTokenNormal);
    if (v.token_types.size() != v.tokens.size())
        throw Error("tokenizer has " + std::to_string(v.tokens.size()) + " tokens but " +
                    std::to_string(v.token_types.size()) + " token types");
    return v.token_types;
}

}  // namespace

struct Tokenizer::Impl {
    BpeVocab meta;  // model, pre and special ids (tokens and merges are not kept here)
    std::vector<int32_t> types;
    std::vector<std::string> bytes;
    std::vector<bool> end_of_generation;
    BpeModel bpe;
    Pretokenizer pretokenizer;
    // Special tokens recognised in text when parse_special is set, longest first.
    std::vector<std::pair<std::string, int32_t>> specials;
    std::array<bool, 256> special_first_byte{};

    Impl(const BpeVocab& v, std::vector<int32_t> t, std::vector<std::string> b)
        : types(std::move(t)), bytes(std::move(b)), bpe(bytes, normal_mask(types), v.merges), pretokenizer(v.pre) {}

    static std::vector<bool> normal_mask(const std::vector<int32_t>& types) {
        std::vector<bool> m(types.size());
        for (size_t i = 0; i < types.size(); ++i) m[i] = types[i] == kTokenNormal;
        return m;
    }

    // The next special token in text[from..): leftmost, and the longest one at that position.
    // Returns (npos, -1) when there is none.
    std::pair<size_t, int32_t> next_special(std::string_view text, size_t from, size_t& length) const {
        for (size_t pos = from; pos < text.size(); ++pos) {
            if (!special_first_byte[static_cast<uint8_t>(text[pos])]) continue;
            for (const auto& [s, id] : specials)
                if (text.compare(pos, s.size(), s) == 0) {
                    length = s.size();
                    return {pos, id};
                }
        }
        return {std::string_view::npos, -1};
    }

    template <class EncodePlain>
    std::vector<int32_t> encode(std::string_view text, bool parse_special, EncodePlain encode_plain) const {
        validate_utf8(text);
        std::vector<int32_t> out;
        out.reserve(text.size() / 3 + 1);
        size_t from = 0;
        if (parse_special && !specials.empty()) {
            for (;;) {
                size_t length = 0;
                const auto [pos, id] = next_special(text, from, length);
                if (pos == std::string_view::npos) break;
                encode_plain(text.substr(from, pos - from), out);
                out.push_back(id);
                from = pos + length;
            }
        }
        encode_plain(text.substr(from), out);
        return out;
    }
};

Tokenizer::Tokenizer(const BpeVocab& v) {
    if (v.model != "gpt2")
        throw Error("unsupported tokenizer model '" + v.model + "' (supported: gpt2, byte-level BPE)");
    std::vector<int32_t> types = checked_types(v);
    std::vector<std::string> bytes = raw_token_bytes(v, types);
    impl_ = std::make_unique<Impl>(v, std::move(types), std::move(bytes));
    Impl& m = *impl_;
    m.meta.model = v.model;
    m.meta.pre = v.pre;
    const auto n = static_cast<int32_t>(v.tokens.size());
    for (int32_t id : {v.bos_id, v.eos_id, v.eot_id, v.pad_id, v.unk_id})
        if (id < -1 || id >= n) throw Error("tokenizer special token id " + std::to_string(id) + " is out of range");
    m.meta.bos_id = v.bos_id;
    m.meta.eos_id = v.eos_id;
    m.meta.eot_id = v.eot_id;
    m.meta.pad_id = v.pad_id;
    m.meta.unk_id = v.unk_id;
    m.meta.add_bos = v.add_bos;

    for (int32_t id = 0; id < n; ++id)
        if ((m.types[id] == kTokenControl || m.types[id] == kTokenUserDefined) && !m.bytes[id].empty())
            m.specials.emplace_back(m.bytes[id], id);
    std::stable_sort(m.specials.begin(), m.specials.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    for (const auto& special : m.specials) m.special_first_byte[static_cast<uint8_t>(special.first[0])] = true;

    // End of generation as llama.cpp decides it: eos, eot and the usual end tokens; in harmony
    // vocabularies (<|return|> and <|call|> exist) <|end|> only closes a message.
    m.end_of_generation.assign(static_cast<size_t>(n), false);
    for (int32_t id : {v.eos_id, v.eot_id})
        if (id >= 0) m.end_of_generation[id] = true;
    const bool harmony = find_token("<|return|>") >= 0 && find_token("<|call|>") >= 0;
    for (const char* text : {"<|endoftext|>", "<|return|>", "<|call|>", "<|end|>", "<|eot_id|>", "<|im_end|>"}) {
        const int32_t id = find_token(text);
        if (id >= 0 && m.types[id] == kTokenControl && !(harmony && std::string_view(text) == "<|end|>"))
            m.end_of_generation[id] = true;
    }
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
    // Pieces that needed merging, remembered for this call (long texts repeat their rare words).
    std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;  // piece -> (offset, count)
    std::vector<int32_t> cached_ids;
    std::vector<std::string_view> pieces;
    BpeModel::Scratch scratch;
    return impl_->encode(text, parse_special, [&](std::string_view plain, std::vector<int32_t>& out) {
        pieces.clear();
        impl_->pretokenizer.split(plain, pieces);
        for (std::string_view piece : pieces) {
            if (const int32_t id = impl_->bpe.find(piece); id >= 0) {  // tiktoken: whole pieces first
                out.push_back(id);
                continue;
            }
            if (auto it = cache.find(piece); it != cache.end()) {
                const auto [offset, count] = it->second;
                out.insert(out.end(), cached_ids.begin() + offset, cached_ids.begin() + offset + count);
                continue;
            }
            const size_t before = out.size();
            impl_->bpe.merge_fast(piece, out, scratch);
            if (cache.size() >= 8192) {  // bound the memory of very long inputs
                cache.clear();
                cached_ids.clear();
            }
            cache.emplace(piece, std::pair{static_cast<uint32_t>(cached_ids.size()), static_cast<uint32_t>(out.size() - before)});
            cached_ids.insert(cached_ids.end(), out.begin() + static_cast<std::ptrdiff_t>(before), out.end());
        }
    });
}

std::vector<int32_t> Tokenizer::encode_naive(std::string_view text, bool parse_special) const {
    std::vector<std::string_view> pieces;
    return impl_->encode(text, parse_special, [&](std::string_view plain, std::vector<int32_t>& out) {
        pieces.clear();
        impl_->pretokenizer.split(plain, pieces);
        for (std::string_view piece : pieces) {
            if (const int32_t id = impl_->bpe.find(piece); id >= 0) out.push_back(id);
            else impl_->bpe.merge_naive(piece, out);
        }
    });
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
    if (id < 0 || id >= n_vocab()) throw Error("token id " + std::to_string(id) + " is out of range (vocabulary of " + std::to_string(n_vocab()) + ")");
    return impl_->bytes[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
    std::string out;
    for (int32_t id : ids) out += token_bytes(id);
    return out;
}

int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(impl_->bytes.size()); }

int32_t Tokenizer::token_type(int32_t id) const {
    token_bytes(id);  // range check
    return impl_->types[id];
}

bool Tokenizer::is_control(int32_t id) const { return token_type(id) == kTokenControl; }

bool Tokenizer::is_end_of_generation(int32_t id) const {
    return id >= 0 && id < n_vocab() && impl_->end_of_generation[id];
}

int32_t Tokenizer::find_token(std::string_view text) const {
    for (const auto& [s, id] : impl_->specials)
        if (s == text) return id;
    return impl_->bpe.find(text);
}

int32_t Tokenizer::bos_id() const { return impl_->meta.bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->meta.eos_id; }
int32_t Tokenizer::eot_id() const { return impl_->meta.eot_id; }
int32_t Tokenizer::pad_id() const { return impl_->meta.pad_id; }
bool Tokenizer::add_bos() const { return impl_->meta.add_bos; }
const std::string& Tokenizer::pre() const { return impl_->meta.pre; }

}  // namespace silica
