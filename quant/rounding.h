// Float -> integer rounding helpers for the quantizers: exact, branch-free and inlinable (std::round
// is a library call on baseline x86-64, far too slow in a loop run over every weight).
#pragma once

namespace silica {

// Clamps v to [lo, hi]; NaN becomes lo (so the integer conversion that follows is always defined).
// Written as (v > lo ? v : lo) and (v < hi ? v : hi), exactly the semantics of SSE maxss/minss, so
// the compiler emits those instead of unpredictable branches.
inline float clamp_or_low(float v, float lo, float hi) {
    v = v > lo ? v : lo;
    return v < hi ? v : hi;
}

// Nearest integer, ties away from zero (as std::round). v must already be within int range.
inline int round_to_int(float v) {
    const int i = static_cast<int>(v);  // truncates toward zero
    const float frac = v - static_cast<float>(i);  // exact for |v| < 2^24; beyond it frac is 0
    return i + (frac >= 0.5f) - (frac <= -0.5f);
}

// Nearest integer in [lo, hi] to v (NaN -> lo).
inline int round_clamped(float v, int lo, int hi) {
    return round_to_int(clamp_or_low(v, static_cast<float>(lo), static_cast<float>(hi)));
}

}  // namespace silica
