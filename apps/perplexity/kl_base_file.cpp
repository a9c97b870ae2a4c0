#include "apps/perplexity/kl_base_file.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <sys/stat.h>

#include "silica/error.h"

namespace silica::perplexity {

static_assert(std::endian::native == std::endian::little, "the KL base file is read and written as little-endian");

namespace {

constexpr int64_t kMaxCtx = int64_t{1} << 24;  // past any model's context; bounds a corrupt header

struct RowHeader {
    float log_prob_min;
    float scale;
    float target_log_prob;
    int32_t argmax;
};
static_assert(sizeof(RowHeader) == 16);

}  // namespace

bool kl_base_file_size(uint64_t n_vocab, uint64_t n_ctx, uint64_t n_chunks, uint64_t& bytes) {
    if (n_ctx < 2) return false;
    uint64_t tokens = 0, token_bytes = 0, rows = 0, row_bytes = 0, all_rows = 0;
    if (__builtin_mul_overflow(n_chunks, n_ctx, &tokens) || __builtin_mul_overflow(tokens, 4, &token_bytes) ||
        __builtin_mul_overflow(n_chunks, static_cast<uint64_t>(scored_per_chunk(static_cast<int64_t>(n_ctx))), &rows) ||
        __builtin_mul_overflow(n_vocab, 2, &row_bytes) || __builtin_add_overflow(row_bytes, sizeof(RowHeader), &row_bytes) ||
        __builtin_mul_overflow(rows, row_bytes, &all_rows))
        return false;
    return !__builtin_add_overflow(kKlBaseHeaderBytes + token_bytes, all_rows, &bytes);
}

// ---- writer ------------------------------------------------------------------------------------

KlBaseWriter::KlBaseWriter(const std::string& path, int64_t n_vocab, int64_t n_ctx, int64_t n_chunks,
                           std::span<const int32_t> tokens)
    : path_(path), n_vocab_(n_vocab), rows_left_(n_chunks * scored_per_chunk(n_ctx)) {
    if (static_cast<int64_t>(tokens.size()) != n_ctx * n_chunks)
        throw Error(path + ": " + std::to_string(tokens.size()) + " tokens given for " + std::to_string(n_chunks) +
                    " chunks of " + std::to_string(n_ctx));
    file_.reset(std::fopen(path.c_str(), "wb"));
    if (!file_) throw Error(path + ": cannot create the KL base file: " + std::strerror(errno));
    const uint32_t header[4] = {kKlBaseVersion, static_cast<uint32_t>(n_vocab), static_cast<uint32_t>(n_ctx),
                                static_cast<uint32_t>(n_chunks)};
    write(kKlBaseMagic, sizeof kKlBaseMagic);
    write(header, sizeof header);
    write(tokens.data(), tokens.size_bytes());
}

KlBaseWriter::~KlBaseWriter() {
    if (!file_) return;
    file_.reset();
    std::remove(path_.c_str());
}

void KlBaseWriter::write(const void* data, size_t bytes) {
    if (std::fwrite(data, 1, bytes, file_.get()) != bytes)
        throw Error(path_ + ": cannot write the KL base file: " + std::strerror(errno));
}

void KlBaseWriter::write_row(const BaseRow& row) {
    if (static_cast<int64_t>(row.codes.size()) != n_vocab_ || rows_left_ <= 0)
        throw Error(path_ + ": a row that does not fit the KL base file's header");
    const RowHeader h{row.log_prob_min, row.scale, row.target_log_prob, row.argmax};
    write(&h, sizeof h);
    write(row.codes.data(), row.codes.size() * sizeof(uint16_t));
    --rows_left_;
}

void KlBaseWriter::finish() {
    if (rows_left_ != 0) throw Error(path_ + ": " + std::to_string(rows_left_) + " rows of the KL base file missing");
    std::FILE* f = file_.release();
    const bool failed = std::fflush(f) != 0 || std::ferror(f);
    if ((std::fclose(f) != 0) || failed) throw Error(path_ + ": cannot write the KL base file: " + std::strerror(errno));
}

// ---- reader ------------------------------------------------------------------------------------

KlBaseReader::KlBaseReader(const std::string& path) : path_(path) {
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) throw Error(path + ": cannot open the KL base file: " + std::strerror(errno));
    struct stat st {};
    if (fstat(fileno(file_.get()), &st) != 0 || !S_ISREG(st.st_mode))
        throw Error(path + ": the KL base file is not a regular file");
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size < kKlBaseHeaderBytes)
        throw Error(path + ": truncated KL base file (" + std::to_string(size) + " bytes, shorter than its " +
                    std::to_string(kKlBaseHeaderBytes) + "-byte header)");
    char magic[8];
    uint32_t header[4];
    read(magic, sizeof magic);
    read(header, sizeof header);
    if (std::memcmp(magic, kKlBaseMagic, sizeof magic) != 0)
        throw Error(path + ": not a KL base file (bad magic; expected \"SILICAKL\")");
    if (header[0] != kKlBaseVersion)
        throw Error(path + ": unsupported KL base file version " + std::to_string(header[0]) + " (expected " +
                    std::to_string(kKlBaseVersion) + ")");
    n_vocab_ = header[1];
    n_ctx_ = header[2];
    n_chunks_ = header[3];
    uint64_t expected = 0;
    if (n_vocab_ < 1 || n_vocab_ > INT32_MAX || n_ctx_ < 16 || n_ctx_ > kMaxCtx || n_chunks_ < 1 ||
        !kl_base_file_size(n_vocab_, n_ctx_, n_chunks_, expected))
        throw Error(path + ": corrupt KL base file header (n_vocab " + std::to_string(n_vocab_) + ", n_ctx " +
                    std::to_string(n_ctx_) + ", chunks " + std::to_string(n_chunks_) + ")");
    if (size != expected)
        throw Error(path + ": " + (size < expected ? "truncated KL base file (" : "KL base file too long (") +
                    std::to_string(size) + " bytes; its header (n_vocab " + std::to_string(n_vocab_) + ", n_ctx " +
                    std::to_string(n_ctx_) + ", " + std::to_string(n_chunks_) + " chunks) needs " +
                    std::to_string(expected) + ")");
    tokens_.resize(static_cast<size_t>(n_ctx_ * n_chunks_));
    read(tokens_.data(), tokens_.size() * sizeof(int32_t));
    for (size_t i = 0; i < tokens_.size(); ++i)
        if (tokens_[i] < 0 || tokens_[i] >= n_vocab_)
            throw Error(path + ": corrupt KL base file (token " + std::to_string(i) + " is id " +
                        std::to_string(tokens_[i]) + ", outside the vocabulary of " + std::to_string(n_vocab_) + ")");
}

