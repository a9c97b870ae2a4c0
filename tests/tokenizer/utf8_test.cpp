// UTF-8 validation and the streaming decoder.
#include <catch2/catch.hpp>

#include <random>

#include "silica/error.h"
#include "tests/tokenizer/tokenizer_test_util.h"

using namespace silica;

namespace {
const std::string kFFFD = "\xEF\xBF\xBD";

std::string feed_all(Utf8StreamDecoder& d, const std::vector<std::string>& chunks) {
    std::string out;
    for (const auto& c : chunks) out += d.feed(c);
    return out;
}
}  // namespace

TEST_CASE("find_invalid_utf8 finds the first bad byte", "[tokenizer][utf8]") {
    CHECK_FALSE(find_invalid_utf8(""));
    CHECK_FALSE(find_invalid_utf8("plain ascii"));
    CHECK_FALSE(find_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"));
    CHECK(find_invalid_utf8("a\x80") == 1u);
    CHECK(find_invalid_utf8("\xC0\x80") == 0u);          // overlong
    CHECK(find_invalid_utf8("\xC1\xBF") == 0u);          // overlong
    CHECK(find_invalid_utf8("x\xE0\x80\x80") == 1u);     // overlong 3-byte
    CHECK(find_invalid_utf8("\xED\xA0\x80") == 0u);      // surrogate
    CHECK(find_invalid_utf8("\xF0\x80\x80\x80") == 0u);  // overlong 4-byte
    CHECK(find_invalid_utf8("\xF4\x90\x80\x80") == 0u);  // above U+10FFFF
    CHECK(find_invalid_utf8("\xF5\x80\x80\x80") == 0u);
    CHECK(find_invalid_utf8("ab\xE2\x82") == 2u);        // truncated
    CHECK(find_invalid_utf8("\xE2\x82x") == 0u);
    CHECK_THROWS_WITH(validate_utf8("ok\xFF"), "invalid UTF-8 at byte 2");
    CHECK_NOTHROW(validate_utf8("\xE2\x82\xAC"));
}

TEST_CASE("streaming decoder holds split characters until complete", "[tokenizer][utf8]") {
    const std::string chars[] = {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};  // 2, 3, 4 bytes
    for (const std::string& ch : chars) {
        for (size_t cut = 1; cut < ch.size(); ++cut) {
            Utf8StreamDecoder d;
            std::string head = "a";  // (not "a" + ...: g++ 12 warns falsely on that form)
            head += ch.substr(0, cut);
            CHECK(d.feed(head) == "a");
            CHECK(d.pending() == cut);
            CHECK(d.feed(ch.substr(cut) + "b") == ch + "b");
            CHECK(d.pending() == 0);
            CHECK(d.flush().empty());
        }
        Utf8StreamDecoder bytewise;
        std::string out;
        for (char c : ch) out += bytewise.feed(std::string(1, c));
        CHECK(out == ch);
    }
}

TEST_CASE("streaming decoder replaces invalid bytes and dangling tails", "[tokenizer][utf8]") {
    Utf8StreamDecoder d;
    CHECK(d.feed("\xFF") == kFFFD);
    CHECK(d.feed("a\x80z") == "a" + kFFFD + "z");
    CHECK(d.feed("\xE2\x82") == "");
    CHECK(d.feed("A") == kFFFD + "A");  // a sequence broken by an unexpected byte
    CHECK(d.feed("\xED\xA0\x80") == kFFFD + kFFFD + kFFFD);  // surrogate: ED cannot take A0
    CHECK(d.feed("ok\xF0\x9F\x98") == "ok");
    CHECK(d.flush() == kFFFD);  // truncated tail at the end of the stream
    CHECK(d.flush().empty());
    CHECK(feed_all(d, {"\xC0\xAF"}) == kFFFD + kFFFD);  // overlong
}

TEST_CASE("streaming decoder output is always valid UTF-8 (random bytes, random chunks)", "[tokenizer][utf8]") {
    std::mt19937 rng(99);
    for (int trial = 0; trial < 2000; ++trial) {
        std::string in;
        const int n = std::uniform_int_distribution<int>(0, 24)(rng);
        for (int i = 0; i < n; ++i) {
            // Mostly bytes that matter to UTF-8: ASCII, continuation and lead bytes.
            const int r = std::uniform_int_distribution<int>(0, 3)(rng);
            in += static_cast<char>(r == 0 ? 'a' : r == 1 ? 0x80 + rng() % 64 : r == 2 ? 0xC0 + rng() % 64 : rng() % 256);
        }
        Utf8StreamDecoder d;
        std::string out;
        for (size_t i = 0; i < in.size();) {
            const size_t len = std::uniform_int_distribution<size_t>(1, 4)(rng);
            out += d.feed(std::string_view(in).substr(i, len));
            i += len;
        }
        out += d.flush();
        REQUIRE_FALSE(find_invalid_utf8(out));
        if (!find_invalid_utf8(in)) REQUIRE(out == in);
    }
}

TEST_CASE("streaming decode of real tokens that split characters", "[tokenizer][utf8]") {
    const Tokenizer& tok = test::gpt2_tokenizer();
    const std::string text = "日本語のテキスト 👩‍💻 emoji é";
    const auto ids = tok.encode(text, false);
    size_t partial_tokens = 0;
    Utf8StreamDecoder d;
    std::string out;
    for (int32_t id : ids) {
        if (find_invalid_utf8(tok.token_bytes(id))) ++partial_tokens;
        const std::string piece = d.feed(tok.token_bytes(id));
        REQUIRE_FALSE(find_invalid_utf8(piece));
        out += piece;
    }
    out += d.flush();
    CHECK(partial_tokens > 0);  // GPT-2 splits these characters across tokens
    CHECK(out == text);
}
