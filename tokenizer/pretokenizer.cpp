#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "silica/error.h"

namespace silica::tokenizer {
namespace {

// Unicode White_Space (what Rust's regex, and so tiktoken, means by \s).
constexpr std::string_view kWhiteSpace =
    R"(\t\n\x0B\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

constexpr std::string_view kContraction = R"((?:'[sS\x{17F}]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))";

// Expands the placeholders {WS} (White_Space class body) and {CONTRACTION} in a pattern template.
std::string expand(std::string_view pattern) {
    std::string out;
    for (size_t i = 0; i < pattern.size();) {
        if (pattern.substr(i, 4) == "{WS}") {
            out += kWhiteSpace;
            i += 4;
        } else if (pattern.substr(i, 13) == "{CONTRACTION}") {
            out += kContraction;
            i += 13;
        } else {
            out += pattern[i++];
        }
    }
    return out;
}

// tiktoken "gpt2": 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
constexpr std::string_view kGpt2 =
    R"('(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^{WS}\p{L}\p{N}]+|[{WS}]+(?![^{WS}])|[{WS}]+)";

// tiktoken "o200k_base" (also o200k_harmony). Its (?i:'s|'t|'re|'ve|'m|'ll|'d) is spelled out as
// {CONTRACTION}: Rust's simple case folding lets 's' match U+017F (long s) too, which PCRE2 10.42's
// caseless mode does not do; no other letter there has a case variant outside ASCII.
constexpr std::string_view kO200k =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+{CONTRACTION}?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*{CONTRACTION}?)"
    R"(|\p{N}{1,3}| ?[^{WS}\p{L}\p{N}]+[\r\n/]*|[{WS}]*[\r\n]+|[{WS}]+(?![^{WS}])|[{WS}]+)";

}  // namespace

std::string pretokenizer_pattern(std::string_view pre_name) {
    // "default" is what llama.cpp assumes for files without tokenizer.ggml.pre (older GPT-2
    // conversions); for byte-level BPE the GPT-2 pattern is the faithful reading of those files.
    if (pre_name == "gpt-2" || pre_name == "default") return expand(kGpt2);
    if (pre_name == "gpt-4o") return expand(kO200k);
    throw Error("unsupported tokenizer pre-tokenizer '" + std::string(pre_name) + "' (supported: gpt-2, gpt-4o, default = gpt-2)");
}

struct Pretokenizer::Compiled {
    pcre2_code* code = nullptr;
    bool jit = false;
    ~Compiled() { pcre2_code_free(code); }
};

Pretokenizer::Pretokenizer(std::string_view pre_name) : compiled_(std::make_unique<Compiled>()) {
    const std::string pattern = pretokenizer_pattern(pre_name);
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                    PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
    if (!compiled_->code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        throw Error("pre-tokenizer regex does not compile at offset " + std::to_string(error_offset) + ": " +
                    reinterpret_cast<const char*>(message));
    }
    // Without JIT (not built in, or no executable memory) the interpreter gives the same matches.
    compiled_->jit = pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE) == 0;
}

Pretokenizer::~Pretokenizer() = default;

void Pretokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
    pcre2_code* code = compiled_->code;
    std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> match(
        pcre2_match_data_create_from_pattern(code, nullptr), pcre2_match_data_free);
    // A bigger JIT stack only for inputs that exhaust the default 32 KiB one.
    std::unique_ptr<pcre2_match_context, void (*)(pcre2_match_context*)> context(nullptr, pcre2_match_context_free);
    std::unique_ptr<pcre2_jit_stack, void (*)(pcre2_jit_stack*)> stack(nullptr, pcre2_jit_stack_free);
    if (!match) throw Error("out of memory for the pre-tokenizer");
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    const PCRE2_SIZE length = text.size();
    PCRE2_SIZE offset = 0;
    while (offset < length) {
        int rc = compiled_->jit
                     ? pcre2_jit_match(code, subject, length, offset, PCRE2_NO_UTF_CHECK, match.get(), context.get())
                     : pcre2_match(code, subject, length, offset, PCRE2_NO_UTF_CHECK, match.get(), context.get());
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !stack) {
            context.reset(pcre2_match_context_create(nullptr));
            stack.reset(pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr));
            if (!context || !stack) throw Error("out of memory for the pre-tokenizer");
            pcre2_jit_stack_assign(context.get(), nullptr, stack.get());
            continue;
        }
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof message);
            throw Error(std::string("pre-tokenizer regex failed: ") + reinterpret_cast<const char*>(message));
        }
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
        const PCRE2_SIZE start = ovector[0], end = ovector[1];
        if (end == start) {  // cannot happen with these patterns; never loop forever
            offset = end + 1;
            while (offset < length && (static_cast<uint8_t>(text[offset]) & 0xC0) == 0x80) ++offset;
            continue;
        }
        pieces.push_back(text.substr(start, end - start));
        offset = end;
    }
}

}  // namespace silica::tokenizer
