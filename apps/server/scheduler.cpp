#include "apps/server/scheduler.h"

#include <algorithm>

#include "silica/error.h"
#include "silica/model.h"
#include "silica/speculative.h"
#include "silica/tokenizer.h"

namespace silica::server {

struct Scheduler::Choice {
    Engine::SequenceId seq = -1;  // -1: freed
    Generation* gen = nullptr;    // the job's Generation for this choice
    int32_t next = -1;            // the sampled token to evaluate in the next step
    bool done = false;
    int64_t generated = 0;
    Clock::time_point last_token;
    // Speculation: `adaptive` with either proposer, else null. n-gram lookup (Job::lookup_max > 0):
    // `lookup`; the draft model (Job::draft_model_max > 0): a sequence in the draft engine, made
    // at the choice's first draft round (-1 before and once freed).
    std::unique_ptr<NgramLookup> lookup;
    std::unique_ptr<AdaptiveDraftLength> adaptive;
    Engine::SequenceId draft_seq = -1;
    bool drafting = false;      // this step's proposals were asked of the draft
    std::vector<int32_t> text;  // the prompt and the generated tokens, the pending one (next) last
    std::vector<int32_t> pass;  // this step's tokens: next, then the proposals
};

struct Scheduler::Running {
    std::shared_ptr<Job> job;
    bool prefilling = true;    // choices[0].seq is being fed the prompt
    bool failed = false;       // fail_job sent its Error and Done
    int64_t prompt_done = 0;   // prompt tokens in choices[0].seq
    std::vector<Choice> choices;
};

Scheduler::Scheduler(Engine& engine, const Tokenizer& tokenizer, const SchedulerOptions& options, Metrics& metrics,
                     Engine* draft)
    : engine_(engine), draft_(draft), tokenizer_(tokenizer), options_(options), metrics_(metrics) {
    if (options_.parallel < 1) throw Error("--parallel must be at least 1");
    if (draft_) {
        const int64_t nt = engine_.model().tokenizer().n_vocab(), nd = draft_->model().tokenizer().n_vocab();
        if (nt != nd)
            throw Error("the draft model's vocabulary (" + std::to_string(nd) + " tokens) differs from the model's (" +
                        std::to_string(nt) + " tokens)");
        draft_proposals_ = std::make_unique<DraftProposals>(*draft_, options_.draft_p_min);
    }
    if (options_.prefill_chunk < 32 || options_.prefill_chunk % 32 != 0) throw Error("the prefill chunk must be a multiple of 32");
    thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { shutdown(); }

Scheduler::Submit Scheduler::submit(std::shared_ptr<Job> job) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!accepting_) return Submit::ShuttingDown;
        if (static_cast<int>(queue_.size()) >= options_.queue_size) return Submit::QueueFull;
        idle_now_ = false;
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return Submit::Accepted;
}

void Scheduler::shutdown(std::chrono::milliseconds grace) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!thread_.joinable()) return;
    accepting_ = false;
    idle_.wait_for(lock, grace, [&] { return idle_now_; });
    stopping_ = true;
    lock.unlock();
    wake_.notify_one();
    thread_.join();
}

void Scheduler::release(Choice& c) {
    if (c.seq >= 0) engine_.free_sequence(c.seq);
    if (c.draft_seq >= 0) draft_->free_sequence(c.draft_seq);
    c.seq = -1;
    c.draft_seq = -1;
}

void Scheduler::finish_job(Running& r) {
    for (Choice& c : r.choices) release(c);
    JobEvent done;
    done.kind = JobEvent::Kind::Done;
    r.job->push(std::move(done));
}

void Scheduler::fail_job(Running& r, int status, const std::string& type, const std::string& code, const std::string& message) {
    r.failed = true;
    JobEvent e;
    e.kind = JobEvent::Kind::Error;
    e.status = status;
    e.type = type;
    e.code = code;
    e.message = message;
    r.job->push(std::move(e));
    finish_job(r);
}

void Scheduler::publish_gauges(const std::list<Running>& running) {
    SchedulerGauges g;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        g.queued_jobs = static_cast<int64_t>(queue_.size());
    }
    g.running_jobs = static_cast<int64_t>(running.size());
    g.active_sequences = engine_.n_sequences();
    const Engine::KvPoolUsage u = engine_.kv_pool_usage();
    g.kv_hot_blocks = u.hot_blocks;
    g.kv_warm_blocks = u.warm_blocks;
    g.kv_shared_blocks = u.shared_blocks;
    g.kv_prefix_cache_blocks = u.prefix_cache_blocks;
    g.kv_blocks_in_sequences = u.hot_blocks + u.warm_blocks - u.prefix_cache_only_blocks;
    g.kv_committed_bytes = u.committed_bytes;
    g.kv_capacity_bytes = u.capacity_bytes;
    g.engine_steps = steps_;
    g.draft_sequences = draft_ ? draft_->n_sequences() : 0;
    metrics_.set_gauges(g);
}

