// UTF-8 validation and the streaming decoder of generated text.
#include "tokenizer/utf8.h"

#include "silica/error.h"
#include "silica/tokenizer.h"

namespace silica {

using tokenizer::kReplacementCharacter;
using tokenizer::utf8_sequence_length;
using tokenizer::utf8_valid_prefix;

std::optional<size_t> find_invalid_utf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        if (static_cast<uint8_t>(text[i]) < 0x80) {  // ASCII fast path
            ++i;
            continue;
        }
        const int need = utf8_sequence_length(static_cast<uint8_t>(text[i]));
        if (need == 0 || utf8_valid_prefix(text.substr(i)) != need) return i;
        i += static_cast<size_t>(need);
    }
    return std::nullopt;
}

void validate_utf8(std::string_view text) {
    if (auto bad = find_invalid_utf8(text)) throw Error("invalid UTF-8 at byte " + std::to_string(*bad));
}

std::string Utf8StreamDecoder::feed(std::string_view bytes) {
    std::string in = std::move(pending_);
    pending_.clear();
    in.append(bytes);
    std::string out;
    out.reserve(in.size());
    size_t i = 0;
    while (i < in.size()) {
        const std::string_view rest = std::string_view(in).substr(i);
        const int need = utf8_sequence_length(static_cast<uint8_t>(rest[0]));
        const int have = utf8_valid_prefix(rest);
        if (need > 0 && have == need) {  // a complete character
            out.append(rest.substr(0, static_cast<size_t>(need)));
            i += static_cast<size_t>(need);
        } else if (need > 0 && static_cast<size_t>(have) == rest.size()) {
            pending_.assign(rest);  // a valid start cut off by the end of the input: wait for more
            break;
        } else {
            // An invalid byte, or a sequence broken by an unexpected byte: one U+FFFD for the
            // maximal valid prefix (Unicode's "maximal subpart" practice), then resume after it.
            out.append(kReplacementCharacter);
            i += static_cast<size_t>(have > 0 ? have : 1);
        }
    }
    return out;
}

std::string Utf8StreamDecoder::flush() {
    if (pending_.empty()) return {};
    pending_.clear();
    return std::string(kReplacementCharacter);
}

}  // namespace silica
