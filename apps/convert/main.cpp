// silica-convert: a Hugging Face GPT-2 checkpoint directory -> GGUF, exactly as llama.cpp's
// convert_hf_to_gguf.py writes it (docs/DESIGN.md §3).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <unistd.h>

#include "engine/convert/gpt2_from_hf.h"
#include "silica/error.h"

int main(int argc, char** argv) {
    std::string hf_dir, out;
    silica::convert::Gpt2ConvertOptions options;
    CLI::App app{"silica-convert: convert a Hugging Face GPT-2 checkpoint directory to GGUF"};
    app.add_option("HF_DIR", hf_dir, "checkpoint directory (config.json, model.safetensors, vocab.json, merges.txt)")
        ->required();
    app.add_option("OUT", out, "output GGUF file")->required();
    app.add_option("--outtype", options.outtype, "type of the 2-D weights: f32, f16 (default), bf16, q8_0")
        ->check(CLI::IsMember(silica::convert::gpt2_outtype_names()));
    bool quiet = false;
    app.add_flag("-q,--quiet", quiet, "no progress output");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
    const bool show = !quiet && isatty(STDERR_FILENO);
    const auto start = std::chrono::steady_clock::now();
    try {
        const auto r = silica::convert::convert_gpt2(hf_dir, out, {options.outtype, [&](double f) {
            if (show) std::fprintf(stderr, "\rsilica-convert: %5.1f%%", 100.0 * f);
        }});
        if (show) std::fprintf(stderr, "\n");
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("silica-convert: wrote %s (%lld tensors, %.1f MiB of tensor data, outtype %s, %s output matrix) in %.2f s\n",
                    out.c_str(), static_cast<long long>(r.n_tensors), r.tensor_bytes / 1048576.0, options.outtype.c_str(),
                    r.separate_output ? "separate" : "tied", s);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%serror: %s\n", show ? "\n" : "", e.what());
        return 1;
    }
    return 0;
}
