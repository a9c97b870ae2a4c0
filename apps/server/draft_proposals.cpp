#include "apps/server/draft_proposals.h"

#include <optional>

#include "engine/generation/draft_proposer.h"

namespace silica::server {

int64_t DraftProposals::propose(std::span<const Want> wants) {
    if (wants.empty()) return 0;
    std::vector<Engine::Input> inputs;
    std::vector<size_t> who;  // want index of each input
    // Catch-up: the draft keeps the longest prefix it shares with the text (its guesses the target
    // rejected are cut), and evaluates the rest. The last token is always evaluated: its logits
    // give the first proposal.
    for (size_t i = 0; i < wants.size(); ++i) {
        const Want& w = wants[i];
        const std::span<const int32_t> have = draft_.tokens(w.seq);
        size_t common = generation::draft_tokens_to_keep(have, w.text);
        if (common < have.size() && !draft_.truncate_sequence(w.seq, static_cast<int64_t>(common))) {
            draft_.reset_sequence(w.seq);  // a sliding-window ring lost the rows: start over
            common = 0;
        }
        inputs.push_back({w.seq, w.text.subspan(common)});
        who.push_back(i);
    }
    std::vector<int> proposed(wants.size(), 0);
    int64_t passes = 0;
    for (;;) {
        draft_.decode(inputs);
        ++passes;
        std::vector<Engine::Input> next;
        std::vector<size_t> next_who;
        for (size_t j = 0; j < inputs.size(); ++j) {
            const Want& w = wants[who[j]];
            const std::optional<int32_t> token = generation::confident_top_token(draft_.logits(j), p_min_);
            if (!token) continue;
            w.out->push_back(*token);
            if (++proposed[who[j]] >= w.k) continue;
            // The proposal is evaluated at the next depth; out is not appended to before then.
            next.push_back({w.seq, std::span<const int32_t>(&w.out->back(), 1)});
            next_who.push_back(who[j]);
        }
        if (next.empty()) return passes;
        inputs.swap(next);
        who.swap(next_who);
    }
}

}  // namespace silica::server
