// synth: write a synthetic GGUF model with the exact layout of a published one (random weights,
// real tokenizer), for tests and benchmarks where the real checkpoints cannot be downloaded.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <unistd.h>

#include "engine/synth/synthetic_model.h"
#include "silica/error.h"
#include "apps/common/progress_line.h"
#include "apps/common/run_main.h"

int main(int argc, char** argv) {
    silica::synth::Spec spec;
    std::string out;
    CLI::App app{"synth: write a synthetic GGUF model (exact tensor names, shapes, types and metadata)"};
    app.add_option("--arch", spec.arch, "architecture")->required()->check(CLI::IsMember({"gpt2", "gpt-oss"}));
    app.add_option("--preset", spec.preset, "size preset (tiny, gpt2-124m, gpt2-355m, gpt2-774m, gpt2-1558m, "
                                            "gpt-oss-20b)")->required();
    app.add_option("--wtype", spec.wtype, "storage type of the 2-D weights (f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 "
                                          "q4_K q5_K q6_K); GPT-OSS experts are always mxfp4");
    app.add_option("--seed", spec.seed, "random seed");
    app.add_option("--n-layer", spec.n_layer, "override the preset's layer count")->check(CLI::Range(1, 1000));
    app.add_option("--tokenizer-dir", spec.tokenizer_dir, "folder with the tokenizer files")
        ->envname("SILICA_TOKENIZER_DIR");
    app.add_option("-o,--out", out, "output GGUF file")->required();
    bool quiet = false;
    app.add_flag("-q,--quiet", quiet, "no progress output");
    return silica::app::run_main(app, [&] { app.parse(argc, argv); }, [&] {
        if (spec.tokenizer_dir.empty())
            spec.tokenizer_dir =
                silica::synth::default_tokenizer_dir(SILICA_INSTALLED_TOKENIZER_DIR, SILICA_TOKENIZER_DIR);
        silica::app::ProgressLine line("synth", !quiet && isatty(STDERR_FILENO));
        silica::synth::write_model(spec, out, line.callback());
        return 0;
    });
}
