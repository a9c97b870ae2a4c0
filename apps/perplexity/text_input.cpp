#include "apps/perplexity/text_input.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "silica/error.h"
#include "silica/tokenizer.h"

namespace silica::perplexity {

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open the text file: " + std::strerror(errno));
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) throw Error(path + ": cannot read the text file");
    std::string text = s.str();
    if (const auto bad = find_invalid_utf8(text))
        throw Error(path + ": not valid UTF-8 (byte offset " + std::to_string(*bad) + ")");
    return text;
}

std::vector<int32_t> text_tokens(const Tokenizer& tokenizer, std::string_view text) {
    std::vector<int32_t> tokens;
    if (tokenizer.add_bos() && tokenizer.bos_id() >= 0) tokens.push_back(tokenizer.bos_id());
    const std::vector<int32_t> body = tokenizer.encode(text, false);
    tokens.insert(tokens.end(), body.begin(), body.end());
    return tokens;
}

}  // namespace silica::perplexity