void Scheduler::loop() {
    std::list<Running> running;
    Clock::time_point last_publish{};
    for (;;) {
        std::vector<std::shared_ptr<Job>> admitted;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            if (running.empty() && queue_.empty()) {
                idle_now_ = true;
                idle_.notify_all();
            }
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !running.empty(); });
            if (stopping_) break;
            int used = 0;
            for (const Running& r : running) used += static_cast<int>(r.choices.size());
            // First come, first served: the head waits until its n slots are free.
            while (!queue_.empty()) {
                const std::shared_ptr<Job>& head = queue_.front();
                const int n = static_cast<int>(head->choices.size());
                if (!head->cancelled && Clock::now() <= head->deadline && used + n > options_.parallel) break;
                if (!head->cancelled && Clock::now() <= head->deadline) used += n;
                admitted.push_back(head);
                queue_.pop_front();
            }
        }
        for (std::shared_ptr<Job>& job : admitted) {
            Running r;
            r.job = job;
            if (job->cancelled) {
                metrics_.cancelled();
                finish_job(r);
                continue;
            }
            if (Clock::now() > job->deadline) {
                fail_job(r, 504, "server_error", "timeout", "the request waited in the queue past its deadline");
                continue;
            }
            if (job->draft_model_max > 0 && !draft_) {  // the HTTP layer refuses these (400)
                fail_job(r, 500, "server_error", "internal_error", "draft-model speculation without a draft model");
                continue;
            }
            r.choices.resize(job->choices.size());
            for (size_t i = 0; i < r.choices.size(); ++i) {
                Choice& c = r.choices[i];
                c.gen = &job->choices[i];
                if (job->lookup_max > 0) {
                    const SpeculativeOptions defaults;
                    c.lookup = std::make_unique<NgramLookup>(defaults.min_ngram, defaults.max_ngram, defaults.lookup_max_entries);
                    c.adaptive = std::make_unique<AdaptiveDraftLength>(true, options_.verify_cost_per_token, options_.off_tokens);
                    c.text = job->prompt;
                } else if (job->draft_model_max > 0) {
                    c.adaptive = std::make_unique<AdaptiveDraftLength>(true, options_.verify_cost_per_token, options_.off_tokens,
                                                                       options_.draft_cost_per_token);
                    c.text = job->prompt;
                }
            }
            r.choices[0].seq = engine_.create_sequence();
            r.prompt_done = engine_.adopt_prefix(r.choices[0].seq, job->prompt);
            job->cached_tokens = r.prompt_done;
            metrics_.prompt_tokens(static_cast<int64_t>(job->prompt.size()), r.prompt_done);
            running.push_back(std::move(r));
        }
        if (!running.empty()) step(running);
        // The gauges walk the prefix cache's blocks: at most every 50 ms while busy, and always
        // when the work runs out (so /metrics is exact when the server is idle).
        if (running.empty() || Clock::now() - last_publish > std::chrono::milliseconds(50)) {
            publish_gauges(running);
            last_publish = Clock::now();
        }
    }
    // Shutting down: whatever is left ends with an error.
    std::deque<std::shared_ptr<Job>> left;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        left.swap(queue_);
    }
    for (std::shared_ptr<Job>& job : left) {
        Running r;
        r.job = job;
        running.push_back(std::move(r));
    }
    for (Running& r : running) fail_job(r, 503, "server_error", "shutting_down", "the server is shutting down");
    publish_gauges({});
}

int Scheduler::proposals_wanted(const Job& job, Choice& c, int k_max) {
    // No more proposals than fit in the context and than max_tokens can still use.
    int64_t k = std::min<int64_t>(k_max, engine_.n_ctx() - engine_.n_past(c.seq) - 1);
    if (c.gen->options().max_tokens > 0) k = std::min<int64_t>(k, c.gen->options().max_tokens - c.gen->n_generated());
    if (job.draft_model_max > 0)  // the draft holds the text and k - 1 of its guesses
        k = std::min<int64_t>(k, draft_->n_ctx() - static_cast<int64_t>(c.text.size()) + 1);
    return c.adaptive->choose(static_cast<int>(std::max<int64_t>(k, 0)));
}

