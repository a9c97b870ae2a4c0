// Reader of the gzip-compressed vocabulary files in models/tokenizers (format in its README).
#include <zlib.h>

#include <charconv>
#include <memory>

#include "silica/error.h"
#include "silica/tokenizer.h"

namespace silica {
namespace {

std::string read_gzip_file(const std::string& path) {
    std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
    if (!file) throw Error(path + ": cannot open vocabulary file");
    std::string data;
    char chunk[1 << 16];
    for (;;) {
        const int n = gzread(file.get(), chunk, sizeof chunk);
        if (n < 0) throw Error(path + ": corrupt compressed vocabulary file");
        if (n == 0) break;
        data.append(chunk, static_cast<size_t>(n));
    }
    return data;
}

// Walks the lines of the file, with errors that name the file and line.
class LineReader {
public:
    LineReader(const std::string& path, std::string_view data) : path_(path), data_(data) {}

    std::string_view next() {
        if (pos_ >= data_.size()) fail("unexpected end of file");
        const size_t end = data_.find('\n', pos_);
        if (end == std::string_view::npos) fail("last line has no line break");
        std::string_view line = data_.substr(pos_, end - pos_);
        pos_ = end + 1;
        ++line_no_;
        return line;
    }
    // "key value" -> value, checking the key.
    std::string_view field(std::string_view key) {
        std::string_view line = next();
        if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ')
            fail("expected '" + std::string(key) + " ...'");
        return line.substr(key.size() + 1);
    }
    int64_t integer(std::string_view text, int64_t lo, int64_t hi) {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi)
            fail("bad number '" + std::string(text) + "'");
        return v;
    }
    bool at_end() const { return pos_ == data_.size(); }
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(path_ + ": line " + std::to_string(line_no_) + ": " + what);
    }

private:
    const std::string& path_;
    std::string_view data_;
    size_t pos_ = 0;
    size_t line_no_ = 0;
};

}  // namespace

BpeVocab load_vocab_file(const std::string& path) {
    const std::string data = read_gzip_file(path);
    LineReader in(path, data);
    if (in.next() != "silica-bpe-vocab 1") in.fail("not a silica-bpe-vocab 1 file");
    BpeVocab v;
    v.model = std::string(in.field("model"));
    v.pre = std::string(in.field("pre"));
    const int64_t max_id = INT32_MAX;
    for (auto [key, id] : {std::pair{"bos", &v.bos_id}, {"eos", &v.eos_id}, {"eot", &v.eot_id},
                           {"pad", &v.pad_id}, {"unk", &v.unk_id}})
        *id = static_cast<int32_t>(in.integer(in.field(key), -1, max_id));
    const std::string_view add_bos = in.field("add_bos");
    if (add_bos != "0" && add_bos != "1" && add_bos != "absent") in.fail("add_bos must be 0, 1 or absent");
    v.add_bos = add_bos == "1";

    const auto n_tokens = static_cast<size_t>(in.integer(in.field("tokens"), 0, max_id));
    v.tokens.reserve(n_tokens);
    v.token_types.reserve(n_tokens);
    for (size_t i = 0; i < n_tokens; ++i) {
        const std::string_view line = in.next();
        const size_t space = line.find(' ');
        if (space == std::string_view::npos) in.fail("expected '<type> <token>'");
        v.token_types.push_back(static_cast<int32_t>(in.integer(line.substr(0, space), 0, 6)));
        v.tokens.emplace_back(line.substr(space + 1));
    }
    const auto n_merges = static_cast<size_t>(in.integer(in.field("merges"), 0, max_id));
    v.merges.reserve(n_merges);
    for (size_t i = 0; i < n_merges; ++i) v.merges.emplace_back(in.next());
    if (in.next() != "end" || !in.at_end()) in.fail("expected 'end' as the last line");
    for (int32_t id : {v.bos_id, v.eos_id, v.eot_id, v.pad_id, v.unk_id})
        if (id >= static_cast<int64_t>(n_tokens)) throw Error(path + ": special token id " + std::to_string(id) + " out of range");
    return v;
}

}  // namespace silica
