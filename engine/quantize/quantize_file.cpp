#include "engine/quantize/quantize_file.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/gguf/gguf.h"
#include "quant/dequantize.h"
#include "quant/quant_mix.h"
#include "quant/quantize.h"
#include "silica/error.h"

namespace silica {
namespace {

constexpr uint32_t kQuantizationVersion = 2;  // ggml's GGML_QNT_VERSION, as llama-quantize writes it

bool same_file(const std::string& a, const std::string& b) {
    std::error_code ec;
    if (std::filesystem::equivalent(a, b, ec)) return true;
    const auto ca = std::filesystem::weakly_canonical(a, ec);
    if (ec) return false;
    const auto cb = std::filesystem::weakly_canonical(b, ec);
    return !ec && ca == cb;
}

TensorShape shape_of(const gguf::TensorInfo& t) { return TensorShape{t.name, t.type, t.n_dims, t.ne}; }

std::string type_name(TensorType t) { return std::string(type_traits(t).name); }

// An input weight that is already quantized (other than MXFP4 experts, which are kept as they are).
const gguf::TensorInfo* first_quantized_weight(const gguf::File& file) {
    for (const gguf::TensorInfo& t : file.tensors()) {
        if (t.n_dims < 2 || t.type == TensorType::MXFP4) continue;
        if (t.name.size() < 6 || t.name.compare(t.name.size() - 6, 6, "weight") != 0) continue;
        if (t.type != TensorType::F32 && t.type != TensorType::F16 && t.type != TensorType::BF16) return &t;
    }
    return nullptr;
}

// Converts rows [first, last) of `t` to `to`: each row dequantized to float32, then quantized.
void convert_rows(const gguf::TensorInfo& t, TensorType to, int64_t first, int64_t last, uint8_t* out) {
    const int64_t cols = t.ne[0];
    const size_t in_row = row_bytes(type_traits(t.type), cols);
    const size_t out_row = row_bytes(type_traits(to), cols);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = first; r < last; ++r) {
        dequantize_row(t.type, t.data + static_cast<size_t>(r) * in_row, row.data(), cols);
        quantize_row(to, row.data(), out + static_cast<size_t>(r) * out_row, cols);
    }
}

// Rows are independent, so threads take contiguous ranges; the bytes do not depend on the split.
void convert_tensor(const gguf::TensorInfo& t, TensorType to, int threads, std::span<uint8_t> out) {
    const int64_t rows = t.ne[1] * t.ne[2] * t.ne[3];
    const int64_t n_threads = std::clamp<int64_t>(threads, 1, std::max<int64_t>(1, rows / 16));
    if (n_threads == 1) return convert_rows(t, to, 0, rows, out.data());
    std::vector<std::thread> pool;
    std::exception_ptr failure;
    std::mutex failure_mutex;
    for (int64_t k = 0; k < n_threads; ++k) {
        pool.emplace_back([&, k] {
            try {
                convert_rows(t, to, rows * k / n_threads, rows * (k + 1) / n_threads, out.data());
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure) failure = std::current_exception();
            }
        });
    }
    for (auto& th : pool) th.join();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace

QuantizeSummary quantize_file(const std::string& input, const std::string& output, const QuantizeOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    const auto mix = find_quant_mix(options.target);
    if (!mix) {
        std::string names;
        for (auto n : quant_mix_names()) names += (names.empty() ? "" : ", ") + std::string(n);
        throw Error("unknown quantization type '" + options.target + "' (expected one of: " + names + ")");
    }
    if (same_file(input, output)) throw Error(output + ": the output would overwrite the input");

    const gguf::File file = gguf::File::open(input);
    if (!options.allow_requantize) {
        if (const gguf::TensorInfo* q = first_quantized_weight(file))
            throw Error(input + ": already quantized (tensor " + q->name + " is " + type_name(q->type) +
                        "); pass --allow-requantize to convert it anyway");
    }

    std::vector<TensorShape> shapes;
    for (const gguf::TensorInfo& t : file.tensors()) shapes.push_back(shape_of(t));
    const std::string arch = file.get_string("general.architecture", "");
    ModelShape model;
    model.n_layer = file.get_int(arch + ".block_count", 0);
    model.n_expert = file.get_int(arch + ".expert_count", 0);
    const std::vector<TypeChoice> choices = choose_tensor_types(*mix, shapes, model, options.pure);

    for (size_t i = 0; i < shapes.size(); ++i) {
        const gguf::TensorInfo& t = file.tensors()[i];
        const TensorType to = choices[i].type;
        if (to != t.type && !can_dequantize(t.type))
            throw Error(input + ": tensor " + t.name + " is " + type_name(t.type) + ", which cannot be converted");
    }

    gguf::Writer writer;
    for (const auto& [key, value] : file.metadata()) writer.set(key, value);
    writer.set_u32("general.quantization_version", kQuantizationVersion);
    writer.set_u32("general.file_type", mix->file_type);

    QuantizeSummary summary;
    summary.file_type = mix->file_type;
    const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (size_t i = 0; i < shapes.size(); ++i) {
        const gguf::TensorInfo& t = file.tensors()[i];
        const TypeChoice choice = choices[i];
        std::vector<int64_t> dims(t.ne.begin(), t.ne.begin() + t.n_dims);
        summary.bytes_in += t.nbytes;
        summary.bytes_out += quantized_bytes(choice.type, t.n_elements());
        summary.n_elements += static_cast<uint64_t>(t.n_elements());
        summary.n_tensors += 1;
        summary.n_converted += choice.type != t.type;
        summary.n_fallback += choice.fallback;
        writer.add_tensor(t.name, choice.type, dims, [&file, &t, &options, choice, threads](std::span<uint8_t> out) {
            if (choice.type == t.type)
                std::memcpy(out.data(), t.data, out.size());
            else
                convert_tensor(t, choice.type, threads, out);
            // Done with these input pages: drop them so a model larger than memory streams through.
            file.release_pages(file.data_offset() + t.offset, t.nbytes);
            if (options.on_tensor)
                options.on_tensor(QuantizedTensor{t.name, t.n_dims, t.ne, t.type, choice.type, choice.fallback});
        });
    }
    writer.write(output);
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
}

}  // namespace silica
