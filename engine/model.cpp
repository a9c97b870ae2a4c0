#include <xxhash.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "engine/model_impl.h"
#include "engine/run_setup.h"
#include "engine/threading/topology.h"
#include "kernels/isa.h"
#include "silica/error.h"

namespace silica {

std::shared_ptr<Model> Model::load(const std::string& path, const LoadOptions& options) {
    auto impl = std::make_unique<Impl>(Impl{path, gguf::File::open(path, {options.use_mmap}), {}, nullptr, nullptr, 0, nullptr, nullptr});
    if (options.tensor_parallel) impl->comm = parallel::mpi_world(options.tp_timeout_s);
    // Before binding: repacking may release pages of the file's buffer.
    impl->fingerprint = model_fingerprint(impl->file);
    if (options.progress) options.progress(0.5);
    // The plan the engines' thread pools will follow (same options, same machine): each node's
    // rows of every repacked matrix go to that node's memory.
    const NumaPlan plan = thread_plan(options.n_threads, options.numa, impl->comm ? impl->comm->local_size() : 1);
    if (plan.mode != NumaMode::none) impl->placement = std::make_unique<arch::NumaPlacement>(arch::NumaPlacement{plan});
    impl->arch = arch::bind_architecture(impl->file, impl->params,
                                         {options.repack, options.huge_pages, impl->placement.get()}, impl->comm);
    impl->tokenizer = tokenizer_from_gguf(impl->file);
    if (impl->tokenizer->n_vocab() != impl->params.n_vocab)
        throw Error(path + ": tokenizer has " + std::to_string(impl->tokenizer->n_vocab()) +
                    " tokens but the embedding has " + std::to_string(impl->params.n_vocab) + " rows");
    if (impl->comm) impl->comm->barrier();  // every rank has its slice before the first exchange
    if (options.progress) options.progress(1.0);
    return std::shared_ptr<Model>(new Model(std::move(impl)));
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelParams& Model::params() const { return impl_->params; }
const Tokenizer& Model::tokenizer() const { return *impl_->tokenizer; }
const std::string& Model::path() const { return impl_->path; }
uint64_t Model::file_size() const { return impl_->file.file_size(); }
uint64_t Model::fingerprint() const { return impl_->fingerprint; }
int Model::tp_rank() const { return impl_->comm ? impl_->comm->rank() : 0; }
int Model::tp_ranks() const { return impl_->comm ? impl_->comm->size() : 1; }
TensorParallelStats Model::tp_stats() const {
    if (!impl_->comm) return {};
    const parallel::CommStats& s = impl_->comm->stats();
    return {s.allreduces, s.allgathers, s.allreduce_bytes, s.allgather_bytes, s.seconds};
}

uint64_t model_fingerprint(const gguf::File& file) {
    XXH3_state_t* state = XXH3_createState();
    if (!state) throw OutOfMemory("cannot allocate a hash state");
    XXH3_64bits_reset_withSeed(state, file.file_size());
    XXH3_64bits_update(state, file.bytes(), file.data_offset());
    // Samples of every tensor's bytes (start, middle, end): models with equal metadata but other
    // weights (fine-tunes, other seeds) differ, for ~3 MB read instead of the whole file.
    constexpr uint64_t kSample = 1024;
    for (const auto& t : file.tensors()) {
        const uint64_t n = std::min(kSample, t.nbytes);
        for (uint64_t at : {uint64_t{0}, (t.nbytes - n) / 2, t.nbytes - n}) XXH3_64bits_update(state, t.data + at, n);
    }
    const uint64_t hash = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return hash;
}

namespace {

// One line for --info: how repacked weights were placed, and whether the system allowed it.
std::string numa_placement_text(const arch::NumaPlacement* placement) {
    if (!placement) return "none (threads not placed; pages go to the node that first touches them)";
    const NumaPlan& plan = placement->plan;
    const Topology& topology = Topology::detect();
    std::string s = std::string(numa_mode_name(plan.mode)) + ", " + std::to_string(plan.n_threads) + " threads on node";
    s += plan.n_slots() > 1 ? "s" : "";
    for (int k = 0; k < plan.n_slots(); ++k)
        s += (k ? ", " : " ") + std::to_string(topology.nodes()[static_cast<size_t>(plan.nodes[static_cast<size_t>(k)])].os_index) +
             " (" + std::to_string(plan.threads_per_node[static_cast<size_t>(k)]) + ")";
    s += "; " + std::to_string(placement->bytes_bound / (1024 * 1024)) + " MiB of repacked weights bound to their readers' nodes";
    if (placement->refusals > 0)
        s += "; the system refused " + std::to_string(placement->refusals) +
             " bindings (e.g. a container without CAP_SYS_NICE): those weights are placed by first touch";
    return s;
}

}  // namespace

std::string Model::describe() const {
    const auto& p = impl_->params;
    const auto& f = impl_->file;
    std::ostringstream o;
    auto mib = [](uint64_t b) { return std::to_string(b / (1024 * 1024)) + "." + std::to_string(b % (1024 * 1024) * 10 / (1024 * 1024)) + " MiB"; };
    o << "file:          " << impl_->path << " (" << mib(f.file_size()) << ", GGUF v" << f.version() << ", "
      << f.metadata().size() << " metadata keys, alignment " << f.alignment() << ")\n";
    o << "architecture:  " << p.architecture << (p.name.empty() ? "" : " (" + p.name + ")") << "\n";
    o << "hparams:       n_vocab=" << p.n_vocab << " n_ctx_train=" << p.n_ctx_train << " n_embd=" << p.n_embd
      << " n_layer=" << p.n_layer << " n_head=" << p.n_head << " n_head_kv=" << p.n_head_kv
      << " head_dim=" << p.head_dim << " n_ff=" << p.n_ff;
    if (p.n_expert) o << " n_expert=" << p.n_expert << " n_expert_used=" << p.n_expert_used;
    if (p.sliding_window) o << " sliding_window=" << p.sliding_window;
    o << " norm_eps=" << p.norm_eps << "\n";
    const Tokenizer& tok = *impl_->tokenizer;
    o << "tokenizer:     " << f.get_string("tokenizer.ggml.model", "?") << " / pre=" << f.get_string("tokenizer.ggml.pre", "?")
      << ", " << tok.n_vocab() << " tokens, " << (f.has("tokenizer.ggml.merges") ? f.find("tokenizer.ggml.merges")->as_array().items.size() : 0)
      << " merges, bos=" << f.get_int("tokenizer.ggml.bos_token_id", -1)
      << " eos=" << f.get_int("tokenizer.ggml.eos_token_id", -1) << "\n";
    std::map<std::string, std::pair<int, uint64_t>> by_type;
    for (const auto& t : f.tensors()) {
        auto& e = by_type[std::string(type_traits(t.type).name)];
        e.first++;
        e.second += t.nbytes;
    }
    o << "tensors:       " << f.tensors().size() << "\n";
    for (const auto& [name, e] : by_type) o << "  " << name << ": " << e.first << " tensors, " << mib(e.second) << "\n";
    o << "memory plan:   Q8_0/Q4_0/MXFP4/F16 (and, with AVX-512, Q4_K/Q6_K) matrices repacked at load into 16-row blocks "
         "(private memory, their file pages released; SILICA_REPACK=0 keeps them mapped), other weights mapped "
         "zero-copy; "
      << mib(impl_->arch->bytes_per_token()) << " of weights read per decoded token\n";
    o << "NUMA placement: " << numa_placement_text(impl_->placement.get()) << "\n";
    if (impl_->comm)
        o << "tensor-parallel: rank " << tp_rank() << " of " << tp_ranks() << " (this rank's slice: "
          << mib(impl_->arch->bytes_per_token()) << " per token)\n";
    o << "kernel ISA:    " << kernels::isa_name(kernels::active_isa()) << "\n";
    return o.str();
}

}  // namespace silica
