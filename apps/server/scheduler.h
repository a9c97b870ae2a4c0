// Continuous batching: one thread drives the Engine. Each step is one Engine::decode over
//   - one token of every running choice (every stream advances every step), and
//   - the next chunk of prompts still being prefilled, while the step's token budget lasts,
// so a long prompt never stalls the running streams. Jobs wait in a bounded queue for slots (a
// slot is one sequence; a job with n choices takes n); a full queue is refused (503). A prompt's
// chunks start at multiples of `prefill_chunk`, whatever else shares the step, so a request's
// logits do not depend on the load (the engine's batch invariance does the rest). A job with
// n > 1 prefills once and forks its sequence n - 1 times (shared KV blocks).
// A choice that speculates puts its pending token and up to k proposals in the step, keeps the
// proposals the target agrees with (Generation::step_proposed: the same text as without them) and
// truncates the rest from its sequence. Proposals come from n-gram lookup over the choice's text,
// or from a draft model: a second engine where each drafting choice owns a sequence, run before
// the target's step (apps/server/draft_proposals.h).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "apps/server/draft_proposals.h"
#include "apps/server/job.h"
#include "apps/server/metrics.h"
#include "silica/engine.h"

namespace silica::server {

struct SchedulerOptions {
    int parallel = 4;             // sequences at once
    int queue_size = 64;          // jobs waiting for slots
    int64_t step_tokens = 512;    // tokens per step, decode rows included (a prompt chunk always fits one)
    int64_t prefill_chunk = 256;  // a multiple of 32
    // Speculation by n-gram lookup (Job::lookup_max > 0): the adaptive draft length's cost of one
    // more verified token, in steps (AdaptiveDraftLength::cost_per_token), and its off time.
    double verify_cost_per_token = 0.1;
    int off_tokens = 32;
    // Speculation with the draft engine (Job::draft_model_max > 0): propose only tokens the draft
    // gives at least this probability; one proposal's cost in target steps
    // (AdaptiveDraftLength::proposal_cost).
    float draft_p_min = 0.5f;
    double draft_cost_per_token = 0.0;
};

class Scheduler {
public:
    // The engines and tokenizer must outlive the scheduler; nothing else may use the engines.
    // `draft`: a draft model's engine (same vocabulary) for jobs with draft_model_max > 0, or null.
    Scheduler(Engine& engine, const Tokenizer& tokenizer, const SchedulerOptions& options, Metrics& metrics,
              Engine* draft = nullptr);
    ~Scheduler();  // shutdown()

    enum class Submit { Accepted, QueueFull, ShuttingDown };
    Submit submit(std::shared_ptr<Job> job);
    // Stops accepting, lets running and queued jobs finish for up to `grace`, then ends the rest
    // with an Error event (503) and Done, and joins the thread.
    void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(0));

private:
    struct Choice;
    struct Running;
    void loop();
    void step(std::list<Running>& running);
    int proposals_wanted(const Job& job, Choice& c, int k_max);  // the adaptive k for this step
    void propose(const Job& job, Choice& c);  // n-gram lookup proposals after c.next, into c.pass
    // Sets up c's draft sequence and adds c to this step's draft round (false: c skips this step).
    bool want_draft(Running& r, size_t index, std::vector<DraftProposals::Want>& wants);
    void release(Choice& c);  // frees c's sequences in both engines
    void finish_job(Running& r);
    void fail_job(Running& r, int status, const std::string& type, const std::string& code, const std::string& message);
    void publish_gauges(const std::list<Running>& running);

    Engine& engine_;
    Engine* draft_;
    std::unique_ptr<DraftProposals> draft_proposals_;  // with a draft engine
    const Tokenizer& tokenizer_;
    SchedulerOptions options_;
    Metrics& metrics_;

    std::mutex mutex_;  // guards queue_ and stopping_
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::condition_variable idle_;
    bool accepting_ = true;
    bool stopping_ = false;
    bool idle_now_ = true;
    uint64_t steps_ = 0;
    std::thread thread_;
};

}  // namespace silica::server
