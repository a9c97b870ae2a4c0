// Finds stop strings in streamed text: text that could still be the beginning of a stop string
// is held back until the next piece shows whether it is one, so nothing released is ever a part
// of a stop string that has to be taken back.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace silica::generation {

class StopStringMatcher {
public:
    // Throws silica::Error for an empty or non-UTF-8 stop string.
    explicit StopStringMatcher(std::vector<std::string> stop_strings);

    struct Released {
        std::string text;      // safe to show now
        bool stopped = false;  // a stop string matched: `text` ends just before it
    };
    // The next piece of text (valid UTF-8). After a match the rest is dropped and further pushes
    // release nothing.
    Released push(std::string_view text);
    // At the end of the stream: the text held back (it was not a stop string after all).
    std::string flush();

private:
    std::vector<std::string> stops_;
    std::string held_;  // released text waits here until no stop string can start in it
    bool stopped_ = false;
};

}  // namespace silica::generation
