#include "apps/bench/prompt_tokens.h"

#include <algorithm>

#include "silica/error.h"

namespace silica::bench {

std::vector<int32_t> fixed_prompt_tokens(int64_t length, int64_t n_vocab) {
    if (n_vocab < 1) throw Error("the model has an empty vocabulary");
    if (length < 0) throw Error("negative prompt length");
    const int64_t m = std::min<int64_t>(n_vocab, 32768);
    std::vector<int32_t> ids(static_cast<size_t>(length));
    for (int64_t i = 0; i < length; ++i) ids[static_cast<size_t>(i)] = static_cast<int32_t>((13 + 7919 * i) % m);
    return ids;
}

std::vector<int32_t> repeat_to_length(const std::vector<int32_t>& tokens, int64_t length) {
    if (tokens.empty()) throw Error("the prompt text encodes to no tokens");
    std::vector<int32_t> ids;
    ids.reserve(static_cast<size_t>(std::max<int64_t>(length, 0)));
    for (int64_t i = 0; i < length; ++i) ids.push_back(tokens[static_cast<size_t>(i) % tokens.size()]);
    return ids;
}

}  // namespace silica::bench
