// The pre-tokenizer: the regular expression that cuts text into pieces before BPE, exactly as
// tiktoken's pattern for each vocabulary (PCRE2 with JIT, UTF mode).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace silica::tokenizer {

// tiktoken's patterns in PCRE2 syntax, by llama.cpp's tokenizer.ggml.pre name: "gpt-2" (also
// "default", the name for files without one), "gpt-4o" (o200k).
// Rust's regex (tiktoken) reads \s as Unicode White_Space, which is neither PCRE2's \s (it adds
// U+180E) nor JavaScript's, so the patterns spell White_Space out as a class.
std::string pretokenizer_pattern(std::string_view pre_name);  // throws silica::Error if unknown

class Pretokenizer {
public:
    explicit Pretokenizer(std::string_view pre_name);
    ~Pretokenizer();
    Pretokenizer(const Pretokenizer&) = delete;
    Pretokenizer& operator=(const Pretokenizer&) = delete;

    // Appends the pieces of `text` (which must be valid UTF-8) to `pieces`, as views into `text`.
    // Like tiktoken's find_iter: consecutive matches, text no alternative matches is skipped.
    void split(std::string_view text, std::vector<std::string_view>& pieces) const;

private:
    struct Compiled;
    std::unique_ptr<Compiled> compiled_;
};

}  // namespace silica::tokenizer
