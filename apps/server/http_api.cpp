#include "apps/server/http_api.h"

#include <httplib.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "apps/server/api_error.h"
#include "apps/server/chat_prompt.h"
#include "apps/server/job.h"
#include "apps/server/openai_format.h"
#include "apps/server/chat_page_html.h"
#include "silica/error.h"
#include "silica/tokenizer.h"

namespace silica::server {
namespace {

using json = nlohmann::json;

constexpr const char* kJson = "application/json";

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status;
    res.set_content(error_body(e), kJson);
}

std::string today_utc() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &utc);
    return buf;
}

std::string random_id(const char* prefix) {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    static const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string id = prefix;
    for (int i = 0; i < 24; ++i) id += digits[rng() % 36];
    return id;
}

uint64_t random_seed() {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    return rng();
}

void require_ready(const ServerState& s) {
    if (s.draining) throw ApiError(503, "server_error", "the server is shutting down", "shutting_down");
    if (!s.ready) throw ApiError(503, "server_error", "the model is still loading", "loading");
}

json parse_body(const std::string& body) {
    if (auto bad = find_invalid_utf8(body)) throw invalid_request("request body is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
    try {
        json j = json::parse(body);
        if (!j.is_object()) throw invalid_request("request body must be a JSON object");
        return j;
    } catch (const json::exception& e) {
        throw invalid_request(std::string("request body is not valid JSON: ") + e.what());
    }
}

// The prompt tokens of a request, checked against the vocabulary and the context.
std::vector<int32_t> prompt_tokens(const ServerState& s, const CompletionRequest& r) {
    const Tokenizer& tok = s.model->tokenizer();
    std::vector<int32_t> ids;
    if (r.endpoint == Endpoint::ChatCompletions) {
        ids = chat_prompt_tokens(tok, r, today_utc());
    } else if (r.prompt_is_tokens) {
        for (int32_t t : r.prompt_tokens)
            if (t >= tok.n_vocab())
                throw invalid_request("'prompt' has token id " + std::to_string(t) + "; the vocabulary has " +
                                          std::to_string(tok.n_vocab()), "prompt");
        ids = r.prompt_tokens;
    } else {
        ids = tok.encode(r.prompt, /*parse_special=*/true);
    }
    if (ids.empty()) {  // an empty prompt starts from the beginning-of-text token, as OpenAI's does
        const int32_t start = tok.bos_id() >= 0 ? tok.bos_id() : tok.eot_id() >= 0 ? tok.eot_id() : tok.eos_id();
        if (start < 0) throw invalid_request("'prompt' is empty and the model has no beginning-of-text token", "prompt");
        ids.push_back(start);
    }
    const int64_t n_ctx = s.engine->n_ctx();
    if (static_cast<int64_t>(ids.size()) >= n_ctx)
        throw ApiError(400, "invalid_request_error",
                       "the prompt is " + std::to_string(ids.size()) + " tokens; the context holds " + std::to_string(n_ctx) +
                           " (at least one must stay free for the answer)",
                       "context_length_exceeded", r.endpoint == Endpoint::ChatCompletions ? "messages" : "prompt");
    return ids;
}

std::shared_ptr<Job> make_job(const ServerState& s, const CompletionRequest& r, std::vector<int32_t> prompt) {
    auto job = std::make_shared<Job>();
    GenerationOptions g;
    g.max_tokens = r.max_tokens.value_or(-1);
    g.sampling = r.sampling;
    if (!r.seed_given) g.sampling.seed = random_seed();
    g.stop_strings = r.stop;
    g.harmony = r.endpoint == Endpoint::ChatCompletions;
    g.stop_at_end_of_generation = !r.ignore_eos;
    g.logprobs = r.logprobs;
    g.top_logprobs = r.top_logprobs;
    try {
        for (int i = 0; i < r.n; ++i) {
            GenerationOptions gi = g;
            gi.sampling.seed = g.sampling.seed + static_cast<uint64_t>(i);
            job->choices.emplace_back(s.model->tokenizer(), gi, prompt);
        }
    } catch (const Error& e) {
        throw invalid_request(e.what());
    }
    job->prompt = std::move(prompt);
    const int k = r.draft_max.value_or(s.config.draft_max);
    switch (choose_proposer(r, s.config.lookup, s.config.draft_model)) {
        case Proposer::None: break;
        case Proposer::Lookup: job->lookup_max = k; break;
        case Proposer::DraftModel: job->draft_model_max = k; break;
    }
    job->deadline = Clock::now() + s.config.request_timeout;
    return job;
}

void submit(ServerState& s, const std::shared_ptr<Job>& job) {
    switch (s.scheduler->submit(job)) {
        case Scheduler::Submit::Accepted: return;
        case Scheduler::Submit::QueueFull:
            throw ApiError(503, "server_error", "the server is busy: every slot and the whole queue are taken; retry later", "overloaded");
        case Scheduler::Submit::ShuttingDown: throw ApiError(503, "server_error", "the server is shutting down", "shutting_down");
    }
}

Usage usage_of(const Job& job) {
    Usage u;
    u.prompt_tokens = static_cast<int64_t>(job.prompt.size());
    u.cached_tokens = job.cached_tokens;
    u.completion_tokens = job.completion_tokens;
    return u;
}

void handle_completion(ServerState& s, const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
    const char* name = endpoint == Endpoint::ChatCompletions ? "chat" : "completions";
    try {
        require_ready(s);
        const CompletionRequest r = parse_completion_request(req.body, endpoint, s.config.limits);
        if (!r.model.empty() && r.model != s.config.model_id)
            throw ApiError(404, "invalid_request_error", "the model '" + r.model + "' does not exist; this server has '" + s.config.model_id + "'",
                           "model_not_found", "model");
        std::shared_ptr<Job> job = make_job(s, r, prompt_tokens(s, r));
        ResponseHeader header;
        header.endpoint = endpoint;
        header.id = random_id(endpoint == Endpoint::ChatCompletions ? "chatcmpl-" : "cmpl-");
        header.created = static_cast<int64_t>(std::time(nullptr));
        header.model = s.config.model_id;
        header.logprobs = r.logprobs;
        submit(s, job);

        if (!r.stream) {
            ResponseAccumulator acc(header, s.model->tokenizer(), r.n);
            std::optional<JobEvent> error;
            for (JobEvent e;;) {
                if (!job->pop(e, std::chrono::milliseconds(1000))) continue;
                if (e.kind == JobEvent::Kind::Done) break;
                if (e.kind == JobEvent::Kind::Error) error = e;
                else acc.step(e.choice, e.step);
            }
            if (error) throw ApiError(error->status, error->type, error->message, error->code);
            res.set_content(acc.body(usage_of(*job)), kJson);
            s.metrics.request_finished(name, 200);
            return;
        }

        // Streamed: the provider runs on this connection's thread after the headers are sent.
        auto encoder = std::make_shared<StreamEncoder>(header, s.model->tokenizer(), r.n);
        const bool include_usage = r.include_usage;
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream",
            [&s, job, encoder, include_usage, name](size_t, httplib::DataSink& sink) {
                auto idle_since = Clock::now();
                for (JobEvent e;;) {
                    if (!job->pop(e, std::chrono::milliseconds(200))) {
                        // An SSE comment now and then finds out whether a silent client is still there.
                        if (Clock::now() - idle_since > std::chrono::seconds(2)) {
                            if (!sink.write(": keep-alive\n\n", 14)) {
                                job->cancelled = true;
                                s.metrics.request_finished(name, 499);  // nginx's "client closed request"
                                return false;
                            }
                            idle_since = Clock::now();
                        }
                        continue;
                    }
                    std::string out;
                    if (e.kind == JobEvent::Kind::Step) out = encoder->step(e.choice, e.step);
                    else if (e.kind == JobEvent::Kind::Error) out = encoder->error(e.status, e.type, e.code, e.message);
                    else out = encoder->done(usage_of(*job), include_usage);
                    if (!out.empty() && !sink.write(out.data(), out.size())) {
                        job->cancelled = true;  // the client went away: the scheduler frees its slots
                        s.metrics.request_finished(name, 499);  // nginx's "client closed request"
                        return false;
                    }
                    if (e.kind == JobEvent::Kind::Done) {
                        sink.done();
                        s.metrics.request_finished(name, 200);
                        return true;
                    }
                    idle_since = Clock::now();
                }
            },
            [job](bool success) {
                if (!success) job->cancelled = true;
            });
    } catch (const ApiError& e) {
        send_error(res, e);
        s.metrics.request_finished(name, e.status);
    }
}

