// libFuzzer entry point for silica-server's request parser (apps/server/completion_request.cpp):
// any body must either parse or throw ApiError with status 400. Anything else (a crash, a
// sanitizer report, another exception type, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "apps/server/api_error.h"
#include "apps/server/completion_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    for (auto endpoint : {silica::server::Endpoint::ChatCompletions, silica::server::Endpoint::Completions}) {
        try {
            const auto r = silica::server::parse_completion_request(body, endpoint, {});
            volatile size_t sink = r.messages.size() + r.prompt.size() + r.prompt_tokens.size() + r.stop.size();
            (void)sink;
        } catch (const silica::server::ApiError& e) {
            if (e.status != 400) std::abort();
        }
    }
    return 0;
}
