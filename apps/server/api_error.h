// An error the server answers with an OpenAI error object:
//   {"error": {"message": "...", "type": "invalid_request_error", "param": "...", "code": "..."}}
// and the matching HTTP status.
#pragma once
#include <stdexcept>
#include <string>

namespace silica::server {

struct ApiError : std::runtime_error {
    int status;
    std::string type;   // "invalid_request_error", "authentication_error", "server_error", ...
    std::string code;   // "context_length_exceeded", "model_not_found", ... (may be empty)
    std::string param;  // the request field at fault (may be empty)

    ApiError(int status_, std::string type_, const std::string& message, std::string code_ = {}, std::string param_ = {})
        : std::runtime_error(message), status(status_), type(std::move(type_)), code(std::move(code_)), param(std::move(param_)) {}
};

// 400 invalid_request_error about one field.
inline ApiError invalid_request(const std::string& message, std::string param = {}, std::string code = {}) {
    return ApiError(400, "invalid_request_error", message, std::move(code), std::move(param));
}

}  // namespace silica::server
