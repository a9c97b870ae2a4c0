// Prefix reuse and session files on the tiny synthetic GPT-2 and GPT-OSS models: a session that
// took its prefix from the cache, or was restored from a file, continues exactly like one that
// computed everything; files of another model, truncated or corrupted files are refused.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "silica/error.h"
#include "silica/model.h"
#include "silica/prefix_cache.h"
#include "silica/session.h"
#include "silica/session_file.h"
#include "tests/engine/model_test_util.h"

using namespace silica;

namespace {

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// The tiny GPT-2 has a trained context of 128 positions; GPT-OSS takes 512.
SessionOptions options(KvType kv, std::shared_ptr<PrefixCache> cache = nullptr) {
    SessionOptions so;
    so.n_threads = 2;
    so.n_ctx = 0;
    so.kv_type = kv;
    so.prefix_cache = std::move(cache);
    return so;
}

std::vector<float> last_logits(const Session& s) {
    auto l = s.logits();
    return {l.begin(), l.end()};
}

// Greedy-continues both sessions n steps, requiring identical logits at every step.
void require_same_continuation(Session& a, Session& b, int n) {
    for (int i = 0; i < n; ++i) {
        const auto la = last_logits(a), lb = last_logits(b);
        REQUIRE(la == lb);
        const int32_t next = static_cast<int32_t>(std::max_element(la.begin(), la.end()) - la.begin());
        a.decode(std::span(&next, 1));
        b.decode(std::span(&next, 1));
    }
}

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("silica-" + std::to_string(::getpid()) + "-" + name)).string();
}

}  // namespace

TEST_CASE("a prefix taken from the cache gives the same logits as computing it", "[engine][prefix]") {
    for (const char* arch : {"gpt2", "gpt-oss"}) {
        for (KvType kv : {KvType::F16, KvType::Q8_0}) {
            INFO(arch << " kv " << kv_type_name(kv));
            auto model = Model::load(test::synthetic_model(arch, "q8_0"));
            const int32_t V = static_cast<int32_t>(model->params().n_vocab);
            auto cache = std::make_shared<PrefixCache>(64u << 20, 32);
            // GPT-OSS: the first chunk of rows plus a partial one shared, far across the window;
            // GPT-2: 100 (its context is 128).
            const bool oss = std::string(arch) == "gpt-oss";
            const int n_shared = oss ? static_cast<int>(arch::kMoeMaxEvalChunk) + 44 : 100, n_tail = oss ? 30 : 10;
            const auto shared = test::token_sequence(n_shared, 0, V);
            Session first(model, options(kv, cache));
            first.decode(concat(shared, test::token_sequence(n_tail - 5, 1, V)));
            CHECK(first.reused_tokens() == 0);

            const auto second_prompt = concat(shared, test::token_sequence(n_tail, 2, V));
            Session warm(model, options(kv, cache));
            warm.decode(second_prompt);
            CHECK(warm.reused_tokens() == n_shared / 32 * 32);  // whole blocks of 32
            CHECK(warm.n_past() == static_cast<int64_t>(second_prompt.size()));

            // Computed without the cache, in the same two chunks (docs/DESIGN.md: logits are not
            // promised bit-identical across chunkings of a prompt; a verify-sized chunk is computed
            // token by token, a long one may take the prefill attention kernel).
            Session cold(model, options(kv));
            const auto split = second_prompt.begin() + n_shared / 32 * 32;
            cold.decode(std::vector<int32_t>(second_prompt.begin(), split));
            cold.decode(std::vector<int32_t>(split, second_prompt.end()));
            require_same_continuation(warm, cold, 4);

            // The very same prompt again: everything but the last block's remainder is reused.
            Session again(model, options(kv, cache));
            again.decode(second_prompt);
            CHECK(again.reused_tokens() == static_cast<int64_t>(second_prompt.size() - 1) / 32 * 32);
            // A prompt with another first token shares nothing.
            Session other(model, options(kv, cache));
            other.decode(test::token_sequence(100, 3, V));
            CHECK(other.reused_tokens() == 0);
        }
    }
}

