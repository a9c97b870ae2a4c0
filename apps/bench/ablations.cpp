#include "apps/bench/ablations.h"

#include <algorithm>
#include <sstream>

#include "silica/error.h"

namespace silica::bench {

const std::vector<std::string>& ablation_names() {
    static const std::vector<std::string> names = {"kv-cache", "kv-quant", "simd", "repack", "prefetch", "numa"};
    return names;
}

std::vector<std::string> parse_ablation_list(const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        const size_t first = item.find_first_not_of(" \t");
        const size_t last = item.find_last_not_of(" \t");
        item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
        if (item.empty()) continue;
        const auto& known = ablation_names();
        if (std::find(known.begin(), known.end(), item) == known.end()) {
            std::string all;
            for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
            throw Error("unknown ablation '" + item + "' (known: " + all + ")");
        }
        if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
    }
    if (out.empty()) throw Error("--ablate needs at least one name");
    return out;
}

}  // namespace silica::bench
