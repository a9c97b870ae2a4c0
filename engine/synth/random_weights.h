// Deterministic pseudo-random weights: every tensor gets its own stream, seeded from the model
// seed and the tensor's name, so files are reproducible whatever order tensors are written in.
#pragma once
#include <cstdint>
#include <string_view>

namespace silica::synth {

class Rng {
public:
    Rng(uint64_t seed, std::string_view stream_name);
    uint64_t next();
    // Uniform in [-1, 1).
    float symmetric();

private:
    uint64_t s_[4];
};

}  // namespace silica::synth