json models_list(const ServerState& s) {
    json model = {{"id", s.config.model_id}, {"object", "model"}, {"created", s.created}, {"owned_by", "silica"}};
    if (s.ready) {
        const ModelParams& p = s.model->params();
        model["meta"] = {{"architecture", p.architecture}, {"n_ctx", s.engine->n_ctx()}, {"n_ctx_train", p.n_ctx_train},
                         {"n_vocab", p.n_vocab}, {"file_size", s.model->file_size()}};
    }
    return {{"object", "list"}, {"data", json::array({model})}};
}

void handle_tokenize(ServerState& s, const httplib::Request& req, httplib::Response& res) {
    require_ready(s);
    const json body = parse_body(req.body);
    auto c = body.find("content");
    if (c == body.end() || !c->is_string()) throw invalid_request("'content' must be a string", "content");
    bool special = false;
    if (auto a = body.find("parse_special"); a != body.end()) {
        if (!a->is_boolean()) throw invalid_request("'parse_special' must be a boolean", "parse_special");
        special = a->get<bool>();
    }
    const std::vector<int32_t> ids = s.model->tokenizer().encode(c->get<std::string>(), special);
    res.set_content(dump(json{{"tokens", ids}}), kJson);
}

void handle_detokenize(ServerState& s, const httplib::Request& req, httplib::Response& res) {
    require_ready(s);
    const json body = parse_body(req.body);
    auto t = body.find("tokens");
    if (t == body.end() || !t->is_array()) throw invalid_request("'tokens' must be an array of token ids", "tokens");
    const Tokenizer& tok = s.model->tokenizer();
    std::vector<int32_t> ids;
    for (const json& v : *t) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= tok.n_vocab())
            throw invalid_request("'tokens' must hold token ids from 0 to " + std::to_string(tok.n_vocab() - 1), "tokens");
        ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    res.set_content(dump(json{{"content", tok.decode(ids)}}), kJson);
}