bool Scheduler::want_draft(Running& r, size_t index, std::vector<DraftProposals::Want>& wants) {
    Choice& c = r.choices[index];
    const int k = proposals_wanted(*r.job, c, r.job->draft_model_max);
    if (k <= 0) return false;
    if (c.draft_seq < 0) {
        // n > 1: the first choice's draft sequence evaluates the prompt once; the others fork it
        // once it has (their first round then only evaluates where their texts differ).
        const Choice& first = r.choices[0];
        if (index > 0 && first.draft_seq >= 0 && draft_->n_past(first.draft_seq) > 0) {
            c.draft_seq = draft_->fork_sequence(first.draft_seq);
        } else if (index > 0 && first.drafting) {
            return false;  // it is evaluating the prompt now: fork it next step
        } else {
            c.draft_seq = draft_->create_sequence();
        }
    }
    c.drafting = true;
    wants.push_back({c.draft_seq, c.text, k, &c.pass});
    return true;
}

void Scheduler::propose(const Job& job, Choice& c) {
    const int chosen = proposals_wanted(job, c, job.lookup_max);
    if (chosen <= 0) return;
    c.lookup->update(c.text);
    const std::vector<int32_t> proposals = c.lookup->propose(c.text, chosen);
    c.adaptive->offered(chosen, static_cast<int>(proposals.size()));
    c.pass.insert(c.pass.end(), proposals.begin(), proposals.end());
}

