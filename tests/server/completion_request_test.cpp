// parse_completion_request: OpenAI's fields, defaults, and a 400 naming the field for each defect.
#include <catch2/catch.hpp>

#include "apps/server/api_error.h"
#include "apps/server/completion_request.h"

using namespace silica::server;

namespace {

CompletionRequest chat(const std::string& body, const RequestLimits& limits = {}) {
    return parse_completion_request(body, Endpoint::ChatCompletions, limits);
}
CompletionRequest completion(const std::string& body, const RequestLimits& limits = {}) {
    return parse_completion_request(body, Endpoint::Completions, limits);
}

// The ApiError a body raises: its status and param, and that the message mentions `words`.
void check_rejected(Endpoint endpoint, const std::string& body, const std::string& param, const std::string& words) {
    INFO(body);
    try {
        parse_completion_request(body, endpoint, {});
        FAIL("accepted");
    } catch (const ApiError& e) {
        CHECK(e.status == 400);
        CHECK(e.type == "invalid_request_error");
        CHECK(e.param == param);
        CHECK_THAT(e.what(), Catch::Contains(words));
    }
}

}  // namespace

TEST_CASE("request: a chat request with every field", "[server]") {
    const auto r = chat(R"({"model":"m","messages":[{"role":"system","content":"Be brief."},
        {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]},
        {"role":"assistant","content":null}],
        "max_completion_tokens":7,"temperature":0.5,"top_p":0.9,"top_k":5,"min_p":0.1,"seed":-3,
        "stop":["a","b"],"n":2,"stream":true,"stream_options":{"include_usage":true},"logprobs":true,
        "top_logprobs":3,"presence_penalty":0.5,"frequency_penalty":-1,"user":"u","unknown_field":{"x":1},
        "reasoning_effort":"high","ignore_eos":true,"lookup":true,"draft_max":5})");
    CHECK(r.model == "m");
    REQUIRE(r.messages.size() == 3);
    CHECK(r.messages[0].role == "system");
    CHECK(r.messages[1].content == "Hi there");
    CHECK(r.messages[2].content.empty());
    CHECK(r.max_tokens == 7);
    CHECK(r.sampling.temperature == 0.5f);
    CHECK(r.sampling.top_p == 0.9f);
    CHECK(r.sampling.top_k == 5);
    CHECK(r.sampling.min_p == 0.1f);
    CHECK(r.seed_given);
    CHECK(r.sampling.seed == static_cast<uint64_t>(int64_t{-3}));
    CHECK(r.stop == std::vector<std::string>{"a", "b"});
    CHECK(r.n == 2);
    CHECK(r.stream);
    CHECK(r.include_usage);
    CHECK(r.logprobs);
    CHECK(r.top_logprobs == 3);
    CHECK(r.sampling.presence_penalty == 0.5f);
    CHECK(r.sampling.frequency_penalty == -1.0f);
    CHECK(r.reasoning_effort == "high");
    CHECK(r.ignore_eos);
    CHECK(r.lookup == true);
    CHECK(r.draft_max == 5);
}

TEST_CASE("request: OpenAI's defaults", "[server]") {
    const auto r = chat(R"({"messages":[{"role":"user","content":"x"}]})");
    CHECK(!r.max_tokens);
    CHECK(r.sampling.temperature == 1.0f);
    CHECK(r.sampling.top_p == 1.0f);
    CHECK(r.sampling.top_k == 0);
    CHECK(r.sampling.min_p == 0.0f);
    CHECK(r.sampling.repeat_penalty == 1.0f);
    CHECK(!r.seed_given);
    CHECK(r.n == 1);
    CHECK(!r.stream);
    CHECK(!r.logprobs);
    CHECK(r.stop.empty());
    CHECK(!r.lookup);  // the server's --lookup and --draft-max decide
    CHECK(!r.draft_max);
    // null means absent
    const auto q = chat(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":null,"stop":null,"temperature":null})");
    CHECK(!q.max_tokens);
    CHECK(q.sampling.temperature == 1.0f);
}

TEST_CASE("request: completions prompts as text or token ids, and legacy logprobs", "[server]") {
    CHECK(completion(R"({"prompt":"Hello"})").prompt == "Hello");
    CHECK(completion(R"({"prompt":["Hello"]})").prompt == "Hello");
    const auto t = completion(R"({"prompt":[1,2,3],"logprobs":2,"stop":"\n"})");
    CHECK(t.prompt_is_tokens);
    CHECK(t.prompt_tokens == std::vector<int32_t>{1, 2, 3});
    CHECK(t.logprobs);
    CHECK(t.top_logprobs == 2);
    CHECK(t.stop == std::vector<std::string>{"\n"});
    CHECK(completion(R"({"prompt":[[4,5]]})").prompt_tokens == std::vector<int32_t>{4, 5});
    CHECK(completion(R"({"prompt":""})").prompt.empty());
}

