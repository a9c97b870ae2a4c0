// The KL base file (apps/perplexity/kl_base_file.h): round trip, and every malformed, truncated
// or mismatched file rejected with a silica::Error naming the problem. Also the row arithmetic
// (log_probs.h) and statistics (statistics.h) the report is made of.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "apps/perplexity/kl_base_file.h"
#include "apps/perplexity/log_probs.h"
#include "apps/perplexity/statistics.h"
#include "apps/perplexity/text_input.h"
#include "silica/error.h"
#include "silica/tokenizer.h"

using namespace silica;
using namespace silica::perplexity;
using Catch::Matchers::Contains;

namespace {

constexpr int64_t kVocab = 300, kCtx = 16, kChunks = 2;

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("silica-klfile-" + std::to_string(::getpid()) + "-" + name))
        .string();
}

std::vector<float> random_logits(std::mt19937& rng, int64_t n, float spread) {
    std::normal_distribution<float> d(0.0f, spread);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = d(rng);
    return x;
}

std::vector<int32_t> some_tokens(int64_t n) {
    std::vector<int32_t> t;
    for (int64_t i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 37 + 5) % kVocab));
    return t;
}

// A valid file of kChunks chunks; returns its rows.
std::vector<BaseRow> write_file(const std::string& path) {
    std::mt19937 rng(7);
    const auto tokens = some_tokens(kCtx * kChunks);
    KlBaseWriter w(path, kVocab, kCtx, kChunks, tokens);
    std::vector<BaseRow> rows;
    for (int64_t i = 0; i < kChunks * scored_per_chunk(kCtx); ++i) {
        const auto x = random_logits(rng, kVocab, 3.0f);
        BaseRow r;
        quantize_row(x, row_stats(x, static_cast<int32_t>(i % kVocab)), r);
        w.write_row(r);
        rows.push_back(r);
    }
    w.finish();
    return rows;
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void put_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Reads the whole file as silica-perplexity --kl does.
void read_all(const std::string& path) {
    KlBaseReader r(path);
    BaseRow row;
    for (int64_t i = 0; i < r.n_chunks() * scored_per_chunk(r.n_ctx()); ++i) r.read_row(row);
}

}  // namespace

TEST_CASE("KL base file: rows and tokens round-trip", "[perplexity][kl_file]") {
    const std::string path = temp_path("roundtrip.kl");
    const auto rows = write_file(path);
    uint64_t size = 0;
    REQUIRE(kl_base_file_size(kVocab, kCtx, kChunks, size));
    CHECK(std::filesystem::file_size(path) == size);
    KlBaseReader r(path);
    CHECK(r.n_vocab() == kVocab);
    CHECK(r.n_ctx() == kCtx);
    CHECK(r.n_chunks() == kChunks);
    CHECK(r.tokens() == some_tokens(kCtx * kChunks));
    BaseRow got;
    for (const BaseRow& want : rows) {
        r.read_row(got);
        CHECK(got.log_prob_min == want.log_prob_min);
        CHECK(got.scale == want.scale);
        CHECK(got.target_log_prob == want.target_log_prob);
        CHECK(got.argmax == want.argmax);
        CHECK(got.codes == want.codes);
    }
    CHECK_THROWS_WITH(r.read_row(got), Contains("no more rows"));
    std::filesystem::remove(path);
}

TEST_CASE("KL base file: every truncation is rejected", "[perplexity][kl_file]") {
    const std::string path = temp_path("whole.kl"), cut = temp_path("cut.kl");
    write_file(path);
    const std::string bytes = file_bytes(path);
    // Every length up to past the tokens, then a sample of lengths inside the rows.
    std::vector<size_t> lengths;
    for (size_t n = 0; n < 24 + 4 * kCtx * kChunks + 40; ++n) lengths.push_back(n);
    for (size_t n = 24 + 4 * kCtx * kChunks + 40; n < bytes.size(); n += 97) lengths.push_back(n);
    lengths.push_back(bytes.size() - 1);
    for (size_t n : lengths) {
        put_bytes(cut, bytes.substr(0, n));
        INFO("length " << n);
        CHECK_THROWS_WITH(read_all(cut), Contains("truncated"));
    }
    put_bytes(cut, bytes + "x");
    CHECK_THROWS_WITH(read_all(cut), Contains("too long"));
    std::filesystem::remove(path);
    std::filesystem::remove(cut);
}

