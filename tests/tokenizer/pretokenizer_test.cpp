// The pre-tokenizer regexes cut text into tiktoken's pieces.
#include <catch2/catch.hpp>

#include "silica/error.h"
#include "tokenizer/pretokenizer.h"

using silica::tokenizer::Pretokenizer;

namespace {
std::vector<std::string> pieces(const Pretokenizer& p, std::string_view text) {
    std::vector<std::string_view> views;
    p.split(text, views);
    return {views.begin(), views.end()};
}
using Pieces = std::vector<std::string>;
}  // namespace

TEST_CASE("GPT-2 pre-tokenizer pieces", "[tokenizer][pretokenizer]") {
    const Pretokenizer p("gpt-2");
    CHECK(pieces(p, "Hello world's  test\n\n") == Pieces{"Hello", " world", "'s", " ", " test", "\n\n"});
    CHECK(pieces(p, "I'M 12345 x") == Pieces{"I", "'", "M", " 12345", " x"});  // GPT-2: lowercase contractions only
    // NBSP is white space, and only an ASCII space joins the next word.
    CHECK(pieces(p, "a\xC2\xA0\xC2\xA0" "b") == Pieces{"a", "\xC2\xA0", "\xC2\xA0", "b"});
    CHECK(pieces(p, "") == Pieces{});
}

TEST_CASE("o200k pre-tokenizer pieces", "[tokenizer][pretokenizer]") {
    const Pretokenizer p("gpt-4o");
    CHECK(pieces(p, "Hello World") == Pieces{"Hello", " World"});
    CHECK(pieces(p, "HelloWorld CamelCase") == Pieces{"Hello", "World", " Camel", "Case"});
    CHECK(pieces(p, "12345") == Pieces{"123", "45"});
    CHECK(pieces(p, "I'M you'LL") == Pieces{"I'M", " you'LL"});
    CHECK(pieces(p, "abc'\xC5\xBF") == Pieces{"abc'\xC5\xBF"});  // 's also matches 'ſ (Rust case folding)
    CHECK(pieces(p, "a\r\n\r\nb") == Pieces{"a", "\r\n\r\n", "b"});
    CHECK(pieces(p, "x /path//\n") == Pieces{"x", " /", "path", "//\n"});
    // U+0085 (NEL) is white space for tiktoken; U+FEFF is not.
    CHECK(pieces(p, "a\xC2\x85" "b") == Pieces{"a", "\xC2\x85" "b"});
    CHECK(pieces(p, "a \xC2\x85 b") == Pieces{"a", " \xC2\x85", " b"});
}

TEST_CASE("unknown pre-tokenizer names are rejected", "[tokenizer][pretokenizer]") {
    CHECK_THROWS_AS(Pretokenizer("llama-bpe"), silica::Error);
    const Pretokenizer fallback("default");  // files without tokenizer.ggml.pre: the GPT-2 pattern
    std::vector<std::string_view> views;
    fallback.split("Hello world's", views);
    CHECK(views == std::vector<std::string_view>{"Hello", " world", "'s"});
}
