// UTF-8 well-formedness rules shared by validation, the streaming decoder and the tokenizer
// (Unicode Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace silica::tokenizer {

// Length of the sequence a lead byte starts (1..4), or 0 when the byte cannot start one.
inline int utf8_sequence_length(uint8_t lead) {
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) return 3;
    if (lead >= 0xF0 && lead <= 0xF4) return 4;
    return 0;
}

// Whether `byte` may follow `lead` at position `index` (1..3) of a sequence.
inline bool utf8_continuation_ok(uint8_t lead, int index, uint8_t byte) {
    if (index == 1) {
        switch (lead) {
            case 0xE0: return byte >= 0xA0 && byte <= 0xBF;  // no overlong 3-byte forms
            case 0xED: return byte >= 0x80 && byte <= 0x9F;  // no surrogates
            case 0xF0: return byte >= 0x90 && byte <= 0xBF;  // no overlong 4-byte forms
            case 0xF4: return byte >= 0x80 && byte <= 0x8F;  // nothing above U+10FFFF
            default: break;
        }
    }
    return byte >= 0x80 && byte <= 0xBF;
}

// How many bytes at the start of `s` form a well-formed prefix of the sequence begun by s[0]
// (1 for a lone ASCII byte). Equal to utf8_sequence_length(s[0]) when the sequence is complete.
inline int utf8_valid_prefix(std::string_view s) {
    const auto lead = static_cast<uint8_t>(s[0]);
    const int need = utf8_sequence_length(lead);
    if (need == 0) return 0;
    int have = 1;
    while (have < need && have < static_cast<int>(s.size()) &&
           utf8_continuation_ok(lead, have, static_cast<uint8_t>(s[have])))
        ++have;
    return have;
}

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace silica::tokenizer