TEST_CASE("KL base file: bad magic, version, header, tokens and rows are rejected", "[perplexity][kl_file]") {
    const std::string path = temp_path("good.kl"), bad = temp_path("bad.kl");
    write_file(path);
    const std::string good = file_bytes(path);
    auto with = [&](size_t offset, const void* data, size_t n) {
        std::string b = good;
        std::memcpy(b.data() + offset, data, n);
        put_bytes(bad, b);
    };
    with(0, "GGUF", 4);
    CHECK_THROWS_WITH(read_all(bad), Contains("bad magic"));
    const uint32_t version = 2;
    with(8, &version, 4);
    CHECK_THROWS_WITH(read_all(bad), Contains("version 2"));
    const uint32_t small_ctx = 8, zero = 0, huge = 0xffffffffu;
    with(16, &small_ctx, 4);
    CHECK_THROWS_WITH(read_all(bad), Contains("corrupt KL base file header"));
    with(12, &zero, 4);
    CHECK_THROWS_WITH(read_all(bad), Contains("corrupt KL base file header"));
    with(20, &huge, 4);  // 2^32 - 1 chunks: a plausible header that needs far more bytes
    CHECK_THROWS_WITH(read_all(bad), Contains("truncated"));
    with(12, &huge, 4);
    CHECK_THROWS_WITH(read_all(bad), Contains("corrupt KL base file header"));
    const int32_t out_of_range = static_cast<int32_t>(kVocab);
    with(24 + 4 * 3, &out_of_range, 4);
    CHECK_THROWS_WITH(read_all(bad), Contains("token 3"));
    const size_t row1 = 24 + 4 * kCtx * kChunks + (16 + 2 * kVocab);
    const float nan = std::nanf("");
    with(row1 + 4, &nan, 4);  // scale of row 1
    CHECK_THROWS_WITH(read_all(bad), Contains("row 1"));
    with(row1 + 12, &out_of_range, 4);  // argmax of row 1
    CHECK_THROWS_WITH(read_all(bad), Contains("row 1"));
    CHECK_THROWS_WITH(read_all(temp_path("missing.kl")), Contains("cannot open"));
    std::filesystem::remove(path);
    std::filesystem::remove(bad);
}

TEST_CASE("KL base file: another model, context or text is detected", "[perplexity][kl_file]") {
    const std::string path = temp_path("match.kl");
    write_file(path);
    KlBaseReader r(path);
    CHECK_NOTHROW(r.check_model(kVocab));
    CHECK_THROWS_WITH(r.check_model(kVocab + 1), Contains("another model"));
    auto text = some_tokens(kCtx * kChunks + 10);
    CHECK_NOTHROW(r.check_text(text, kCtx, kChunks));
    CHECK_NOTHROW(r.check_text(std::span<const int32_t>(text).first(kCtx), kCtx, 1));
    CHECK_THROWS_WITH(r.check_text(text, 2 * kCtx, kChunks), Contains("context of 16"));
    CHECK_THROWS_WITH(r.check_text(std::span<const int32_t>(text).first(kCtx + 3), kCtx, kChunks),
                      Contains("another text"));
    text[kCtx + 2] = (text[kCtx + 2] + 1) % kVocab;
    CHECK_THROWS_WITH(r.check_text(text, kCtx, kChunks), Contains("token 18"));
    std::filesystem::remove(path);
}

