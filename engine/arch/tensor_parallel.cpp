#include "engine/arch/tensor_parallel.h"

#include <algorithm>

namespace silica::arch {
namespace {

// The output matrix is split in whole 16-row groups (the repacked kernels' unit).
constexpr int64_t kVocabUnit = 16;

}  // namespace

TensorParallel::TensorParallel(std::shared_ptr<parallel::Communicator> comm) : comm_(std::move(comm)) {
    if (comm_) split_ = {comm_->rank(), comm_->size()};
}

parallel::Slice TensorParallel::vocab_share(int64_t n_vocab, int rank) const {
    return parallel::TensorSplit{rank, split_.n_ranks}.share(n_vocab, kVocabUnit, "the vocabulary");
}

void TensorParallel::sum(float* x, size_t n, OpProfiler& profiler) const {
    if (!active()) return;
    OpScope scope(profiler, "tp: allreduce");
    comm_->allreduce_sum(x, n);
}

void TensorParallel::gather_logits(const float* local, int64_t rows, int64_t n_vocab, float* out,
                                   std::vector<float>& scratch, OpProfiler& profiler) const {
    if (!active()) {
        std::copy_n(local, rows * n_vocab, out);
        return;
    }
    OpScope scope(profiler, "tp: gather logits");
    std::vector<size_t> counts(static_cast<size_t>(split_.n_ranks));
    for (int r = 0; r < split_.n_ranks; ++r) counts[r] = static_cast<size_t>(rows * vocab_share(n_vocab, r).size());
    scratch.resize(static_cast<size_t>(rows * n_vocab));
    comm_->allgather(local, scratch.data(), counts);
    // scratch holds rank 0's rows, then rank 1's, ...: interleave them into whole rows.
    const float* from = scratch.data();
    for (int r = 0; r < split_.n_ranks; ++r) {
        const parallel::Slice v = vocab_share(n_vocab, r);
        for (int64_t t = 0; t < rows; ++t, from += v.size()) std::copy_n(from, v.size(), out + t * n_vocab + v.begin);
    }
}

std::vector<float> slice_of(const std::vector<float>& values, std::initializer_list<parallel::Slice> slices) {
    std::vector<float> out;
    for (const parallel::Slice& s : slices) out.insert(out.end(), values.begin() + s.begin, values.begin() + s.end);
    return out;
}

std::vector<float> slice_of_groups(const std::vector<float>& values, int64_t group_size, parallel::Slice slice) {
    std::vector<float> out;
    for (size_t g = 0; g + static_cast<size_t>(group_size) <= values.size(); g += static_cast<size_t>(group_size))
        out.insert(out.end(), values.begin() + g + slice.begin, values.begin() + g + slice.end);
    return out;
}

}  // namespace silica::arch
