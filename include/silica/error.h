// The one exception type Silica throws. Its message is a single line fit for "error: <message>".
#pragma once
#include <stdexcept>
#include <string>

namespace silica {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown when an allocation the engine needs cannot be satisfied (so apps can say so plainly).
class OutOfMemory : public Error {
public:
    explicit OutOfMemory(const std::string& message) : Error(message) {}
};

}  // namespace silica
