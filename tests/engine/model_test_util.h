// Helpers for model tests: synthetic models written once per test run into a temp folder.
#pragma once
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "engine/arch/architecture.h"
#include "engine/synth/synthetic_model.h"
#include "silica/session.h"

namespace silica::test {

// Path of a synthetic model (written on first use, reused afterwards within this process).
inline std::string synthetic_model(const std::string& arch, const std::string& wtype, uint64_t seed = 1) {
    const auto dir = std::filesystem::temp_directory_path() / ("silica-test-" + std::to_string(::getpid()));
    // Removed at exit: ctest runs every test case as a process of its own, and the ~1 GB of tiny
    // models each one wrote used to stay behind until /tmp was full.
    struct RemoveAtExit {
        std::filesystem::path path;
        ~RemoveAtExit() {
            std::error_code ignored;
            std::filesystem::remove_all(path, ignored);
        }
    };
    static const RemoveAtExit remove_at_exit{dir};
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

// Rows of the tiny GPT-OSS's sliding-window rings: its window of 4 plus the slack of one forward
// chunk. Sequences longer than this overwrite their oldest window rows (tests that need rings
// to wrap go past it).
constexpr int64_t kTinyGptOssRingRows = 4 + static_cast<int64_t>(arch::kMoeMaxEvalChunk);

// n token ids spread over the vocabulary; different salts give different sequences.
inline std::vector<int32_t> token_sequence(int n, int salt, int64_t n_vocab) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 7919 + 13 + salt * 104729) % n_vocab));
    return t;
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

// Decodes `tokens` with every position's logits kept and returns them, row after row.
inline std::vector<float> decode_all_logits(Session& s, const std::vector<int32_t>& tokens) {
    s.decode(tokens, true);
    std::vector<float> out;
    for (size_t i = 0; i < tokens.size(); ++i) {
        auto l = s.logits(static_cast<int64_t>(i));
        out.insert(out.end(), l.begin(), l.end());
    }
    return out;
}

// Mean over rows of KL(softmax(ref) || softmax(fast)).
inline double mean_kl(const std::vector<float>& fast, const std::vector<float>& ref, int64_t V) {
    double total = 0;
    const size_t rows = ref.size() / V;
    for (size_t r = 0; r < rows; ++r) {
        const float* p = &ref[r * V];
        const float* q = &fast[r * V];
        const double mp = *std::max_element(p, p + V), mq = *std::max_element(q, q + V);
        double zp = 0, zq = 0;
        for (int64_t i = 0; i < V; ++i) zp += std::exp(p[i] - mp), zq += std::exp(q[i] - mq);
        double kl = 0;
        for (int64_t i = 0; i < V; ++i) {
            const double lp = p[i] - mp - std::log(zp), lq = q[i] - mq - std::log(zq);
            kl += std::exp(lp) * (lp - lq);
        }
        total += kl;
    }
    return total / static_cast<double>(rows);
}

}  // namespace silica::test
