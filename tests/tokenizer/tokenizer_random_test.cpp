// Randomized strings: fast BPE == naive BPE, decode(encode(x)) == x, for both vocabularies.
#include <catch2/catch.hpp>

#include <random>
#include <thread>

#include "tests/tokenizer/tokenizer_test_util.h"

using namespace silica;

namespace {

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Text made of runs drawn from ASCII, whitespace, Latin/Greek/Cyrillic, combining marks, CJK,
// emoji and arbitrary Unicode scalar values, so pieces of all kinds and lengths appear.
std::string random_text(std::mt19937& rng) {
    std::uniform_int_distribution<int> kind(0, 7), run(1, 12);
    std::string s;
    const int n_runs = std::uniform_int_distribution<int>(1, 12)(rng);
    for (int r = 0; r < n_runs; ++r) {
        const int k = kind(rng), len = run(rng);
        for (int i = 0; i < len; ++i) {
            uint32_t cp = 'a';
            switch (k) {
                case 0: cp = std::uniform_int_distribution<uint32_t>(0x20, 0x7E)(rng); break;
                case 1: cp = " \t\n\r  '"[std::uniform_int_distribution<int>(0, 6)(rng)]; break;
                case 2: cp = std::uniform_int_distribution<uint32_t>(0xC0, 0x4FF)(rng); break;
                case 3: cp = std::uniform_int_distribution<uint32_t>(0x300, 0x36F)(rng); break;
                case 4: cp = std::uniform_int_distribution<uint32_t>(0x4E00, 0x9FFF)(rng); break;
                case 5: cp = std::uniform_int_distribution<uint32_t>(0x1F300, 0x1F6FF)(rng); break;
                case 6: cp = std::uniform_int_distribution<uint32_t>(0x30, 0x39)(rng); break;
                default:
                    do cp = std::uniform_int_distribution<uint32_t>(1, 0x10FFFF)(rng);
                    while (cp >= 0xD800 && cp <= 0xDFFF);
            }
            append_utf8(s, cp);
        }
    }
    return s;
}

}  // namespace

TEST_CASE("fast BPE equals the naive oracle on random text", "[tokenizer][random]") {
    std::mt19937 rng(20240601);
    for (const Tokenizer* tok : {&test::gpt2_tokenizer(), &test::harmony_tokenizer()}) {
        for (int i = 0; i < 400; ++i) {
            const std::string text = random_text(rng);
            const auto fast = tok->encode(text, false);
            REQUIRE(fast == tok->encode_naive(text, false));
            REQUIRE(tok->decode(fast) == text);
        }
    }
}

TEST_CASE("fast BPE equals the naive oracle on long repetitive pieces", "[tokenizer][random]") {
    std::mt19937 rng(7);
    for (const Tokenizer* tok : {&test::gpt2_tokenizer(), &test::harmony_tokenizer()}) {
        for (int i = 0; i < 30; ++i) {
            std::string text;
            const std::string unit = random_text(rng).substr(0, 3);
            const int reps = std::uniform_int_distribution<int>(20, 200)(rng);
            for (int r = 0; r < reps; ++r) text += unit;
            if (find_invalid_utf8(text)) continue;  // the cut may split a character
            const auto fast = tok->encode(text, false);
            REQUIRE(fast == tok->encode_naive(text, false));
            REQUIRE(tok->decode(fast) == text);
        }
    }
}

TEST_CASE("encode is safe to call from several threads at once", "[tokenizer][random]") {
    const Tokenizer& tok = test::harmony_tokenizer();
    std::mt19937 rng(3);
    std::vector<std::string> texts;
    for (int i = 0; i < 200; ++i) texts.push_back(random_text(rng));
    std::vector<std::vector<int32_t>> expected;
    for (const auto& t : texts) expected.push_back(tok.encode(t, true));
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (size_t i = 0; i < texts.size(); ++i)
                if (tok.encode(texts[(i + static_cast<size_t>(t) * 50) % texts.size()], true) !=
                    expected[(i + static_cast<size_t>(t) * 50) % texts.size()])
                    ++mismatches[t];
        });
    for (auto& th : threads) th.join();
    CHECK(mismatches == std::vector<int>(4, 0));
}
