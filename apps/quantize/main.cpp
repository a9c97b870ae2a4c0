// silica-quantize: convert a GGUF model to another quantization (like llama.cpp's llama-quantize).
// Parses the command line and prints; the work is engine/quantize/quantize_file.h.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <new>
#include <string>

#include "engine/quantize/quantize_file.h"
#include "quant/quant_mix.h"
#include "silica/error.h"
#include "apps/common/run_main.h"

namespace {

std::string shape_text(const silica::QuantizedTensor& t) {
    std::string s;
    for (uint32_t d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
    return "[" + s + "]";
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

}  // namespace

int main(int argc, char** argv) {
    std::string input, output;
    silica::QuantizeOptions options;
    bool verbose = false;
    std::string types;
    for (auto n : silica::quant_mix_names()) types += (types.empty() ? "" : " ") + std::string(n);
    CLI::App app{"silica-quantize: convert a GGUF model to another quantization type or mix"};
    app.add_option("input", input, "input GGUF file")->required();
    app.add_option("output", output, "output GGUF file (written to a temporary, renamed when complete)")->required();
    app.add_option("type", options.target,
                   "target, case-insensitive: " + types + " (Q4_K = Q4_K_M, Q5_K = Q5_K_M)")
        ->required();
    app.add_flag("--allow-requantize", options.allow_requantize,
                 "accept an input whose weights are already quantized (dequantized first; loses accuracy)");
    app.add_flag("--pure", options.pure, "no per-tensor mix rules: every weight gets the target's base type");
    app.add_option("-t,--threads", options.threads, "threads (default: one per hardware thread)")
        ->check(CLI::Range(1, 1024));
    app.add_flag("-v,--verbose", verbose, "print one line per tensor: name, shape, old type -> new type");
    return silica::app::run_main(app, [&] { app.parse(argc, argv); }, [&] {
        int index = 0;
        if (verbose) {
            options.on_tensor = [&index](const silica::QuantizedTensor& t) {
                fmt::print("[{:4}] {:<36} {:<24} {:>6} -> {}{}\n", ++index, t.name, shape_text(t),
                           silica::type_traits(t.from).name, silica::type_traits(t.to).name,
                           t.fallback ? " (row length fallback)" : "");
                std::fflush(stdout);
            };
        }
        const silica::QuantizeSummary s = silica::quantize_file(input, output, options);
        const double elements = static_cast<double>(s.n_elements > 0 ? s.n_elements : 1);
        fmt::print("silica-quantize: {} -> {} ({}, general.file_type {})\n", input, output,
                   silica::find_quant_mix(options.target)->name, s.file_type);
        fmt::print("silica-quantize: size {:.2f} MiB ({:.2f} bits/weight) -> {:.2f} MiB ({:.2f} bits/weight)\n",
                   mib(s.bytes_in), 8.0 * static_cast<double>(s.bytes_in) / elements, mib(s.bytes_out),
                   8.0 * static_cast<double>(s.bytes_out) / elements);
        fmt::print("silica-quantize: {} tensors, {} converted, {} by row-length fallback; {:.2f} s\n", s.n_tensors,
                   s.n_converted, s.n_fallback, s.seconds);
        return 0;
    });
}
