// The exit contract every Silica command keeps: 0 on success, 2 for a usage error, 1 for a
// runtime error, each error as one "error: ..." line on stderr (never an uncaught exception).
// It also applies the kernel switches of the environment (apps/common/environment_settings.h).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <new>

#include "apps/common/environment_settings.h"

namespace silica::app {

// parse(): CLI11 parsing plus the command's own flag checks (throwing CLI::ParseError types).
// run(): the command; returns its exit status.
template <class Parse, class Run>
int run_main(CLI::App& app, Parse&& parse, Run&& run) {
    try {
        parse();
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
    try {
        set_kernel_settings(kernel_settings_from_environment());
    } catch (const std::exception& e) {  // only SILICA_ISA can be wrong
        std::fprintf(stderr, "error: SILICA_ISA: %s\n", e.what());
        return 1;
    }
    try {
        return run();
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "error: out of memory\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
    }
    return 1;
}

}  // namespace silica::app
