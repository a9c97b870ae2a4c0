// Generation: from rows of logits to streamed text, for one sequence.
//
// A Generation is the state of one request: its sampler (settings and seed), stop tokens, stop
// strings, the streamed UTF-8 decoder and, for GPT-OSS chat, the harmony channel parser. It does
// not run the model: the caller evaluates, hands each row of logits to step(), and feeds the
// chosen token back to its Session or Engine. So one Engine::decode step can advance many
// Generations (a server), and generate() below is the plain loop over one Session.
//
//   silica::Generation gen(tokenizer, options, prompt);
//   while (!gen.finished()) {
//       silica::GenerationStep s = gen.step(logits);  // s.text: answer text to show now
//       if (!s.finished()) { evaluate s.token; logits = its row; }
//   }
//
// Text is released only when it is final: a multi-byte character waits for its last byte, and
// answer text that could be the beginning of a stop string waits until it is known not to be
// one; nothing emitted is ever taken back.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "silica/sampler.h"

namespace silica {

class Session;
class Tokenizer;

enum class FinishReason {
    None,         // still generating
    StopToken,    // an end-of-generation token or one of GenerationOptions::stop_tokens
    StopString,   // the answer reached one of GenerationOptions::stop_strings
    Length,       // GenerationOptions::max_tokens were generated
    ContextFull,  // the sequence filled its context (reported by the caller, see Generation::stop)
    Cancelled,    // the caller stopped it
};
// "none", "stop_token", "stop_string", "length", "context_full", "cancelled".
const char* finish_reason_name(FinishReason reason);

struct GenerationOptions {
    int64_t max_tokens = -1;  // generated tokens at most; < 0: no limit (a stop, or the context)
    SamplerOptions sampling;  // temperature, top-k/p, min-p, repetition penalty, seed
    // The answer ends just before the first of these strings (non-empty, valid UTF-8).
    std::vector<std::string> stop_strings;
    std::vector<int32_t> stop_tokens;  // more token ids that end generation (never shown)
    // Tokenizer::is_end_of_generation tokens end generation (never shown). When false they are
    // shown as their text.
    bool stop_at_end_of_generation = true;
    // GPT-OSS chat: the output is harmony messages (tokenizer/harmony.h). Text of the "final"
    // channel (or of a message without a channel) is the answer; other channels ("analysis",
    // "commentary") are reasoning. <|return|>, <|call|> and <|endoftext|> always end generation.
    bool harmony = false;
    // Harmony: a model that does not follow the format (e.g. random synthetic weights) would show
    // nothing. After this many tokens without a message header, the output so far and all that
    // follows is treated as plain text. 0: never.
    int harmony_fallback_tokens = 32;
    bool logprobs = false;  // fill GenerationStep::logprob
    int top_logprobs = 0;   // fill GenerationStep::top_logprobs with this many most likely tokens
};

struct TokenLogprob {
    int32_t token = 0;
    float logprob = 0.0f;  // natural log of the model's probability (softmax of the raw logits)
};

// What one step produced. A step that ends the generation carries all text still held back.
struct GenerationStep {
    int32_t token = -1;      // the chosen token; -1 for the final step of stop()
    std::string text;        // answer text released now (valid UTF-8, possibly empty)
    std::string reasoning;   // harmony: reasoning text released now
    // Harmony, for printing: the reasoning message's channel, and whether a reasoning message
    // began or ended at this step.
    std::string reasoning_channel;
    bool reasoning_started = false;
    bool reasoning_ended = false;
    // Harmony: from this step on the output is treated as plain text (harmony_fallback_tokens);
    // `text` carries everything generated so far.
    bool plain_text_fallback = false;
    float logprob = 0.0f;                     // with GenerationOptions::logprobs
    std::vector<TokenLogprob> top_logprobs;   // with GenerationOptions::top_logprobs, most likely first
    FinishReason finish = FinishReason::None;
    bool finished() const { return finish != FinishReason::None; }
};

class Generation {
public:
    // `context`: the tokens before the first generated one (the prompt), for the repetition
    // penalty. The tokenizer must outlive the Generation. Throws silica::Error for invalid
    // sampler options, an empty or non-UTF-8 stop string, a token id outside the vocabulary, or
    // harmony mode with a tokenizer that lacks the harmony tokens.
    Generation(const Tokenizer& tokenizer, const GenerationOptions& options, std::span<const int32_t> context = {});
    ~Generation();
    Generation(Generation&&) noexcept;
    Generation& operator=(Generation&&) noexcept;

    // Samples the next token from `logits` (one row, n_vocab entries) and returns what it
    // releases. When the step finishes the generation its token need not be evaluated. Throws
    // silica::Error after the generation has finished or for a row of the wrong size.
    GenerationStep step(std::span<const float> logits);
    // Speculative decoding: as step(), but `proposed` (a draft model's or an n-gram lookup's
    // guess for this position) is kept by the rejection rule (Sampler::sample_proposed), so the
    // output has the distribution of step()'s. The step's token equals `proposed` exactly when
    // it was accepted (greedy: when it is the argmax).
    GenerationStep step_proposed(std::span<const float> logits, int32_t proposed);
    // Ends the generation from outside (Cancelled, ContextFull): the returned step (token -1)
    // releases the text still held back. Does nothing (an empty step) when already finished.
    GenerationStep stop(FinishReason reason);

    bool finished() const;
    FinishReason finish_reason() const;
    int64_t n_generated() const;
    const GenerationOptions& options() const;

private:
    GenerationStep step_impl(std::span<const float> logits, int32_t proposed);  // proposed < 0: none
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct GenerationResult {
    FinishReason finish = FinishReason::None;
    std::string text;               // the whole answer
    std::string reasoning;          // harmony: the whole reasoning
    // Every generated token. All but the last are in the session; the last (a stop token, or
    // the one that reached max_tokens or the end of the context) was not evaluated.
    std::vector<int32_t> tokens;
    double seconds = 0.0;              // the whole call, prompt included
    double time_to_first_token = 0.0;  // from the call, prompt included
};

// Called with every step; return false to cancel. After a cancellation or a full context it is
// called once more with the final step (token -1, the released text); that return value is ignored.
using GenerationCallback = std::function<bool(const GenerationStep&)>;

// Evaluates `prompt` in `session` (it may be empty when the session already has logits, e.g.
// after the caller evaluated the prompt itself), then samples, reports and evaluates tokens until
// the generation finishes. `cancel`, when given, is checked before each token (e.g. set by a
// signal handler). The sampler's repetition history starts from all of the session's tokens.
GenerationResult generate(Session& session, std::span<const int32_t> prompt, const GenerationOptions& options,
                          const GenerationCallback& on_step = {}, const std::atomic<bool>* cancel = nullptr);

}  // namespace silica
