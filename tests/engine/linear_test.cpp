// Linear (engine/arch/linear.h): y = W·x + bias (then GELU) over a thread pool, against the kernel
// called on the whole matrix with the epilogue applied afterwards. Decode batches run their
// epilogue chunk by chunk of output rows (compute_share); the outputs must be bit-identical to the
// one-pass order for every batch size, thread count and a row count that is not a multiple of the
// chunk.
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "engine/arch/linear.h"
#include "engine/arch/op_profiler.h"
#include "engine/arch/weight.h"
#include "engine/threading/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "quant/quantize.h"
#include "quant/repack.h"
#include "quant/types.h"

namespace {

using namespace silica;

struct Case {
    std::vector<uint8_t> bytes;  // GGUF-layout rows
    std::vector<float> x, bias;
};

Case make_case(TensorType type, int64_t rows, int64_t cols, int64_t m, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Case c;
    const size_t row_bytes = quantized_bytes(type, cols);
    c.bytes.resize(static_cast<size_t>(rows) * row_bytes);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (float& v : row) v = 0.05f * normal(rng);
        quantize_row(type, row.data(), c.bytes.data() + r * row_bytes, cols);
    }
    c.x.resize(static_cast<size_t>(m * cols));
    for (float& v : c.x) v = normal(rng);
    c.bias.resize(static_cast<size_t>(rows));
    for (float& v : c.bias) v = 0.5f * normal(rng);
    return c;
}

// The kernel over all rows at once, then the epilogue on every output row.
std::vector<float> expected(const arch::Weight& w, const Case& c, int64_t m, arch::Epilogue epilogue) {
    kernels::Activations act;
    act.prepare(w.type(), c.x.data(), m, w.cols());
    std::vector<float> y(static_cast<size_t>(m * w.rows()));
    w.matmul(act, y.data(), w.rows(), 0, w.rows());
    for (int64_t i = 0; i < m; ++i) {
        float* row = y.data() + i * w.rows();
        if (epilogue == arch::Epilogue::gelu_tanh)
            kernels::add_gelu_tanh(row, c.bias.data(), w.rows());
        else
            kernels::add(row, c.bias.data(), w.rows());
    }
    return y;
}

// Linear::run over every batch size around the chunked range (1..16 rows) and past it, 1-3 threads.
void check_against_one_pass(TensorType type, bool repacked) {
    const int64_t rows = 400, cols = 256;  // 400 = 3 chunks of 128 and a rest of 16
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        arch::OpProfiler profiler;
        arch::Linear linear(pool, profiler);
        for (int64_t m : {int64_t{1}, int64_t{3}, int64_t{8}, int64_t{16}, int64_t{17}}) {
            const Case c = make_case(type, rows, cols, m, static_cast<uint32_t>(m * 10 + threads));
            const kernels::Matrix matrix{type, rows, cols, c.bytes.data(), quantized_bytes(type, cols)};
            const arch::Weight w = repacked ? arch::Weight::repacked(matrix, 1, false) : arch::Weight::view(matrix);
            for (arch::Epilogue epilogue : {arch::Epilogue::none, arch::Epilogue::gelu_tanh}) {
                CAPTURE(type_traits(type).name, repacked, threads, m, epilogue == arch::Epilogue::gelu_tanh);
                std::vector<float> y(static_cast<size_t>(m * rows), -1.0f);
                linear.run(w, c.x.data(), m, y.data(), c.bias.data(), epilogue, "matmul");
                REQUIRE(y == expected(w, c, m, epilogue));
            }
        }
    }
}

}  // namespace

TEST_CASE("linear: epilogue per chunk gives the one-pass outputs bit for bit", "[linear]") {
    for (TensorType type : {TensorType::Q8_0, TensorType::F16}) {
        check_against_one_pass(type, false);
        if (can_repack_x16(type)) check_against_one_pass(type, true);
    }
}
