// One sequence's generation state: sampler, stop tokens and strings, streamed UTF-8, harmony.
#include "silica/generation.h"

#include <algorithm>
#include <optional>

#include "engine/generation/stop_strings.h"
#include "engine/generation/token_logprobs.h"
#include "silica/error.h"
#include "silica/tokenizer.h"
#include "tokenizer/harmony.h"

namespace silica {

const char* finish_reason_name(FinishReason reason) {
    switch (reason) {
        case FinishReason::None: return "none";
        case FinishReason::StopToken: return "stop_token";
        case FinishReason::StopString: return "stop_string";
        case FinishReason::Length: return "length";
        case FinishReason::ContextFull: return "context_full";
        case FinishReason::Cancelled: return "cancelled";
    }
    return "unknown";
}

struct Generation::Impl {
    Impl(const Tokenizer& tokenizer, const GenerationOptions& o)
        : tok(tokenizer), options(o), sampler(o.sampling), stops(o.stop_strings) {}

    const Tokenizer& tok;
    GenerationOptions options;
    Sampler sampler;
    generation::StopStringMatcher stops;  // over the answer only, never the reasoning
    Utf8StreamDecoder plain;              // plain-text mode, and harmony after its fallback
    std::optional<harmony::OutputParser> parser;  // harmony mode, until a fallback to plain text
    bool message_seen = false;   // harmony: a message header was parsed
    std::string header_bytes;    // harmony: every token's bytes until then (for the fallback)
    int64_t n_generated = 0;
    FinishReason finish = FinishReason::None;

    bool is_stop_token(int32_t token) const {
        if (std::find(options.stop_tokens.begin(), options.stop_tokens.end(), token) != options.stop_tokens.end())
            return true;
        return options.stop_at_end_of_generation && tok.is_end_of_generation(token);
    }

    void emit_answer(std::string_view text, GenerationStep& step) {
        if (finish != FinishReason::None || text.empty()) return;
        auto released = stops.push(text);
        step.text += released.text;
        if (released.stopped) finish = FinishReason::StopString;
    }

    // "final", or a message without a channel, is the answer; other channels are reasoning.
    void route(const harmony::Event& e, GenerationStep& step) {
        using Kind = harmony::Event::Kind;
        if (finish != FinishReason::None) return;
        const bool answer = e.channel == "final" || e.channel.empty();
        if (e.kind == Kind::MessageStart) message_seen = true;
        if (answer) {
            if (e.kind == Kind::Content) emit_answer(e.text, step);
            return;
        }
        step.reasoning_channel = e.channel;
        if (e.kind == Kind::MessageStart) step.reasoning_started = true;
        else if (e.kind == Kind::Content) step.reasoning += e.text;
        else if (e.kind == Kind::MessageEnd) step.reasoning_ended = true;
    }

    void push_harmony(int32_t token, GenerationStep& step) {
        const auto events = parser->push(token);
        if (!message_seen) header_bytes += tok.token_bytes(token);
        for (const auto& e : events) route(e, step);
        if (message_seen) {
            header_bytes.clear();
            return;
        }
        if (options.harmony_fallback_tokens > 0 && n_generated > options.harmony_fallback_tokens) {
            parser.reset();
            step.plain_text_fallback = true;
            emit_answer(plain.feed(header_bytes), step);
            header_bytes.clear();
        }
    }

    // Ends the generation. Except after a stop string (whose text and what follows are dropped),
    // everything held back is released: the harmony message's tail, a dangling partial character
    // (as U+FFFD), text that looked like the start of a stop string.
    void end(FinishReason reason, GenerationStep& step) {
        if (finish == FinishReason::None) {
            if (parser)
                for (const auto& e : parser->finish()) route(e, step);
            else
                emit_answer(plain.flush(), step);
        }
        if (finish == FinishReason::None) {
            step.text += stops.flush();
            finish = reason;
        }
        step.finish = finish;
    }
};

Generation::Generation(const Tokenizer& tokenizer, const GenerationOptions& options, std::span<const int32_t> context)
    : impl_(std::make_unique<Impl>(tokenizer, options)) {
    for (int32_t t : options.stop_tokens)
        if (t < 0 || t >= tokenizer.n_vocab())
            throw Error("stop token " + std::to_string(t) + " is outside the vocabulary of " +
                        std::to_string(tokenizer.n_vocab()) + " tokens");
    if (options.top_logprobs < 0) throw Error("top_logprobs must not be negative");
    if (options.harmony) impl_->parser.emplace(tokenizer);
    for (int32_t t : context) impl_->sampler.accept(t);
    if (options.max_tokens == 0) impl_->finish = FinishReason::Length;
}

Generation::~Generation() = default;
Generation::Generation(Generation&&) noexcept = default;
Generation& Generation::operator=(Generation&&) noexcept = default;

GenerationStep Generation::step(std::span<const float> logits) { return step_impl(logits, -1); }

GenerationStep Generation::step_proposed(std::span<const float> logits, int32_t proposed) {
    if (proposed < 0 || proposed >= impl_->tok.n_vocab())
        throw Error("proposed token " + std::to_string(proposed) + " is outside the vocabulary");
    return step_impl(logits, proposed);
}

GenerationStep Generation::step_impl(std::span<const float> logits, int32_t proposed) {
    Impl& g = *impl_;
    if (g.finish != FinishReason::None) throw Error("step() after the generation has finished");
    if (static_cast<int64_t>(logits.size()) != g.tok.n_vocab())
        throw Error("a row of " + std::to_string(logits.size()) + " logits for a vocabulary of " +
                    std::to_string(g.tok.n_vocab()) + " tokens");
    GenerationStep step;
    step.token = proposed >= 0 ? g.sampler.sample_proposed(logits, proposed) : g.sampler.sample(logits);
    g.sampler.accept(step.token);
    ++g.n_generated;
    if (g.options.logprobs) step.logprob = generation::token_logprob(logits, step.token);
    if (g.options.top_logprobs > 0) step.top_logprobs = generation::top_logprobs(logits, g.options.top_logprobs);

    if (g.is_stop_token(step.token)) {
        g.end(FinishReason::StopToken, step);
        return step;
    }
    if (g.parser) g.push_harmony(step.token, step);
    else g.emit_answer(g.plain.feed(g.tok.token_bytes(step.token)), step);

    if (g.finish != FinishReason::None) step.finish = g.finish;  // a stop string
    else if (g.parser && g.parser->stopped()) g.end(FinishReason::StopToken, step);
    else if (g.options.max_tokens > 0 && g.n_generated >= g.options.max_tokens) g.end(FinishReason::Length, step);
    return step;
}

GenerationStep Generation::stop(FinishReason reason) {
    if (reason == FinishReason::None) throw Error("stop() needs a finish reason");
    GenerationStep step;
    if (impl_->finish != FinishReason::None) {
        step.finish = impl_->finish;
        return step;
    }
    impl_->end(reason, step);
    return step;
}

bool Generation::finished() const { return impl_->finish != FinishReason::None; }
FinishReason Generation::finish_reason() const { return impl_->finish; }
int64_t Generation::n_generated() const { return impl_->n_generated; }
const GenerationOptions& Generation::options() const { return impl_->options; }

}  // namespace silica
