// bench --tp: what tensor parallelism exchanges per decoded token, measured on one sequence
// decoding after the main workload (the figures of docs/PERFORMANCE.md's tensor-parallel table).
#pragma once
#include <memory>
#include <string>

#include "silica/model.h"
#include "silica/session.h"

namespace silica::bench {

// Decodes `steps` tokens after a 16-token prompt; returns a few report lines (empty without
// tensor parallelism).
std::string tensor_parallel_report(const std::shared_ptr<const Model>& model, const SessionOptions& options,
                                   int steps = 64);

}  // namespace silica::bench
