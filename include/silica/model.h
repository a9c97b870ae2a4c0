// A loaded model: its metadata, weights (zero-copy views of the mapped GGUF file) and tokenizer.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace silica {

class Tokenizer;
class Session;

struct LoadOptions {
    bool use_mmap = true;  // false: read the file into private memory (--no-mmap)
    // Repack matmul weights at load into the kernels' interleaved layout where a repacked kernel
    // exists (false: every weight stays in GGUF layout, read in place; the apps: SILICA_REPACK=0).
    bool repack = true;
    // Repacked copies of 2 MiB or more on 2 MiB-aligned memory advised MADV_HUGEPAGE (the apps:
    // SILICA_HUGEPAGES=0 turns it off).
    bool huge_pages = true;
    // The threads that will run the model, as SessionOptions / EngineOptions n_threads and numa:
    // with NUMA placement ("distribute", "isolate", or "auto" on a machine with several NUMA
    // nodes), each repacked matrix's rows are put at load on the memory of the node whose threads
    // read them. Sessions and engines made with other values still work, reading across nodes.
    int n_threads = 0;
    std::string numa = "auto";
    // Tensor parallelism over MPI (a build with SILICA_MPI): this process is one rank of an
    // `mpirun -np R` job and keeps 1/R of every layer (attention heads, feed-forward features,
    // vocabulary rows); the ranks exchange partial results twice per layer. Every rank must make
    // the same calls with the same inputs, and each ends a step with the same logits (so the
    // same sampled tokens). Throws silica::Error in a build without MPI.
    bool tensor_parallel = false;
    // A rank waiting longer than this in an exchange (another rank died or hangs) aborts the job.
    double tp_timeout_s = 120.0;
    // Called with a fraction in [0, 1] while loading (for progress bars); may be empty.
    std::function<void(double)> progress;
};

// Hyper-parameters common to the supported architectures (0 where an architecture has none).
struct ModelParams {
    std::string architecture;  // "gpt2" or "gpt-oss"
    std::string name;          // general.name
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t n_ff = 0;
    int64_t n_expert = 0;
    int64_t n_expert_used = 0;
    int64_t sliding_window = 0;
    double norm_eps = 1e-5;
};

// What crossed between the ranks of a tensor-parallel job so far, seen from this rank.
struct TensorParallelStats {
    int64_t allreduces = 0, allgathers = 0;
    uint64_t allreduce_bytes = 0;  // payload of the allreduces (each float once)
    uint64_t allgather_bytes = 0;  // bytes received from the other ranks (logits)
    double seconds = 0;            // wall time inside exchanges, waiting for slower ranks included
};

class Model {
public:
    // Throws silica::Error("<path>: <problem>") for unreadable, malformed or unsupported files.
    static std::shared_ptr<Model> load(const std::string& path, const LoadOptions& options = {});
    ~Model();

    const ModelParams& params() const;
    const Tokenizer& tokenizer() const;
    const std::string& path() const;
    uint64_t file_size() const;
    // 64-bit hash of the file's header, metadata, tensor table and samples of every tensor's
    // bytes (session files check it).
    uint64_t fingerprint() const;
    // Tensor parallelism: this process's rank and the number of ranks (0 and 1 without it).
    int tp_rank() const;
    int tp_ranks() const;
    TensorParallelStats tp_stats() const;  // all zero without tensor parallelism
    // Multi-line human-readable summary: metadata, tensor table by type, memory plan (--info).
    std::string describe() const;

    struct Impl;
    const Impl& impl() const { return *impl_; }

private:
    explicit Model(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace silica
