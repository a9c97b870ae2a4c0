#include <catch2/catch.hpp>

#include "kernels/isa.h"
#include "include/silica/error.h"  // tests do not get include/ on their path (see report)

using namespace silica::kernels;

TEST_CASE("isa names round-trip and unknown names are rejected", "[isa]") {
    for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) CHECK(isa_from_name(isa_name(isa)) == isa);
    CHECK_THROWS_AS(isa_from_name("sse4"), silica::Error);
    CHECK_THROWS_AS(isa_from_name("AVX2"), silica::Error);
    CHECK_THROWS_AS(isa_from_name(""), silica::Error);
}

TEST_CASE("active isa never exceeds the detected one; tests can lower it", "[isa]") {
    reset_isa_for_testing();
    CHECK(active_isa() <= detected_isa());
    if (detected_avx512_bf16()) CHECK(detected_isa() == Isa::avx512);
    for (int i = 0; i <= static_cast<int>(detected_isa()); ++i) {
        set_isa_for_testing(static_cast<Isa>(i));
        CHECK(active_isa() == static_cast<Isa>(i));
        CHECK(active_avx512_bf16() == (static_cast<Isa>(i) == Isa::avx512 && detected_avx512_bf16()));
    }
    if (detected_isa() == Isa::avx512) {
        set_isa_for_testing(Isa::avx512, /*allow_bf16=*/false);
        CHECK_FALSE(active_avx512_bf16());
    } else {
        CHECK_THROWS_AS(set_isa_for_testing(Isa::avx512), silica::Error);
    }
    reset_isa_for_testing();
    CHECK(active_isa() <= detected_isa());
}