TEST_CASE("request: each defect is a 400 naming its field", "[server]") {
    const Endpoint C = Endpoint::ChatCompletions, P = Endpoint::Completions;
    const std::string msgs = R"("messages":[{"role":"user","content":"x"}])";
    check_rejected(C, "", "", "not valid JSON");
    check_rejected(C, "{\"messages\":", "", "not valid JSON");
    check_rejected(C, "[1,2]", "", "must be a JSON object");
    check_rejected(C, std::string("{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"), "", "UTF-8");
    check_rejected(C, std::string(40, '[') + std::string(40, ']'), "", "nested too deeply");
    check_rejected(C, "{}", "messages", "required");
    check_rejected(C, R"({"messages":[]})", "messages", "non-empty");
    check_rejected(C, R"({"messages":[1]})", "messages[0]", "object");
    check_rejected(C, R"({"messages":[{"role":"tool","content":"x"}]})", "messages[0].role", "not supported");
    check_rejected(C, R"({"messages":[{"content":"x"}]})", "messages[0].role", "string");
    check_rejected(C, R"({"messages":[{"role":"user","content":5}]})", "messages[0].content", "string");
    check_rejected(C, R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "messages[0].content", "text");
    check_rejected(C, "{" + msgs + R"(,"model":3})", "model", "string");
    check_rejected(C, "{" + msgs + R"(,"max_tokens":"5"})", "max_tokens", "integer");
    check_rejected(C, "{" + msgs + R"(,"max_tokens":0})", "max_tokens", "between");
    check_rejected(C, "{" + msgs + R"(,"max_tokens":2.5})", "max_tokens", "integer");
    check_rejected(C, "{" + msgs + R"(,"max_tokens":18446744073709551615})", "max_tokens", "too large");
    check_rejected(C, "{" + msgs + R"(,"temperature":3})", "temperature", "between");
    check_rejected(C, "{" + msgs + R"(,"temperature":"hot"})", "temperature", "number");
    check_rejected(C, "{" + msgs + R"(,"top_p":-0.1})", "top_p", "between");
    check_rejected(C, "{" + msgs + R"(,"presence_penalty":2.5})", "presence_penalty", "between");
    check_rejected(C, "{" + msgs + R"(,"n":0})", "n", "between");
    check_rejected(C, "{" + msgs + R"(,"n":9})", "n", "between");
    check_rejected(C, "{" + msgs + R"(,"stream":"yes"})", "stream", "boolean");
    check_rejected(C, "{" + msgs + R"(,"stop":["a","b","c","d","e"]})", "stop", "at most 4");
    check_rejected(C, "{" + msgs + R"(,"stop":[""]})", "stop", "empty");
    check_rejected(C, "{" + msgs + R"(,"stop":5})", "stop", "string");
    check_rejected(C, "{" + msgs + R"(,"top_logprobs":2})", "top_logprobs", "requires 'logprobs'");
    check_rejected(C, "{" + msgs + R"(,"logprobs":true,"top_logprobs":21})", "top_logprobs", "between");
    check_rejected(C, "{" + msgs + R"(,"reasoning_effort":"max"})", "reasoning_effort", "low");
    check_rejected(C, "{" + msgs + R"(,"stream_options":true})", "stream_options", "object");
    check_rejected(P, "{}", "prompt", "required");
    check_rejected(P, R"({"prompt":5})", "prompt", "string or an array");
    check_rejected(P, R"({"prompt":["a","b"]})", "prompt", "one prompt per request");
    check_rejected(P, R"({"prompt":[-1]})", "prompt", "out of range");
    check_rejected(P, R"({"prompt":[1.5]})", "prompt", "string or an array");
    check_rejected(P, R"({"prompt":"x","logprobs":6})", "logprobs", "between");
}

TEST_CASE("request: limits bound messages and n", "[server]") {
    RequestLimits limits;
    limits.max_messages = 2;
    limits.max_n = 3;
    CHECK_THROWS_AS(chat(R"({"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"user","content":"c"}]})", limits),
                    ApiError);
    CHECK(chat(R"({"messages":[{"role":"user","content":"a"}],"n":3})", limits).n == 3);
    CHECK_THROWS_AS(chat(R"({"messages":[{"role":"user","content":"a"}],"n":4})", limits), ApiError);
}

TEST_CASE("request: the speculation proposer from \"draft\", \"lookup\" and the server's defaults", "[server]") {
    const auto none = completion(R"({"prompt":"x"})");
    CHECK(!none.draft);
    CHECK(choose_proposer(none, false, false) == Proposer::None);
    CHECK(choose_proposer(none, true, false) == Proposer::Lookup);
    CHECK(choose_proposer(none, false, true) == Proposer::DraftModel);  // a draft model is the default
    const auto off = completion(R"({"prompt":"x","draft":false,"lookup":true})");
    CHECK(choose_proposer(off, false, true) == Proposer::Lookup);
    const auto on = completion(R"({"prompt":"x","draft":true})");
    CHECK(choose_proposer(on, false, true) == Proposer::DraftModel);
    auto rejected = [](const CompletionRequest& r, bool lookup_default, bool draft_loaded, const std::string& param) {
        try {
            choose_proposer(r, lookup_default, draft_loaded);
            FAIL("accepted");
        } catch (const ApiError& e) {
            CHECK(e.status == 400);
            CHECK(e.param == param);
        }
    };
    rejected(on, false, false, "draft");  // no draft model loaded
    rejected(completion(R"({"prompt":"x","lookup":true})"), false, true, "lookup");  // both proposers
    check_rejected(Endpoint::Completions, R"({"prompt":"x","draft":1})", "draft", "draft");
}
