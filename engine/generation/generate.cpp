// The plain generation loop over one Session: evaluate, step, report, feed the token back.
#include <chrono>

#include "silica/error.h"
#include "silica/generation.h"
#include "silica/model.h"
#include "silica/session.h"

namespace silica {

GenerationResult generate(Session& session, std::span<const int32_t> prompt, const GenerationOptions& options,
                          const GenerationCallback& on_step, const std::atomic<bool>* cancel) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };

    if (!prompt.empty()) session.decode(prompt);
    else if (!session.has_logits()) throw Error("generate: the session has no logits to start from (give a prompt)");
    Generation gen(session.model().tokenizer(), options, session.tokens());

    GenerationResult result;
    auto report = [&](const GenerationStep& step) {
        if (step.token >= 0) {
            if (result.tokens.empty()) result.time_to_first_token = seconds();
            result.tokens.push_back(step.token);
        }
        result.text += step.text;
        result.reasoning += step.reasoning;
        return on_step ? on_step(step) : true;
    };
    while (!gen.finished()) {
        if (cancel != nullptr && cancel->load()) {
            report(gen.stop(FinishReason::Cancelled));
            break;
        }
        const GenerationStep step = gen.step(session.logits());
        const bool go_on = report(step);
        if (step.finished()) break;
        if (!go_on) {
            report(gen.stop(FinishReason::Cancelled));
            break;
        }
        // No room for the token: it was shown but cannot be evaluated.
        if (session.n_past() >= session.n_ctx()) {
            report(gen.stop(FinishReason::ContextFull));
            break;
        }
        session.decode(std::span<const int32_t>(&step.token, 1));
    }
    result.finish = gen.finish_reason();
    result.seconds = seconds();
    return result;
}

}  // namespace silica
