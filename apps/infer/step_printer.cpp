#include "apps/infer/step_printer.h"

#include <cstdio>

namespace silica::app {

StepPrinter::StepPrinter(bool show_reasoning, bool stderr_is_terminal)
    : show_reasoning_(show_reasoning), dim_(stderr_is_terminal) {}

void StepPrinter::print(const GenerationStep& step) const {
    if (step.plain_text_fallback)
        std::fprintf(stderr, "silica: the model's output is not in the harmony format; showing it as plain text\n");
    if (show_reasoning_) {
        const char* on = dim_ ? "\033[2m" : "";
        const char* off = dim_ ? "\033[0m" : "";
        if (step.reasoning_started) std::fprintf(stderr, "%s[%s]%s ", on, step.reasoning_channel.c_str(), off);
        if (!step.reasoning.empty()) std::fprintf(stderr, "%s%s%s", on, step.reasoning.c_str(), off);
        if (step.reasoning_ended) std::fputs("\n", stderr);
    }
    std::fputs(step.text.c_str(), stdout);
    std::fflush(stdout);
}

}  // namespace silica::app
