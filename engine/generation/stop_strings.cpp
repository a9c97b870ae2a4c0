#include "engine/generation/stop_strings.h"

#include <algorithm>

#include "silica/error.h"
#include "silica/tokenizer.h"

namespace silica::generation {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stop_strings) : stops_(std::move(stop_strings)) {
    for (const std::string& s : stops_) {
        if (s.empty()) throw Error("a stop string must not be empty");
        if (find_invalid_utf8(s)) throw Error("a stop string is not valid UTF-8");
    }
}

StopStringMatcher::Released StopStringMatcher::push(std::string_view text) {
    Released out;
    if (stopped_) return out;
    held_ += text;
    // The earliest complete stop string wins. Only the held text can contain one: everything
    // released earlier was checked to be no start of a stop string.
    size_t first = std::string::npos;
    for (const std::string& s : stops_) first = std::min(first, held_.find(s));
    if (first != std::string::npos) {
        out.text = held_.substr(0, first);
        out.stopped = stopped_ = true;
        held_.clear();
        return out;
    }
    // Keep the longest tail of the held text that some stop string starts with. A stop string
    // starts at a character boundary, so what is released stays valid UTF-8.
    size_t keep = 0;
    for (const std::string& s : stops_)
        for (size_t n = std::min(s.size() - 1, held_.size()); n > keep; --n)
            if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
                keep = n;
                break;
            }
    out.text = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
}

std::string StopStringMatcher::flush() {
    std::string rest;
    rest.swap(held_);
    return rest;
}

}  // namespace silica::generation
