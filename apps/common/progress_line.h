// A one-line percentage on stderr ("\rNAME:  42.0%") for commands that write big files. The line
// is ended when the object goes away, also when an exception leaves the scope, so an "error: ..."
// line that follows starts on a line of its own.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

namespace silica::app {

class ProgressLine {
public:
    ProgressLine(std::string name, bool show) : name_(std::move(name)), show_(show) {}
    ~ProgressLine() {
        if (shown_) std::fputc('\n', stderr);
    }
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    void update(double fraction) {
        if (!show_) return;
        std::fprintf(stderr, "\r%s: %5.1f%%", name_.c_str(), 100.0 * fraction);
        shown_ = true;
    }
    std::function<void(double)> callback() {
        return [this](double f) { update(f); };
    }

private:
    std::string name_;
    bool show_ = false;
    bool shown_ = false;
};

}  // namespace silica::app
