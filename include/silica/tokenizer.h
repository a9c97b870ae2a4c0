// Byte-level BPE tokenizers (GPT-2, GPT-OSS / o200k_harmony), exact against OpenAI's tiktoken, and
// a streaming UTF-8 decoder for generated text. PCRE2 stays behind the pimpl.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace silica {

// llama.cpp's token types (tokenizer.ggml.token_type).
enum TokenTypeId : int32_t {
    kTokenUndefined = 0,
    kTokenNormal = 1,
    kTokenUnknown = 2,
    kTokenControl = 3,
    kTokenUserDefined = 4,
    kTokenUnused = 5,
    kTokenByte = 6,
};

// A vocabulary as GGUF stores it (tokenizer.ggml.*). Normal tokens are in GPT-2's byte-to-unicode
// form ("Ġ" for a space); control tokens are literal text. Absent special ids are -1.
struct BpeVocab {
    std::string model = "gpt2";          // tokenizer.ggml.model
    std::string pre;                     // tokenizer.ggml.pre: "gpt-2" or "gpt-4o"
    std::vector<std::string> tokens;     // tokenizer.ggml.tokens
    std::vector<int32_t> token_types;    // tokenizer.ggml.token_type (empty: all normal)
    std::vector<std::string> merges;     // tokenizer.ggml.merges, "left right"
    int32_t bos_id = -1;
    int32_t eos_id = -1;
    int32_t eot_id = -1;
    int32_t pad_id = -1;
    int32_t unk_id = -1;
    bool add_bos = false;                // tokenizer.ggml.add_bos_token (false when absent)
};

// Reads a vocabulary file of models/tokenizers (format: models/tokenizers/README.md).
BpeVocab load_vocab_file(const std::string& path);

// The byte offset of the first byte that does not start a valid UTF-8 sequence (overlong forms,
// surrogates, code points above U+10FFFF and truncated sequences are invalid), or nullopt.
std::optional<size_t> find_invalid_utf8(std::string_view text);
// Throws silica::Error("invalid UTF-8 at byte N") when find_invalid_utf8 finds something.
void validate_utf8(std::string_view text);

class Tokenizer {
public:
    // Throws silica::Error for an inconsistent vocabulary or an unsupported model / pre-tokenizer.
    explicit Tokenizer(const BpeVocab& vocab);
    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    // Token ids of `text`, exactly as tiktoken gives them. Special-token text (control tokens such
    // as <|endoftext|> or <|start|>) becomes that token only when parse_special is true; otherwise
    // it is ordinary text. No BOS is added (see add_bos()). Invalid UTF-8 is rejected with
    // silica::Error("invalid UTF-8 at byte N"). Thread-safe.
    std::vector<int32_t> encode(std::string_view text, bool parse_special) const;
    // The same result by a deliberately simple O(n^2) merge loop per piece (tiktoken's reference
    // algorithm, no pair table, no cache): the benchmark baseline and the tests' oracle.
    std::vector<int32_t> encode_naive(std::string_view text, bool parse_special) const;

    // The raw bytes of a token (byte-level mapping undone; control tokens give their text).
    // Throws silica::Error for an id outside [0, n_vocab()).
    const std::string& token_bytes(int32_t id) const;
    // The concatenated bytes of `ids` (may end inside a UTF-8 sequence; see Utf8StreamDecoder).
    std::string decode(std::span<const int32_t> ids) const;

    int32_t n_vocab() const;
    int32_t token_type(int32_t id) const;
    bool is_control(int32_t id) const;
    // Tokens that end generation: eos, eot, and the control tokens <|endoftext|>, <|return|>,
    // <|call|> (and <|end|>, except in harmony vocabularies where it only ends one message).
    bool is_end_of_generation(int32_t id) const;
    // The id of the token whose bytes are exactly `text` (control tokens by their text), or -1.
    int32_t find_token(std::string_view text) const;

    int32_t bos_id() const;
    int32_t eos_id() const;
    int32_t eot_id() const;
    int32_t pad_id() const;
    bool add_bos() const;
    const std::string& pre() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Turns a stream of token bytes into text that is always valid UTF-8: a multi-byte character split
// across tokens is held back until it is complete; invalid bytes become U+FFFD (never emitted raw).
class Utf8StreamDecoder {
public:
    // The complete characters now available (possibly empty).
    std::string feed(std::string_view bytes);
    // At the end of the stream: U+FFFD for a dangling incomplete sequence, else empty.
    std::string flush();
    // Bytes held back (0..3).
    size_t pending() const { return pending_.size(); }

private:
    std::string pending_;
};

}  // namespace silica