void Scheduler::step(std::list<Running>& running) {
    const Clock::time_point now = Clock::now();
    // Requests that ended from outside: the client went away, or the deadline passed.
    for (auto it = running.begin(); it != running.end();) {
        if (it->job->cancelled) {
            metrics_.cancelled();
            finish_job(*it);
            it = running.erase(it);
        } else if (now > it->job->deadline) {
            fail_job(*it, 504, "server_error", "timeout", "the request ran past its deadline");
            it = running.erase(it);
        } else {
            ++it;
        }
    }

    // The step's inputs: one token per running choice, then prompt chunks while the budget lasts.
    struct Role {
        Running* job;
        int choice;  // -1: a prompt chunk of job->choices[0]
        int64_t chunk = 0;
    };
    std::vector<Engine::Input> inputs;
    std::vector<Role> roles;
    std::vector<DraftProposals::Want> wants;
    for (Running& r : running) {
        if (r.prefilling) continue;
        for (size_t k = 0; k < r.choices.size(); ++k) {
            Choice& c = r.choices[k];
            c.drafting = false;
            if (c.done) continue;
            if (engine_.n_past(c.seq) >= engine_.n_ctx()) {  // no room to evaluate the sampled token
                JobEvent e;
                e.choice = static_cast<int>(k);
                e.step = c.gen->stop(FinishReason::ContextFull);
                r.job->push(std::move(e));
                c.done = true;
                release(c);
                continue;
            }
            c.pass.assign(1, c.next);
            if (c.lookup) propose(*r.job, c);
            else if (r.job->draft_model_max > 0) want_draft(r, k, wants);
            roles.push_back({&r, static_cast<int>(k)});
        }
    }
    // The draft's round: its proposals land in the passes of `wants`.
    if (!wants.empty()) {
        try {
            metrics_.draft_passes(draft_proposals_->propose(wants));
        } catch (const std::exception& e) {
            for (Running& r : running) fail_job(r, 500, "server_error", "internal_error", std::string("draft model: ") + e.what());
            running.clear();
            return;
        }
    }
    int64_t decode_rows = 0;
    for (const Role& role : roles) {
        const Choice& c = role.job->choices[static_cast<size_t>(role.choice)];
        inputs.push_back({c.seq, c.pass, c.pass.size() > 1});
        decode_rows += static_cast<int64_t>(c.pass.size());
    }
    int64_t budget = options_.step_tokens - decode_rows;
    bool any_prefill = false;
    for (Running& r : running) {
        if (!r.prefilling) continue;
        const std::vector<int32_t>& prompt = r.job->prompt;
        const int64_t start = r.prompt_done;
        const int64_t end = std::min<int64_t>(static_cast<int64_t>(prompt.size()), (start / options_.prefill_chunk + 1) * options_.prefill_chunk);
        if (any_prefill && end - start > budget) break;  // later prompts wait their turn
        inputs.push_back({r.choices[0].seq, std::span<const int32_t>(prompt.data() + start, static_cast<size_t>(end - start))});
        roles.push_back({&r, -1, end - start});
        budget -= end - start;
        any_prefill = true;
    }

    if (!inputs.empty()) {
        try {
            engine_.decode(inputs);
            ++steps_;
        } catch (const OutOfMemory&) {
            // The KV pool cannot hold this step: the newest request in it gives way.
            Running* victim = roles.back().job;
            fail_job(*victim, 503, "server_error", "kv_cache_full", "the KV cache is full; retry later");
            running.remove_if([&](const Running& r) { return &r == victim; });
            return;
        } catch (const std::exception& e) {
            for (Running& r : running) fail_job(r, 500, "server_error", "internal_error", e.what());
            running.clear();
            return;
        }
    }

    const Clock::time_point after = Clock::now();
    // One generated step of choice k to its job; false when it finished the choice.
    auto emit = [&](Running& r, int k, GenerationStep step) {
        Choice& c = r.choices[static_cast<size_t>(k)];
        JobEvent e;
        e.choice = k;
        e.step = std::move(step);
        if (c.generated == 0) {
            if (k == 0) metrics_.time_to_first_token(std::chrono::duration<double>(after - r.job->submitted).count());
        } else {
            metrics_.inter_token_latency(std::chrono::duration<double>(after - c.last_token).count());
        }
        c.last_token = after;
        ++c.generated;
        ++r.job->completion_tokens;
        metrics_.generated_tokens(1);
        const bool finished = e.step.finished();
        if (finished) {
            c.done = true;
            release(c);
        } else {
            c.next = e.step.token;
            if (c.adaptive) c.text.push_back(c.next);
        }
        r.job->push(std::move(e));
        return !finished;
    };
    auto deliver = [&](Running& r, int k, std::span<const float> logits) {
        emit(r, k, r.choices[static_cast<size_t>(k)].gen->step(logits));
    };
    // Choice k's rows of decode input `input`: its pending token's, then one per proposal.
    auto deliver_pass = [&](Running& r, int k, size_t input) {
        Choice& c = r.choices[static_cast<size_t>(k)];
        const size_t proposals = c.pass.size() - 1;
        if (proposals == 0) {
            // A draft asked for nothing proposed still cost its passes: a failed round. (A lookup
            // without a match, or speculation switched off, costs nothing.)
            if (c.drafting) c.adaptive->empty_round();
            else if (c.adaptive) c.adaptive->plain_step();
            deliver(r, k, engine_.logits(input));
            return;
        }
        // Row j predicts the token after pass[j]: proposal j is kept when the target agrees.
        int checked = 0, accepted = 0;
        bool going = true;
        for (size_t j = 0; j < proposals && going; ++j) {
            const int32_t proposed = c.pass[j + 1];
            GenerationStep step = c.gen->step_proposed(engine_.logits(input, static_cast<int64_t>(j)), proposed);
            const bool kept = step.token == proposed;
            ++checked;
            accepted += kept ? 1 : 0;
            going = emit(r, k, std::move(step)) && kept;
        }
        c.adaptive->verified(checked, accepted);
        metrics_.speculative_pass(checked, accepted);
        // Every proposal kept: the last row gives one more token.
        if (going) emit(r, k, c.gen->step(engine_.logits(input, static_cast<int64_t>(proposals))));
        // The sequence keeps the evaluated tokens that are text: all but the pending one.
        const int64_t keep = static_cast<int64_t>(c.text.size()) - 1;
        if (c.seq >= 0 && engine_.n_past(c.seq) > keep && !engine_.truncate_sequence(c.seq, keep))
            throw Error("speculative decoding: the model's sliding-window cache cannot drop rejected tokens");
    };
    for (size_t i = 0; i < roles.size(); ++i) {
        Running& r = *roles[i].job;
        if (r.failed) continue;
        try {
            if (roles[i].choice >= 0) {
                deliver_pass(r, roles[i].choice, i);
                continue;
            }
            r.prompt_done += roles[i].chunk;
            if (r.prompt_done < static_cast<int64_t>(r.job->prompt.size())) continue;
            r.prefilling = false;
            for (size_t k = 1; k < r.choices.size(); ++k) r.choices[k].seq = engine_.fork_sequence(r.choices[0].seq);
            const std::span<const float> row = engine_.logits(i);
            for (size_t k = 0; k < r.choices.size(); ++k) deliver(r, static_cast<int>(k), row);
        } catch (const std::exception& e) {
            if (!r.failed) fail_job(r, 500, "server_error", "internal_error", e.what());
        }
    }
    for (auto it = running.begin(); it != running.end();) {
        const bool all_done = !it->prefilling && std::all_of(it->choices.begin(), it->choices.end(), [](const Choice& c) { return c.done; });
        if (it->failed) {
            it = running.erase(it);
        } else if (all_done) {
            finish_job(*it);
            it = running.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace silica::server
