// Prints what each generation step releases: the answer to stdout as it streams; with
// --show-reasoning, harmony reasoning (analysis, commentary) to stderr, dimmed on a terminal.
#pragma once
#include "silica/generation.h"

namespace silica::app {

class StepPrinter {
public:
    StepPrinter(bool show_reasoning, bool stderr_is_terminal);
    void print(const GenerationStep& step) const;

private:
    bool show_reasoning_, dim_;
};

}  // namespace silica::app
