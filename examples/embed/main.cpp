// Load a model, encode a prompt, and stream a greedy completion through Silica's public API.
#include <cstdio>
#include <string>

#include <silica/error.h>
#include <silica/model.h>
#include <silica/sampler.h>
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
        const silica::Tokenizer& tok = model->tokenizer();
        std::vector<int32_t> tokens = tok.encode(argv[2], false);
        session.decode(tokens);

        silica::SamplerOptions greedy;
        greedy.temperature = 0.0f;
        silica::Sampler sampler(greedy);
        silica::Utf8StreamDecoder text;
        const int n = argc > 3 ? std::stoi(argv[3]) : 16;
        for (int i = 0; i < n; ++i) {
            const int32_t next = sampler.sample(session.logits());
            sampler.accept(next);
            std::fputs(text.feed(tok.token_bytes(next)).c_str(), stdout);
            session.decode(std::span<const int32_t>(&next, 1));
        }
        std::fputs(text.flush().c_str(), stdout);
        std::fputs("\n", stdout);
    } catch (const silica::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