TEST_CASE("a session file restores tokens, KV and logits exactly", "[engine][session-file]") {
    for (const char* arch : {"gpt2", "gpt-oss"}) {
        INFO(arch);
        auto model = Model::load(test::synthetic_model(arch, "q8_0"));
        const int32_t V = static_cast<int32_t>(model->params().n_vocab);
        const auto p = test::token_sequence(90, 4, V);
        Session original(model, options(KvType::F16));
        original.decode(p);
        const std::string path = temp_path(std::string(arch) + ".session");
        save_session_file(original, path);

        Session restored(model, options(KvType::F16));
        load_session_file(restored, path);
        CHECK(restored.n_past() == 90);
        CHECK(std::vector<int32_t>(restored.tokens().begin(), restored.tokens().end()) == p);
        require_same_continuation(original, restored, 4);

        // Into a session with another KV type: converted, close to the original.
        Session f32(model, options(KvType::F32));
        load_session_file(f32, path);
        CHECK(f32.n_past() == 90);
        // Too small a context is refused.
        auto small = options(KvType::F16);
        small.n_ctx = 64;
        Session tiny(model, small);
        CHECK_THROWS_WITH(load_session_file(tiny, path), Catch::Contains("raise --ctx-size"));
        std::filesystem::remove(path);
    }
}

TEST_CASE("session files of another model, truncated or corrupted are refused", "[engine][session-file]") {
    auto model = Model::load(test::synthetic_model("gpt2", "q8_0"));
    auto other = Model::load(test::synthetic_model("gpt2", "q8_0", 2));
    const int32_t V = static_cast<int32_t>(model->params().n_vocab);
    Session s(model, options(KvType::F16));
    s.decode(test::token_sequence(20, 5, V));
    const std::string path = temp_path("refuse.session");
    save_session_file(s, path);

    Session wrong(other, options(KvType::F16));
    CHECK_THROWS_WITH(load_session_file(wrong, path), Catch::Contains("different model"));
    CHECK(wrong.n_past() == 0);

    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string damaged = temp_path("damaged.session");
    auto write = [&](const std::vector<char>& b) {
        std::ofstream out(damaged, std::ios::binary | std::ios::trunc);
        out.write(b.data(), static_cast<std::streamsize>(b.size()));
    };
    Session target(model, options(KvType::F16));
    std::mt19937 rng(9);
    // Every cut in the header, then random cuts and byte flips in the payload.
    std::vector<size_t> cuts;
    for (size_t n = 0; n < 64; ++n) cuts.push_back(n);
    for (int i = 0; i < 60; ++i) cuts.push_back(rng() % bytes.size());
    for (size_t n : cuts) {
        write(std::vector<char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)));
        CHECK_THROWS_AS(load_session_file(target, damaged), Error);
    }
    for (int i = 0; i < 60; ++i) {
        auto b = bytes;
        b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
        write(b);
        CHECK_THROWS_AS(load_session_file(target, damaged), Error);
    }
    CHECK(target.n_past() == 0);
    CHECK_THROWS_WITH(load_session_file(target, temp_path("missing.session")), Catch::Contains("cannot open"));
    std::filesystem::remove(path);
    std::filesystem::remove(damaged);
}

TEST_CASE("truncate keeps a prefix, unless a window layer has overwritten it", "[engine][session-file]") {
    auto gpt2 = Model::load(test::synthetic_model("gpt2", "q8_0"));
    const int32_t V = static_cast<int32_t>(gpt2->params().n_vocab);
    const auto p = test::token_sequence(60, 6, V);
    Session a(gpt2, options(KvType::F16));
    a.decode(p);
    REQUIRE(a.truncate(40));
    CHECK(a.n_past() == 40);
    a.decode(std::span(p).subspan(40));
    Session b(gpt2, options(KvType::F16));
    b.decode(p);
    require_same_continuation(a, b, 2);

    // The tiny GPT-OSS's window rings hold test::kTinyGptOssRingRows rows: n tokens past that
    // overwrite early rows.
    auto oss = Model::load(test::synthetic_model("gpt-oss", "q8_0"));
    Session c(oss, options(KvType::F16));
    const int n = static_cast<int>(test::kTinyGptOssRingRows) + 40;
    c.decode(test::token_sequence(n, 7, static_cast<int32_t>(oss->params().n_vocab)));
    CHECK_FALSE(c.truncate(10));
    CHECK(c.n_past() == n);
    CHECK(c.truncate(n - 1));
}
