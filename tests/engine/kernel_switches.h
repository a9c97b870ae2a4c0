// Model tests that must check a weight type bit for bit switch off the kernels that are documented
// exceptions to batch invariance (AMX-BF16's split-precision F16 GEMM, oneDNN's F32/BF16 GEMMs)
// for one scope. The destructor switches them back (AMX to the detected choice, oneDNN on), also
// when an assertion throws in between, so later test cases in the same binary see the defaults.
#pragma once
#include "kernels/amx.h"
#include "kernels/matmul_onednn.h"

namespace silica::test {

class ExceptionKernelsOff {
public:
    ExceptionKernelsOff(bool amx, bool onednn) : amx_(amx), onednn_(onednn) {
        if (amx_) kernels::set_amx_for_testing(false);
        if (onednn_) kernels::set_onednn_enabled(false);
    }
    ~ExceptionKernelsOff() {
        if (amx_) kernels::reset_amx_for_testing();
        if (onednn_) kernels::set_onednn_enabled(true);
    }
    ExceptionKernelsOff(const ExceptionKernelsOff&) = delete;
    ExceptionKernelsOff& operator=(const ExceptionKernelsOff&) = delete;

private:
    bool amx_, onednn_;
};

}  // namespace silica::test
