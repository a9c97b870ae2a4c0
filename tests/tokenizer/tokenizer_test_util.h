// Shared fixtures of the tokenizer tests: the two real vocabularies (loaded once) and the
// tiktoken parity corpus of tests/data/tokenizer.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "silica/tokenizer.h"

namespace silica::test {

inline std::string tokenizer_file(const std::string& name) {
    return std::string(SILICA_SOURCE_DIR) + "/models/tokenizers/" + name;
}

inline const Tokenizer& gpt2_tokenizer() {
    static const Tokenizer t(load_vocab_file(tokenizer_file("gpt2.vocab.gz")));
    return t;
}

inline const Tokenizer& harmony_tokenizer() {
    static const Tokenizer t(load_vocab_file(tokenizer_file("o200k_harmony.vocab.gz")));
    return t;
}

struct CorpusCase {
    std::string text;
    std::vector<int32_t> gpt2;
    std::vector<int32_t> o200k;
};

inline std::vector<int32_t> parse_ids(const std::string& field) {
    std::vector<int32_t> ids;
    std::istringstream in(field);
    for (int64_t id; in >> id;) ids.push_back(static_cast<int32_t>(id));
    return ids;
}

inline std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        const char c = s[++i];
        out += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
    }
    return out;
}

// tests/data/tokenizer/corpus.tsv.gz: text \t gpt2 ids \t o200k_base ids (see its README).
inline const std::vector<CorpusCase>& corpus() {
    static const std::vector<CorpusCase> cases = [] {
        const std::string path = std::string(SILICA_TEST_DATA_DIR) + "/tokenizer/corpus.tsv.gz";
        gzFile f = gzopen(path.c_str(), "rb");
        if (!f) throw std::runtime_error("cannot open " + path);
        std::string data;
        char buf[1 << 16];
        for (int n; (n = gzread(f, buf, sizeof buf)) > 0;) data.append(buf, static_cast<size_t>(n));
        gzclose(f);
        std::vector<CorpusCase> out;
        size_t pos = data.find('\n') + 1;  // the first line is a '#' comment; texts may start with '#'
        while (pos < data.size()) {
            size_t end = data.find('\n', pos);
            if (end == std::string::npos) end = data.size();
            const std::string line = data.substr(pos, end - pos);
            pos = end + 1;
            const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
            if (t1 == std::string::npos || t2 == std::string::npos) throw std::runtime_error("bad corpus line");
            out.push_back({unescape(line.substr(0, t1)), parse_ids(line.substr(t1 + 1, t2 - t1 - 1)),
                           parse_ids(line.substr(t2 + 1))});
        }
        return out;
    }();
    return cases;
}

}  // namespace silica::test
