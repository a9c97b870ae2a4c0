// The HTTP routes of silica-server on a cpp-httplib server: the OpenAI endpoints, tokenize and
// detokenize, health, metrics and the chat page, with the API key check and JSON error bodies.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "apps/server/completion_request.h"
#include "apps/server/metrics.h"
#include "apps/server/scheduler.h"
#include "silica/engine.h"
#include "silica/model.h"

namespace httplib {
class Server;
}

namespace silica::server {

struct ServerConfig {
    std::string model_id;  // what /v1/models lists and requests may name
    std::string api_key;   // empty: no key needed
    size_t max_body_bytes = 8u << 20;
    RequestLimits limits;
    std::chrono::seconds request_timeout{600};
    bool lookup = false;  // requests that do not say: speculative decoding by n-gram lookup
    bool draft_model = false;  // a draft model is loaded: requests that do not say speculate with it
    int draft_max = 8;    // requests that do not say: most tokens proposed per pass
};

// Everything the handlers share. The model, engine and scheduler are set once loading is done
// (then `ready`); until then the model routes answer 503.
struct ServerState {
    ServerConfig config;
    Metrics metrics;
    std::shared_ptr<Model> model;
    std::unique_ptr<Engine> engine;
    std::shared_ptr<Model> draft_model;  // --draft-model, else null
    std::unique_ptr<Engine> draft_engine;
    std::unique_ptr<Scheduler> scheduler;  // declared last: destroyed before the engines it drives
    std::atomic<bool> ready{false};
    std::atomic<bool> draining{false};  // SIGTERM: new requests get 503
    int64_t created = 0;                // unix time the server started
};

void install_routes(httplib::Server& http, ServerState& state);

// Constant-time comparison of the Authorization header's bearer token with the key.
bool bearer_matches(const std::string& authorization_header, const std::string& key);

}  // namespace silica::server