void KlBaseReader::read(void* data, size_t bytes) {
    if (std::fread(data, 1, bytes, file_.get()) != bytes)
        throw Error(path_ + ": truncated KL base file (it ended while being read)");
}

void KlBaseReader::check_model(int64_t n_vocab) const {
    if (n_vocab != n_vocab_)
        throw Error(path_ + " was made with another model: its vocabulary has " + std::to_string(n_vocab_) +
                    " tokens, this model's " + std::to_string(n_vocab));
}

void KlBaseReader::check_text(std::span<const int32_t> text, int64_t n_ctx, int64_t n_chunks) const {
    if (n_ctx != n_ctx_)
        throw Error(path_ + " was made with a context of " + std::to_string(n_ctx_) + " tokens, this run uses " +
                    std::to_string(n_ctx) + " (--ctx-size)");
    const size_t n = static_cast<size_t>(n_ctx * std::min(n_chunks, n_chunks_));
    if (text.size() < n)
        throw Error(path_ + " was made from another text: it covers " + std::to_string(n) + " tokens, this text has " +
                    std::to_string(text.size()));
    for (size_t i = 0; i < n; ++i)
        if (text[i] != tokens_[i])
            throw Error(path_ + " was made from another text: token " + std::to_string(i) + " is " +
                        std::to_string(tokens_[i]) + " there and " + std::to_string(text[i]) + " here");
}

void KlBaseReader::read_row(BaseRow& row) {
    if (rows_read_ >= n_chunks_ * scored_per_chunk(n_ctx_)) throw Error(path_ + ": no more rows in the KL base file");
    RowHeader h{};
    read(&h, sizeof h);
    row.codes.resize(static_cast<size_t>(n_vocab_));
    read(row.codes.data(), row.codes.size() * sizeof(uint16_t));
    if (!std::isfinite(h.log_prob_min) || !std::isfinite(h.scale) || h.scale < 0 || !std::isfinite(h.target_log_prob) ||
        h.target_log_prob > 0 || h.argmax < 0 || h.argmax >= n_vocab_)
        throw Error(path_ + ": corrupt KL base file (row " + std::to_string(rows_read_) + ")");
    row.log_prob_min = h.log_prob_min;
    row.scale = h.scale;
    row.target_log_prob = h.target_log_prob;
    row.argmax = h.argmax;
    ++rows_read_;
}

}  // namespace silica::perplexity
