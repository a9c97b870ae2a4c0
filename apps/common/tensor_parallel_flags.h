// --tp and --tp-timeout, shared by the apps that load a model (infer, bench): tensor parallelism
// over MPI, every rank of `mpirun -np R app --tp ...` holding 1/R of the model (LoadOptions::
// tensor_parallel). Every rank runs the same command on the same inputs; rank 0 alone prints.
// Header-only: each app's CMake target compiles only its own folder.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>

#include "silica/model.h"

namespace silica::app {

struct TensorParallelFlags {
    bool enabled = false;
    double timeout_s = 120.0;
};

inline void add_tensor_parallel_flags(CLI::App& app, TensorParallelFlags& flags) {
    app.add_flag("--tp", flags.enabled,
                 "tensor parallelism: run as one rank of `mpirun -np R`, each rank holding 1/R of every layer");
    app.add_option("--tp-timeout", flags.timeout_s,
                   "--tp: seconds a rank waits for the others in an exchange before aborting the job")
        ->check(CLI::PositiveNumber);
}

inline void apply_tensor_parallel_flags(const TensorParallelFlags& flags, LoadOptions& options) {
    options.tensor_parallel = flags.enabled;
    options.tp_timeout_s = flags.timeout_s;
}

// Every rank computes the same output: ranks other than 0 send their standard output nowhere.
// (Their standard error stays: an error one rank alone meets must be seen.)
inline void print_on_first_rank_only(const Model& model) {
    if (model.tp_rank() != 0 && !std::freopen("/dev/null", "w", stdout)) std::fclose(stdout);
}

}  // namespace silica::app
