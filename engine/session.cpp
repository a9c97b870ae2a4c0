#include "silica/session.h"

#include <algorithm>
#include <string>

#include "engine/model_impl.h"
#include "engine/threading/thread_pool.h"
#include "engine/threading/topology.h"
#include "silica/error.h"

namespace silica {

namespace {
constexpr int64_t kDefaultMaxCtx = 8192;

TensorType kv_storage(KvType t) {
    switch (t) {
        case KvType::F32: return TensorType::F32;
        case KvType::F16: return TensorType::F16;
        case KvType::BF16: return TensorType::BF16;
        case KvType::Q8_0: return TensorType::Q8_0;
    }
    return TensorType::F16;
}
}  // namespace

KvType parse_kv_type(const std::string& name) {
    if (name == "f32") return KvType::F32;
    if (name == "f16") return KvType::F16;
    if (name == "bf16") return KvType::BF16;
    if (name == "q8_0") return KvType::Q8_0;
    throw Error("unknown KV cache type '" + name + "' (expected f32, f16, bf16 or q8_0)");
}

const char* kv_type_name(KvType type) {
    switch (type) {
        case KvType::F32: return "f32";
        case KvType::F16: return "f16";
        case KvType::BF16: return "bf16";
        case KvType::Q8_0: return "q8_0";
    }
    return "?";
}

struct Session::Impl {
    std::shared_ptr<const Model> model;
    int64_t n_ctx = 0;
    int64_t n_past = 0;
    int64_t n_logit_rows = 0;
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<arch::Forward> forward;
    std::vector<float> logits;
};

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options) : impl_(std::make_unique<Impl>()) {
    const ModelParams& p = model->params();
    impl_->model = model;
    int64_t n_ctx = options.n_ctx > 0 ? options.n_ctx : std::min(p.n_ctx_train, kDefaultMaxCtx);
    // GPT-2 has learned position embeddings: no position past the trained context exists.
    if (p.architecture == "gpt2" && n_ctx > p.n_ctx_train)
        throw Error("context size " + std::to_string(n_ctx) + " exceeds the model's trained context of " +
                    std::to_string(p.n_ctx_train) + " tokens (gpt2 has learned positions)");
    impl_->n_ctx = n_ctx;
    const Topology& topology = Topology::detect();
    const int n_threads = options.n_threads > 0 ? options.n_threads : topology.physical_cores();
    const NumaMode numa = parse_numa_mode(options.numa);
    impl_->pool = numa == NumaMode::none
                      ? std::make_unique<ThreadPool>(n_threads)
                      : std::make_unique<ThreadPool>(topology, make_numa_plan(topology, n_threads, numa));
    arch::ForwardOptions fo;
    fo.n_ctx = n_ctx;
    fo.kv_storage = kv_storage(options.kv_type);
    fo.pool = impl_->pool.get();
    impl_->forward = model->impl().arch->make_forward(fo);
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;

void Session::decode(std::span<const int32_t> tokens, bool all_logits) {
    if (tokens.empty()) return;
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (impl_->n_past + n > impl_->n_ctx)
        throw Error("context is full: " + std::to_string(impl_->n_past) + " cached + " + std::to_string(n) +
                    " new tokens exceed the context size of " + std::to_string(impl_->n_ctx));
    const int64_t n_vocab = impl_->model->params().n_vocab;
    for (int32_t t : tokens)
        if (t < 0 || t >= n_vocab)
            throw Error("token id " + std::to_string(t) + " is out of range (vocabulary has " +
                        std::to_string(n_vocab) + " tokens)");
    impl_->forward->eval(tokens, impl_->n_past, all_logits, impl_->logits);
    impl_->n_past += n;
    impl_->n_logit_rows = all_logits ? n : 1;
}

std::span<const float> Session::logits(int64_t i) const {
    const int64_t V = impl_->model->params().n_vocab;
    if (impl_->n_logit_rows == 0) throw Error("no logits: decode() has not run");
    if (i < 0) i = impl_->n_logit_rows - 1;
    if (i >= impl_->n_logit_rows) throw Error("logits row " + std::to_string(i) + " was not computed");
    return {impl_->logits.data() + i * V, static_cast<size_t>(V)};
}

int64_t Session::n_past() const { return impl_->n_past; }
int64_t Session::n_ctx() const { return impl_->n_ctx; }
int Session::n_threads() const { return impl_->pool->n_threads(); }
const Model& Session::model() const { return *impl_->model; }
uint64_t Session::kv_cache_bytes() const { return impl_->forward->kv_bytes(); }

void Session::reset() {
    impl_->n_past = 0;
    impl_->n_logit_rows = 0;
    impl_->forward->reset();
}

}  // namespace silica
