#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace silica::tokenizer {
namespace {

bool printable_latin1(int b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

// Printable Latin-1 bytes keep their own code point; the other 68 get U+0100.. in byte order.
const std::array<uint32_t, 256>& byte_table() {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        uint32_t next = 256;
        for (int b = 0; b < 256; ++b) t[b] = printable_latin1(b) ? static_cast<uint32_t>(b) : next++;
        return t;
    }();
    return table;
}

// Inverse over the code points U+0000..U+0143 the table uses; -1 elsewhere.
const std::array<int16_t, 324>& code_point_table() {
    static const std::array<int16_t, 324> table = [] {
        std::array<int16_t, 324> t;
        t.fill(-1);
        for (int b = 0; b < 256; ++b) t[byte_table()[b]] = static_cast<int16_t>(b);
        return t;
    }();
    return table;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else {  // the table only uses code points below U+0800
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

}  // namespace

uint32_t byte_to_code_point(uint8_t byte) { return byte_table()[byte]; }

std::optional<std::string> byte_level_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<uint8_t>(text[i]);
        uint32_t cp;
        if (lead < 0x80) {
            cp = lead;
            i += 1;
        } else if (utf8_sequence_length(lead) == 2 && utf8_valid_prefix(text.substr(i)) == 2) {
            cp = ((lead & 0x1Fu) << 6) | (static_cast<uint8_t>(text[i + 1]) & 0x3Fu);
            i += 2;
        } else {
            return std::nullopt;  // 3- and 4-byte characters stand for no byte
        }
        if (cp >= code_point_table().size() || code_point_table()[cp] < 0) return std::nullopt;
        out += static_cast<char>(code_point_table()[cp]);
    }
    return out;
}

std::string byte_level_encode(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) append_utf8(out, byte_table()[static_cast<uint8_t>(c)]);
    return out;
}

}  // namespace silica::tokenizer
