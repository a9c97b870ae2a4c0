// Special tokens (parse_special on/off), end-of-generation ids, lookups and input errors.
#include <catch2/catch.hpp>

#include <algorithm>

#include "silica/error.h"
#include "tests/tokenizer/tokenizer_test_util.h"

using namespace silica;

namespace {
bool has_id_at_least(const std::vector<int32_t>& ids, int32_t first) {
    return std::any_of(ids.begin(), ids.end(), [&](int32_t id) { return id >= first; });
}
}  // namespace

TEST_CASE("GPT-2: <|endoftext|> is a token only with parse_special", "[tokenizer][special]") {
    const Tokenizer& tok = test::gpt2_tokenizer();
    CHECK(tok.encode("<|endoftext|>", true) == std::vector<int32_t>{50256});
    const auto plain = tok.encode("<|endoftext|>", false);
    CHECK(plain.size() > 1);
    CHECK(std::count(plain.begin(), plain.end(), 50256) == 0);
    CHECK(tok.decode(plain) == "<|endoftext|>");

    const auto mixed = tok.encode("Hello<|endoftext|> world", true);
    const auto hello = tok.encode("Hello", false);
    const auto world = tok.encode(" world", false);
    std::vector<int32_t> expected = hello;
    expected.push_back(50256);
    expected.insert(expected.end(), world.begin(), world.end());
    CHECK(mixed == expected);
    CHECK(tok.encode("<|endoftext", true) == tok.encode("<|endoftext", false));  // incomplete: plain text
}

TEST_CASE("harmony: control tokens parsed only with parse_special", "[tokenizer][special]") {
    const Tokenizer& tok = test::harmony_tokenizer();
    const std::string text = "<|start|>user<|message|>Hi there<|end|><|start|>assistant";
    const auto ids = tok.encode(text, true);
    const auto user = tok.encode("user", false), hi = tok.encode("Hi there", false), assistant = tok.encode("assistant", false);
    std::vector<int32_t> expected{200006};
    expected.insert(expected.end(), user.begin(), user.end());
    expected.push_back(200008);
    expected.insert(expected.end(), hi.begin(), hi.end());
    expected.push_back(200007);
    expected.push_back(200006);
    expected.insert(expected.end(), assistant.begin(), assistant.end());
    CHECK(ids == expected);
    CHECK(tok.decode(ids) == text);

    const auto plain = tok.encode(text, false);
    CHECK_FALSE(has_id_at_least(plain, 199998));
    CHECK(tok.decode(plain) == text);

    CHECK(tok.encode("<|channel|>analysis<|constrain|>json<|call|><|return|>", true).front() == 200005);
    CHECK(tok.encode("<|reserved_200013|>", true) == std::vector<int32_t>{200013});
    CHECK(tok.encode("<|endofprompt|>", true) == std::vector<int32_t>{200018});
    // Rows llama.cpp pads with [PAD<id>] (unused) are never special.
    CHECK_FALSE(has_id_at_least(tok.encode("[PAD200100]", true), 199998));
}

TEST_CASE("special ids, types and end of generation", "[tokenizer][special]") {
    const Tokenizer& g = test::gpt2_tokenizer();
    CHECK(g.n_vocab() == 50257);
    CHECK(g.bos_id() == 50256);
    CHECK(g.eos_id() == 50256);
    CHECK(g.pad_id() == -1);
    CHECK_FALSE(g.add_bos());
    CHECK(g.pre() == "gpt-2");
    CHECK(g.is_control(50256));
    CHECK_FALSE(g.is_control(262));
    CHECK(g.is_end_of_generation(50256));
    CHECK_FALSE(g.is_end_of_generation(262));
    CHECK_FALSE(g.is_end_of_generation(-1));

    const Tokenizer& h = test::harmony_tokenizer();
    CHECK(h.n_vocab() == 201088);
    CHECK(h.bos_id() == 199998);
    CHECK(h.eos_id() == 200002);
    CHECK(h.pad_id() == 199999);
    CHECK(h.pre() == "gpt-4o");
    for (int32_t id : {200002, 200012, 199999}) CHECK(h.is_end_of_generation(id));
    for (int32_t id : {200007, 200006, 200008, 200005, 13}) CHECK_FALSE(h.is_end_of_generation(id));
    CHECK(h.token_type(200007) == kTokenControl);
    CHECK(h.token_type(200019) == kTokenUnused);
    CHECK(h.token_bytes(200019) == "[PAD200019]");
    CHECK(h.token_type(0) == kTokenNormal);
}

TEST_CASE("find_token and token_bytes agree", "[tokenizer][special]") {
    const Tokenizer& g = test::gpt2_tokenizer();
    CHECK(g.find_token(" the") == 262);
    CHECK(g.find_token("hello") == 31373);
    CHECK(g.find_token("<|endoftext|>") == 50256);
    CHECK(g.find_token("no such token here") == -1);
    CHECK(g.token_bytes(198) == "\n");
    const Tokenizer& h = test::harmony_tokenizer();
    CHECK(h.find_token("<|start|>") == 200006);
    CHECK(h.find_token("<|message|>") == 200008);
    for (int32_t id = 0; id < 199998; id += 997) CHECK(h.find_token(h.token_bytes(id)) == id);
    CHECK_THROWS_AS(h.token_bytes(201088), Error);
    CHECK_THROWS_AS(h.token_bytes(-1), Error);
}

TEST_CASE("invalid UTF-8 input is rejected with the byte offset", "[tokenizer][utf8]") {
    const Tokenizer& tok = test::harmony_tokenizer();
    CHECK_THROWS_WITH(tok.encode("abc\xff", false), "invalid UTF-8 at byte 3");
    CHECK_THROWS_WITH(tok.encode("\xC3", true), "invalid UTF-8 at byte 0");
    CHECK_THROWS_WITH(tok.encode_naive("ok \xED\xA0\x80", false), "invalid UTF-8 at byte 3");
    CHECK(tok.encode("", false).empty());
    CHECK(tok.encode("", true).empty());
}