TEST_CASE("KL base file: an unfinished writer leaves no file", "[perplexity][kl_file]") {
    const std::string path = temp_path("partial.kl");
    {
        KlBaseWriter w(path, kVocab, kCtx, kChunks, some_tokens(kCtx * kChunks));
        CHECK(std::filesystem::exists(path));
        CHECK_THROWS_WITH(w.finish(), Contains("missing"));
    }
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("base rows: quantized log-probabilities, KL divergence against them", "[perplexity][kl_file]") {
    std::mt19937 rng(11);
    for (float spread : {0.5f, 3.0f, 20.0f}) {
        const auto p = random_logits(rng, kVocab, spread), q = random_logits(rng, kVocab, spread);
        const RowStats sp = row_stats(p, 5), sq = row_stats(q, 5);
        BaseRow base;
        quantize_row(p, sp, base);
        CHECK(base.argmax == sp.argmax);
        CHECK(base.target_log_prob == static_cast<float>(-sp.nll));
        CHECK(base.scale <= kBaseLogProbRange / 65535.0f * 1.0001f);
        // Every stored log-probability within half a step (above the floor).
        for (int64_t i = 0; i < kVocab; ++i) {
            const double lp = p[i] - sp.log_sum_exp, stored = base.log_prob_min + double(base.scale) * base.codes[i];
            if (lp > base.log_prob_min) CHECK(std::fabs(stored - lp) <= 0.51 * base.scale + 1e-6);
        }
        // KL(p || p) from the stored row: zero up to the storage step, never clearly negative.
        const KlTerms self = compare_row(p, sp, base);
        CHECK(self.kld >= -1e-9);
        CHECK(self.kld < 1e-6);
        CHECK(self.same_top);
        CHECK(std::fabs(self.p_diff) < 1e-6);
        // KL(p || q) from the stored row vs computed in double from the logits.
        double exact = 0;
        for (int64_t i = 0; i < kVocab; ++i) {
            const double lp = p[i] - sp.log_sum_exp, lq = q[i] - sq.log_sum_exp;
            exact += std::exp(lp) * (lp - lq);
        }
        const KlTerms other = compare_row(q, sq, base);
        INFO("spread " << spread << ": KL " << other.kld << ", exact " << exact);
        CHECK(std::fabs(other.kld - exact) <= 2e-3 * exact + 1e-6);
        CHECK(other.same_top == (sq.argmax == sp.argmax));
    }
    // A flat row stores scale 0 and still gives uniform probabilities.
    const std::vector<float> flat(kVocab, 1.5f);
    BaseRow base;
    const RowStats s = row_stats(flat, 0);
    quantize_row(flat, s, base);
    CHECK(base.scale == 0.0f);
    CHECK(compare_row(flat, s, base).kld == Approx(0.0).margin(1e-9));
    CHECK(s.nll == Approx(std::log(double(kVocab))));
    CHECK_THROWS_AS(row_stats(flat, static_cast<int32_t>(kVocab)), Error);
}

TEST_CASE("statistics: llama-perplexity's estimates", "[perplexity][kl_file]") {
    const std::vector<double> nll = {1.0, 2.0, 4.0, 3.0, 0.5};
    PerplexityStats s;
    for (double v : nll) s.add(v);
    const double mean = 2.1;
    double var = 0;
    for (double v : nll) var += (v - mean) * (v - mean);
    var /= 5;  // population variance, then / (n - 1) for the error of the mean
    const Estimate ppl = s.perplexity();
    CHECK(ppl.value == Approx(std::exp(mean)));
    CHECK(ppl.error == Approx(std::exp(mean) * std::sqrt(var / 4)));
    CHECK(mean_of(3.0, 9.0, 1).error == 0.0);

    const std::vector<float> sorted = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    CHECK(percentile(sorted, 0.5) == Approx(5.0));
    CHECK(percentile(sorted, 0.99) == Approx(9.9));
    CHECK(percentile(sorted, 0.0) == 0.0);
    CHECK(percentile(sorted, 1.0) == 10.0);

    KlStats k;
    for (int i = 0; i < 10; ++i) {
        KlTerms t;
        t.kld = 0.1 * i;
        t.p_diff = i % 2 ? 0.1 : -0.1;
        t.same_top = i < 8;
        k.add(2.0 + 0.1 * i, 1.9 + 0.1 * i, t);  // base NLL 0.1 lower everywhere
    }
    const KlSummary m = k.summary();
    CHECK(m.kld.value == Approx(0.45));
    CHECK(m.kld_max == Approx(0.9));
    CHECK(m.kld_median == Approx(0.45));
    CHECK(m.same_top.value == Approx(0.8));
    CHECK(m.same_top.error == Approx(std::sqrt(0.8 * 0.2 / 9)));
    CHECK(m.ln_ppl_ratio.value == Approx(0.1));
    CHECK(m.ln_ppl_ratio.error == Approx(0.0).margin(1e-6));  // perfectly correlated NLLs
    CHECK(m.nll_correlation == Approx(1.0));
    CHECK(m.ppl_ratio.value == Approx(std::exp(0.1)));
    CHECK(m.ppl_diff.value == Approx(m.ppl.value - m.ppl_base.value));
    CHECK(m.p_diff_rms.value == Approx(0.1));
}

TEST_CASE("text input: UTF-8 checked with its byte offset, BOS only when the tokenizer asks", "[perplexity][kl_file]") {
    const std::string path = temp_path("bad.txt");
    put_bytes(path, std::string("caf\xc3\xa9 ok \xff rest"));
    CHECK_THROWS_WITH(read_text_file(path), Contains("not valid UTF-8 (byte offset 9)"));
    put_bytes(path, "plain text");
    CHECK(read_text_file(path) == "plain text");
    std::filesystem::remove(path);
    CHECK_THROWS_WITH(read_text_file(path), Contains("cannot open"));

    BpeVocab v = load_vocab_file(std::string(SILICA_SOURCE_DIR) + "/models/tokenizers/gpt2.vocab.gz");
    const Tokenizer plain(v);
    CHECK(text_tokens(plain, "Hello world") == std::vector<int32_t>{15496, 995});
    v.add_bos = true;
    v.bos_id = 50256;
    const Tokenizer with_bos(v);
    CHECK(text_tokens(with_bos, "Hello world") == std::vector<int32_t>{50256, 15496, 995});
}
