// silica-convert: a Hugging Face GPT-2 checkpoint directory -> GGUF, exactly as llama.cpp's
// convert_hf_to_gguf.py writes it (docs/DESIGN.md §3).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <unistd.h>

#include "engine/convert/gpt2_from_hf.h"
#include "silica/error.h"
#include "apps/common/progress_line.h"
#include "apps/common/run_main.h"

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
    return silica::app::run_main(app, [&] { app.parse(argc, argv); }, [&] {
        const bool show = !quiet && isatty(STDERR_FILENO);
        const auto start = std::chrono::steady_clock::now();
        silica::convert::Gpt2ConvertResult r;
        {
            silica::app::ProgressLine line("silica-convert", show);
            r = silica::convert::convert_gpt2(hf_dir, out, {options.outtype, line.callback()});
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("silica-convert: wrote %s (%lld tensors, %.1f MiB of tensor data, outtype %s, %s output matrix) in %.2f s\n",
                    out.c_str(), static_cast<long long>(r.n_tensors), r.tensor_bytes / 1048576.0, options.outtype.c_str(),
                    r.separate_output ? "separate" : "tied", s);
        return 0;
    });
}
