#include <catch2/catch.hpp>

#include "engine/parallel/tensor_split.h"
#include "silica/error.h"

using silica::parallel::Slice;
using silica::parallel::TensorSplit;

// Every item goes to exactly one rank, in rank order, shares cut at whole units and differing by
// at most one unit.
TEST_CASE("tensor split: shares cover everything once, in whole units", "[tp]") {
    for (int ranks = 1; ranks <= 8; ++ranks)
        for (int64_t unit : {1, 16, 32, 256})
            for (int64_t n : {int64_t{8}, int64_t{64}, int64_t{2880}, int64_t{50257}, int64_t{201088}}) {
                if ((n + unit - 1) / unit < ranks) continue;
                int64_t next = 0, smallest = n, largest = 0;
                for (int r = 0; r < ranks; ++r) {
                    const Slice s = TensorSplit{r, ranks}.share(n, unit, "x");
                    INFO("n " << n << " unit " << unit << " ranks " << ranks << " rank " << r);
                    CHECK(s.begin == next);
                    CHECK(s.begin % unit == 0);
                    CHECK((s.end % unit == 0 || s.end == n));
                    next = s.end;
                    smallest = std::min(smallest, s.size());
                    largest = std::max(largest, s.size());
                }
                CHECK(next == n);
                CHECK(largest - smallest <= unit);
            }
}

TEST_CASE("tensor split: the shapes of the supported models", "[tp]") {
    // GPT-OSS-20B over 2 ranks: 4 of 8 key/value heads, 1440 of 2880 expert features (45 MXFP4 blocks).
    CHECK(TensorSplit{1, 2}.share(8, 1, "heads").begin == 4);
    CHECK(TensorSplit{0, 2}.share(2880, 32, "features").size() == 1440);
    // Over 4 ranks the features are 90 blocks: 23, 22, 23, 22 blocks.
    CHECK(TensorSplit{0, 4}.share(2880, 32, "features").size() == 22 * 32);
    CHECK(TensorSplit{3, 4}.share(2880, 32, "features").end == 2880);
    // GPT-2 1558M's 25 heads over 2 ranks: 12 and 13.
    CHECK(TensorSplit{0, 2}.share(25, 1, "heads").size() == 12);
}

TEST_CASE("tensor split: too few items for the ranks is an error naming them", "[tp]") {
    try {
        (void)TensorSplit{0, 4}.share(2, 1, "gpt-oss's key/value heads");
        FAIL("no error");
    } catch (const silica::Error& e) {
        CHECK(std::string(e.what()).find("gpt-oss's key/value heads") != std::string::npos);
        CHECK(std::string(e.what()).find("4 ranks") != std::string::npos);
    }
}
