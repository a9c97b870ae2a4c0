// A one-line progress bar on stderr, drawn only when stderr is a terminal (so logs and pipes
// stay clean).
#pragma once
#include <string>

namespace silica::bench {

class ProgressBar {
public:
    ProgressBar();  // enabled when stderr is a terminal
    // Redraws the bar: "<label> [#####.....] done/total".
    void update(const std::string& label, int done, int total);
    // Clears the line (call before printing anything else to stderr).
    void clear();
    bool enabled() const { return enabled_; }

private:
    bool enabled_ = false;
    bool drawn_ = false;
};

}  // namespace silica::bench