// Wraps a handler: ApiError and silica::Error become JSON error responses.
template <class F>
httplib::Server::Handler guarded(ServerState& s, const char* name, F f) {
    return [&s, name, f](const httplib::Request& req, httplib::Response& res) {
        try {
            f(req, res);
            s.metrics.request_finished(name, res.status < 0 ? 200 : res.status);
        } catch (const ApiError& e) {
            send_error(res, e);
            s.metrics.request_finished(name, e.status);
        } catch (const Error& e) {
            send_error(res, invalid_request(e.what()));
            s.metrics.request_finished(name, 400);
        }
    };
}

}  // namespace

bool bearer_matches(const std::string& header, const std::string& key) {
    const std::string prefix = "Bearer ";
    if (header.size() != prefix.size() + key.size() || header.compare(0, prefix.size(), prefix) != 0) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < key.size(); ++i) diff |= static_cast<unsigned char>(header[prefix.size() + i] ^ key[i]);
    return diff == 0;
}

void install_routes(httplib::Server& http, ServerState& s) {
    http.set_payload_max_length(s.config.max_body_bytes);
    http.set_keep_alive_max_count(1000);
    http.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
        if (s.config.api_key.empty() || req.path == "/health" || (req.path == "/" && req.method == "GET"))
            return httplib::Server::HandlerResponse::Unhandled;
        if (bearer_matches(req.get_header_value("Authorization"), s.config.api_key))
            return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, ApiError(401, "authentication_error", "missing or wrong API key (send 'Authorization: Bearer <key>')",
                                 "invalid_api_key"));
        s.metrics.request_finished("auth", 401);
        return httplib::Server::HandlerResponse::Handled;
    });
    // Errors httplib itself produces (unknown route, body too large, unreadable request) get
    // OpenAI error bodies too; responses that already have one keep it.
    http.set_error_handler(httplib::Server::HandlerWithResponse([&s](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (res.status == 404)
            res.set_content(error_body(404, "invalid_request_error", "unknown route: " + req.method + " " + req.path, "not_found"), kJson);
        else if (res.status == 413)
            res.set_content(error_body(413, "invalid_request_error", "request body too large (the limit is " +
                                                                          std::to_string(s.config.max_body_bytes) + " bytes)",
                                       "body_too_large"),
                            kJson);
        else
            res.set_content(error_body(res.status, "invalid_request_error", "bad request"), kJson);
        return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(error_body(500, "server_error", what), kJson);
    });

    http.Get("/health", [&s](const httplib::Request&, httplib::Response& res) {
        if (s.ready && !s.draining) {
            res.set_content(R"({"status":"ok"})", kJson);
        } else {
            res.status = 503;
            res.set_content(s.draining ? R"({"status":"shutting down"})" : R"({"status":"loading"})", kJson);
        }
    });
    http.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
        res.set_content(s.metrics.render(), "text/plain; version=0.0.4");
    });
    for (const char* path : {"/v1/models", "/models"})
        http.Get(path, guarded(s, "models", [&s](const httplib::Request&, httplib::Response& res) {
                     res.set_content(dump(models_list(s)), kJson);
                 }));
    for (const char* path : {"/v1/chat/completions", "/chat/completions"})
        http.Post(path, [&s](const httplib::Request& req, httplib::Response& res) {
            handle_completion(s, req, res, Endpoint::ChatCompletions);
        });
    for (const char* path : {"/v1/completions", "/completions"})
        http.Post(path, [&s](const httplib::Request& req, httplib::Response& res) {
            handle_completion(s, req, res, Endpoint::Completions);
        });
    http.Post("/tokenize", guarded(s, "tokenize", [&s](const httplib::Request& req, httplib::Response& res) {
                  handle_tokenize(s, req, res);
              }));
    http.Post("/detokenize", guarded(s, "detokenize", [&s](const httplib::Request& req, httplib::Response& res) {
                  handle_detokenize(s, req, res);
              }));
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(kChatPageHtml, "text/html; charset=utf-8");
    });
}

}  // namespace silica::server
