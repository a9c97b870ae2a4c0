// Load a model, encode a prompt, and stream a greedy completion through Silica's public API.
#include <cstdio>
#include <string>

#include <silica/error.h>
#include <silica/generation.h>
#include <silica/model.h>
#include <silica/session.h>
#include <silica/tokenizer.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N_TOKENS]\n", argv[0]);
        return 2;
    }
    try {
        auto model = silica::Model::load(argv[1]);
        silica::Session session(model);
        const std::vector<int32_t> prompt = model->tokenizer().encode(argv[2], false);

        silica::GenerationOptions options;
        options.sampling.temperature = 0.0f;  // greedy
        options.max_tokens = argc > 3 ? std::stoi(argv[3]) : 16;
        // Evaluates the prompt, then streams the answer text as it is released.
        const silica::GenerationResult result =
            silica::generate(session, prompt, options, [](const silica::GenerationStep& step) {
                std::fputs(step.text.c_str(), stdout);
                return true;
            });
        std::fputs("\n", stdout);
        std::fprintf(stderr, "%zu tokens, finished: %s\n", result.tokens.size(),
                     silica::finish_reason_name(result.finish));
    } catch (const silica::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
