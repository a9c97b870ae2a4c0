// Helpers for model tests: synthetic models written once per test run into a temp folder.
#pragma once
#include <cmath>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "engine/synth/synthetic_model.h"

namespace silica::test {

// Path of a synthetic model (written on first use, reused afterwards within this process).
inline std::string synthetic_model(const std::string& arch, const std::string& wtype, uint64_t seed = 1) {
    const auto dir = std::filesystem::temp_directory_path() / ("silica-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = dir / (arch + "-tiny-" + wtype + "-" + std::to_string(seed) + ".gguf");
    if (!std::filesystem::exists(path)) {
        synth::Spec s;
        s.arch = arch;
        s.preset = "tiny";
        s.wtype = wtype;
        s.seed = seed;
        s.tokenizer_dir = std::string(SILICA_SOURCE_DIR) + "/models/tokenizers";
        synth::write_model(s, path.string());
    }
    return path.string();
}

struct LogitError {
    double max_abs = 0;     // max |fast - ref|
    double ref_std = 0;     // standard deviation of the reference logits
    double rel() const { return max_abs / ref_std; }
    int top1_agree = 0;
    int rows = 0;
};

inline LogitError compare_logits(std::span<const float> fast, std::span<const float> ref, int64_t n_vocab) {
    LogitError e;
    double sum = 0, sum2 = 0;
    for (float r : ref) {
        sum += r;
        sum2 += static_cast<double>(r) * r;
    }
    const double n = static_cast<double>(ref.size());
    e.ref_std = std::sqrt(std::max(0.0, sum2 / n - (sum / n) * (sum / n)));
    for (size_t i = 0; i < ref.size(); ++i) e.max_abs = std::max(e.max_abs, std::fabs(double(fast[i]) - ref[i]));
    e.rows = static_cast<int>(ref.size() / n_vocab);
    for (int r = 0; r < e.rows; ++r) {
        auto argmax = [&](std::span<const float> x) {
            size_t best = 0;
            for (size_t i = 1; i < static_cast<size_t>(n_vocab); ++i)
                if (x[r * n_vocab + i] > x[r * n_vocab + best]) best = i;
            return best;
        };
        e.top1_agree += argmax(fast) == argmax(ref);
    }
    return e;
}

}  // namespace silica::test
