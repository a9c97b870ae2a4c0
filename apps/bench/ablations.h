// --ablate: the optimizations the bench can switch off, and what "off" means for each.
#pragma once
#include <string>
#include <vector>

namespace silica::bench {

// Every name --ablate accepts, in the order they are reported.
const std::vector<std::string>& ablation_names();

// Splits "a,b,c" (spaces around names ignored, duplicates dropped); throws silica::Error naming
// an unknown entry or an empty list.
std::vector<std::string> parse_ablation_list(const std::string& list);

}  // namespace silica::bench
