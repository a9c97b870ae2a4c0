// Exactness against tiktoken on the whole corpus, for both vocabularies, fast and naive BPE.
#include <catch2/catch.hpp>

#include "tests/tokenizer/tokenizer_test_util.h"

using namespace silica;
using silica::test::corpus;

namespace {

// Counts identical encodings and prints the first few mismatches.
size_t count_identical(const Tokenizer& tok, bool naive, bool gpt2) {
    size_t same = 0, shown = 0;
    for (const auto& c : corpus()) {
        const auto ids = naive ? tok.encode_naive(c.text, false) : tok.encode(c.text, false);
        const auto& expected = gpt2 ? c.gpt2 : c.o200k;
        if (ids == expected) {
            ++same;
        } else if (shown++ < 5) {
            std::string got, want;
            for (auto id : ids) got += std::to_string(id) + " ";
            for (auto id : expected) want += std::to_string(id) + " ";
            WARN("mismatch for \"" << c.text.substr(0, 120) << "\"\n  got:  " << got.substr(0, 300) << "\n  want: " << want.substr(0, 300));
        }
    }
    return same;
}

}  // namespace

TEST_CASE("corpus is large and covers both vocabularies", "[tokenizer][parity]") {
    REQUIRE(corpus().size() >= 2000);
}

TEST_CASE("GPT-2 encoding equals tiktoken gpt2 on the whole corpus", "[tokenizer][parity]") {
    const Tokenizer& tok = test::gpt2_tokenizer();
    const size_t same = count_identical(tok, false, true);
    INFO(same << "/" << corpus().size() << " identical");
    WARN("gpt2 fast: " << same << "/" << corpus().size() << " identical to tiktoken");
    CHECK(same == corpus().size());
}

TEST_CASE("o200k_harmony encoding equals tiktoken o200k_base on the whole corpus", "[tokenizer][parity]") {
    const Tokenizer& tok = test::harmony_tokenizer();
    const size_t same = count_identical(tok, false, false);
    WARN("o200k fast: " << same << "/" << corpus().size() << " identical to tiktoken");
    CHECK(same == corpus().size());
}

TEST_CASE("naive BPE equals tiktoken on the whole corpus", "[tokenizer][parity]") {
    const size_t gpt2 = count_identical(test::gpt2_tokenizer(), true, true);
    const size_t o200k = count_identical(test::harmony_tokenizer(), true, false);
    WARN("naive: gpt2 " << gpt2 << "/" << corpus().size() << ", o200k " << o200k << "/" << corpus().size());
    CHECK(gpt2 == corpus().size());
    CHECK(o200k == corpus().size());
}

TEST_CASE("decode(encode(x)) == x on the whole corpus", "[tokenizer][roundtrip]") {
    for (const Tokenizer* tok : {&test::gpt2_tokenizer(), &test::harmony_tokenizer()}) {
        size_t same = 0;
        for (const auto& c : corpus()) {
            if (tok->decode(tok->encode(c.text, false)) == c.text) ++same;
            else FAIL_CHECK("round trip broke \"" << c.text.substr(0, 80) << "\"");
            if (tok->decode(tok->encode(c.text, true)) == c.text) ++same;  // specials decode to their text
            else FAIL_CHECK("round trip with specials broke \"" << c.text.substr(0, 80) << "\"");
        }
        CHECK(same == 2 * corpus().size());
    }
}
