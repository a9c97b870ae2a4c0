// One request in flight: what the HTTP handler asks for, and the channel through which the
// scheduler's thread hands back generated steps. The handler's thread waits on pop(); the
// scheduler's thread push()es. `cancelled` goes the other way (the client went away).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "silica/generation.h"

namespace silica::server {

using Clock = std::chrono::steady_clock;

struct JobEvent {
    enum class Kind {
        Step,   // choice `choice` produced `step` (its last step has step.finished())
        Error,  // the job failed: status, type, message (no more events but Done)
        Done,   // every choice has finished; usage is final
    };
    Kind kind = Kind::Step;
    int choice = 0;
    GenerationStep step;
    int status = 0;
    std::string type, code, message;
};

struct Job {
    // Set by the handler before submitting.
    std::vector<int32_t> prompt;
    // One per choice (n of them), built by the handler so that bad options are its 400; choice i
    // samples with its own seed. The scheduler's thread uses them once the job is admitted.
    std::vector<Generation> choices;
    // > 0: each choice speculates by n-gram lookup, proposing up to this many tokens per pass.
    int lookup_max = 0;
    // > 0 (and lookup_max 0): each choice speculates with the server's draft model, proposing up
    // to this many tokens per pass.
    int draft_model_max = 0;
    Clock::time_point submitted = Clock::now();
    Clock::time_point deadline = Clock::time_point::max();

    std::atomic<bool> cancelled{false};       // set by the handler: the scheduler frees the slots
    std::atomic<int64_t> cached_tokens{0};    // prompt tokens taken from the prefix cache
    std::atomic<int64_t> completion_tokens{0};

    void push(JobEvent event) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            events_.push_back(std::move(event));
        }
        ready_.notify_one();
    }
    // The next event, waiting up to `timeout`; false when none came.
    bool pop(JobEvent& out, std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return false;
        out = std::move(events_.front());
        events_.pop_front();
        return true;
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<JobEvent> events_;
};

}  // namespace silica::server
