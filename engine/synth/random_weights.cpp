#include "engine/synth/random_weights.h"

namespace silica::synth {
namespace {

uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed, std::string_view stream_name) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a of the name, mixed with the seed
    for (unsigned char c : stream_name) h = (h ^ c) * 0x100000001b3ull;
    uint64_t x = seed ^ h;
    for (auto& s : s_) s = splitmix64(x);
}

// xoshiro256**
uint64_t Rng::next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

float Rng::symmetric() {
    return static_cast<float>(static_cast<int64_t>(next() >> 40) - (int64_t{1} << 23)) * (1.0f / (1 << 23));
}

}  // namespace silica::synth
