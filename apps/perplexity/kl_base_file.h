// The KL base file: a base model's log-probabilities at every scored position of a perplexity
// run (silica-perplexity --kl-base writes it, --kl reads it). Little-endian:
//
//   char[8]  magic "SILICAKL"
//   u32      version (1)
//   u32      n_vocab
//   u32      n_ctx                      tokens per chunk (>= 16)
//   u32      n_chunks
//   i32      tokens[n_chunks * n_ctx]   the text's tokens that were evaluated, chunk after chunk
//   then n_chunks * (n_ctx - 1 - n_ctx/2) rows, chunk after chunk, position after position (the
//   positions n_ctx/2 .. n_ctx-2 of a chunk, each predicting the token after it):
//     f32    log_prob_min               log-probability of code 0
//     f32    scale                      log-probability step per code (0: a flat row)
//     f32    target_log_prob            the next token's exact log-probability
//     i32    argmax                     the base model's most likely token
//     u16    codes[n_vocab]             log p_i ≈ log_prob_min + scale * codes[i]
//
// The stored tokens let a later run detect a base file made from another text or context size;
// n_vocab one made with another model's vocabulary. Readers check the exact file size up front.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "apps/perplexity/log_probs.h"

namespace silica::perplexity {

constexpr char kKlBaseMagic[8] = {'S', 'I', 'L', 'I', 'C', 'A', 'K', 'L'};
constexpr uint32_t kKlBaseVersion = 1;
constexpr uint64_t kKlBaseHeaderBytes = 24;

// Scored positions per chunk of n_ctx tokens: n_ctx/2 .. n_ctx-2 (llama-perplexity's second half).
inline int64_t scored_per_chunk(int64_t n_ctx) { return n_ctx - 1 - n_ctx / 2; }

// The size of a KL base file; false when it does not fit in 64 bits.
bool kl_base_file_size(uint64_t n_vocab, uint64_t n_ctx, uint64_t n_chunks, uint64_t& bytes);

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

class KlBaseWriter {
public:
    // Creates `path` and writes the header and tokens (n_chunks * n_ctx of them).
    // Throws silica::Error("<path>: ...") when the file cannot be written.
    KlBaseWriter(const std::string& path, int64_t n_vocab, int64_t n_ctx, int64_t n_chunks,
                 std::span<const int32_t> tokens);
    // A writer destroyed before finish() (the run failed) deletes its partial file.
    ~KlBaseWriter();
    KlBaseWriter(const KlBaseWriter&) = delete;
    KlBaseWriter& operator=(const KlBaseWriter&) = delete;
    void write_row(const BaseRow& row);
    // Flushes and closes; throws if a write failed or fewer rows than the header promises came.
    void finish();

private:
    void write(const void* data, size_t bytes);
    std::string path_;
    std::unique_ptr<std::FILE, FileCloser> file_;
    int64_t n_vocab_ = 0;
    int64_t rows_left_ = 0;
};

class KlBaseReader {
public:
    // Opens `path` and checks the magic, version, header and exact size, and reads the tokens.
    // Throws silica::Error("<path>: ...") naming the problem.
    explicit KlBaseReader(const std::string& path);

    int64_t n_vocab() const { return n_vocab_; }
    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_chunks() const { return n_chunks_; }
    const std::vector<int32_t>& tokens() const { return tokens_; }

    // Throws unless the base file was made with a vocabulary of n_vocab tokens.
    void check_model(int64_t n_vocab) const;
    // Throws unless the base file's first n_chunks chunks of n_ctx tokens are exactly `text`'s
    // first tokens (n_chunks <= this->n_chunks()).
    void check_text(std::span<const int32_t> text, int64_t n_ctx, int64_t n_chunks) const;
    // The next row (rows come in file order). Throws on a corrupt or missing row.
    void read_row(BaseRow& row);

private:
    void read(void* data, size_t bytes);
    std::string path_;
    std::unique_ptr<std::FILE, FileCloser> file_;
    int64_t n_vocab_ = 0, n_ctx_ = 0, n_chunks_ = 0;
    int64_t rows_read_ = 0;
    std::vector<int32_t> tokens_;
};

}  // namespace silica::perplexity
