// The vocabulary files of models/tokenizers and the checks of the Tokenizer constructor.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstdio>
#include <filesystem>

#include "silica/error.h"
#include "tests/tokenizer/tokenizer_test_util.h"

using namespace silica;

namespace {
std::string write_gz(const std::string& name, const std::string& text) {
    const std::string path = (std::filesystem::temp_directory_path() / name).string();
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
    return path;
}

}  // namespace

TEST_CASE("vocabulary files load with the llama.cpp metadata", "[tokenizer][vocab]") {
    const BpeVocab g = load_vocab_file(test::tokenizer_file("gpt2.vocab.gz"));
    CHECK(g.model == "gpt2");
    CHECK(g.pre == "gpt-2");
    CHECK(g.tokens.size() == 50257);
    CHECK(g.token_types.size() == 50257);
    CHECK(g.merges.size() == 50000);
    CHECK(g.merges.front() == "\xC4\xA0 t");  // "Ġ t"
    CHECK(g.tokens[50256] == "<|endoftext|>");
    CHECK(g.bos_id == 50256);
    CHECK(g.eos_id == 50256);
    CHECK(g.eot_id == -1);
    CHECK_FALSE(g.add_bos);

    const BpeVocab h = load_vocab_file(test::tokenizer_file("o200k_harmony.vocab.gz"));
    CHECK(h.pre == "gpt-4o");
    CHECK(h.tokens.size() == 201088);
    CHECK(h.merges.size() == 446189);
    CHECK(h.tokens[200006] == "<|start|>");
    CHECK(h.token_types[200006] == kTokenControl);
    CHECK(h.tokens[200018] == "<|endofprompt|>");
    CHECK(h.tokens[201087] == "[PAD201087]");
    CHECK(h.token_types[201087] == kTokenUnused);
    CHECK(h.bos_id == 199998);
    CHECK(h.eos_id == 200002);
    CHECK(h.pad_id == 199999);
}

TEST_CASE("bad vocabulary files give one-line errors", "[tokenizer][vocab]") {
    CHECK_THROWS_AS(load_vocab_file("/nonexistent/dir/x.vocab.gz"), Error);
    CHECK_THROWS_WITH(load_vocab_file(write_gz("silica_bad1.vocab.gz", "hello\n")), Catch::Contains("line 1"));
    CHECK_THROWS_WITH(load_vocab_file(write_gz("silica_bad2.vocab.gz",
                                               "silica-bpe-vocab 1\nmodel gpt2\npre gpt-2\nbos x\n")),
                      Catch::Contains("line 4: bad number"));
    const std::string truncated = "silica-bpe-vocab 1\nmodel gpt2\npre gpt-2\nbos -1\neos -1\neot -1\npad -1\nunk -1\n"
                                  "add_bos absent\ntokens 3\n1 a\n";
    CHECK_THROWS_WITH(load_vocab_file(write_gz("silica_bad3.vocab.gz", truncated)), Catch::Contains("unexpected end"));
}

TEST_CASE("the Tokenizer constructor rejects inconsistent vocabularies", "[tokenizer][vocab]") {
    BpeVocab v = load_vocab_file(test::tokenizer_file("gpt2.vocab.gz"));
    {
        BpeVocab bad = v;
        bad.pre = "llama3";
        CHECK_THROWS_WITH(Tokenizer(bad), Catch::Contains("unsupported tokenizer pre-tokenizer 'llama3'"));
    }
    {
        BpeVocab bad = v;
        bad.model = "llama";
        CHECK_THROWS_WITH(Tokenizer(bad), Catch::Contains("unsupported tokenizer model"));
    }
    {
        BpeVocab bad = v;
        bad.token_types.pop_back();
        CHECK_THROWS_AS(Tokenizer(bad), Error);
    }
    {
        BpeVocab bad = v;
        bad.merges.push_back("nosuch token");
        CHECK_THROWS_WITH(Tokenizer(bad), Catch::Contains("merge 50000"));
    }
    {
        BpeVocab bad = v;
        bad.eos_id = 50257;
        CHECK_THROWS_AS(Tokenizer(bad), Error);
    }
    {
        BpeVocab bad = v;
        bad.tokens[0] = "\xE2\x82\xAC";  // a character that stands for no byte
        CHECK_THROWS_WITH(Tokenizer(bad), Catch::Contains("byte-level"));
    }
    CHECK_THROWS_AS(Tokenizer(BpeVocab{}), Error);
}
