#include "silica/session_file.h"

#include <xxhash.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

#include "cache/byte_io.h"
#include "cache/kv_snapshot.h"
#include "cache/zlib_codec.h"
#include "engine/model_impl.h"
#include "engine/session_impl.h"
#include "silica/error.h"
#include "silica/model.h"

namespace silica {

namespace {
constexpr char kMagic[8] = {'S', 'I', 'L', 'I', 'C', 'A', 'S', 'S'};
constexpr uint32_t kVersion = 2;  // 2: KV snapshots carry a warm tier per layer
constexpr uint64_t kHeaderBytes = 8 + 4 + 8 + 4 + 8 * 3;

std::string hex(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}
}  // namespace

void save_session_file(const Session& session, const std::string& path) {
    const Session::Impl& I = session.impl();
    std::vector<uint8_t> payload;
    const std::span<const int32_t> history = I.history();
    const int64_t n_past = I.n_past();
    payload.reserve(16 + history.size() * sizeof(int32_t) + I.model->params().n_vocab * sizeof(float));
    cache::ByteWriter p(payload);
    p.put<int64_t>(n_past);
    p.put_bytes(history.data(), history.size() * sizeof(int32_t));
    const int64_t n_vocab = I.model->params().n_vocab;
    const bool has_logits = I.n_logit_rows > 0;
    p.put<int64_t>(has_logits ? n_vocab : 0);
    if (has_logits) p.put_bytes(session.logits().data(), n_vocab * sizeof(float));
    const cache::KvSnapshot snapshot = cache::capture_snapshot(I.kv(), 0, n_past, n_past);
    cache::write_snapshot(snapshot, p);

    const uint32_t planes = static_cast<uint32_t>(snapshot.byte_planes());
    const std::vector<uint8_t> compressed = cache::zlib_compress(payload, 1, static_cast<int>(planes));
    std::vector<uint8_t> header;
    header.reserve(kHeaderBytes);
    cache::ByteWriter f(header);
    f.put_bytes(kMagic, sizeof kMagic);
    f.put<uint32_t>(kVersion);
    f.put<uint64_t>(I.model->fingerprint());
    f.put<uint32_t>(planes);
    f.put<uint64_t>(payload.size());
    f.put<uint64_t>(compressed.size());
    f.put<uint64_t>(XXH3_64bits(compressed.data(), compressed.size()));

    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(header.data()), static_cast<std::streamsize>(header.size()));
        out.write(reinterpret_cast<const char*>(compressed.data()), static_cast<std::streamsize>(compressed.size()));
        if (!out.flush()) throw Error(path + ": cannot write the session file");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw Error(path + ": cannot write the session file");
    }
}

void load_session_file(Session& session, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open the session file");
    const std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    session.reset();
    Session::Impl& I = session.impl();

    cache::ByteReader header(file, path);
    if (file.size() < kHeaderBytes || std::memcmp(header.take(sizeof kMagic), kMagic, sizeof kMagic) != 0)
        throw Error(path + ": not a Silica session file");
    if (const uint32_t v = header.get<uint32_t>(); v != kVersion)
        throw Error(path + ": unsupported session file version " + std::to_string(v));
    const uint64_t fingerprint = header.get<uint64_t>();
    if (fingerprint != I.model->fingerprint())
        throw Error(path + ": session was saved with a different model (fingerprint " + hex(fingerprint) +
                    ", this model " + hex(I.model->fingerprint()) + ")");
    const uint32_t planes = header.get<uint32_t>();
    if (planes != 1 && planes != 2) throw Error(path + ": bad byte-plane count " + std::to_string(planes));
    const uint64_t raw_size = header.get<uint64_t>();
    const uint64_t compressed_size = header.get<uint64_t>();
    const uint64_t checksum = header.get<uint64_t>();
    if (compressed_size != header.remaining()) throw Error(path + ": truncated or oversized session file");
    const uint8_t* compressed = header.take(compressed_size);
    if (XXH3_64bits(compressed, compressed_size) != checksum) throw Error(path + ": checksum mismatch (corrupt file)");
    // zlib cannot expand more than ~1032:1; anything claiming more is corrupt, not a reason to allocate.
    if (raw_size > compressed_size * 1032 + 64) throw Error(path + ": corrupt payload size");
    const std::vector<uint8_t> payload = cache::zlib_decompress({compressed, compressed_size}, raw_size, path,
                                                                  static_cast<int>(planes));

    cache::ByteReader p(payload, path);
    const int64_t n_tokens = p.get<int64_t>();
    if (n_tokens < 0 || static_cast<uint64_t>(n_tokens) > p.remaining() / sizeof(int32_t))
        throw Error(path + ": bad token count");
    if (n_tokens > I.n_ctx())
        throw Error(path + ": the session holds " + std::to_string(n_tokens) + " tokens but the context holds " +
                    std::to_string(I.n_ctx()) + " (raise --ctx-size)");
    std::vector<int32_t> tokens(static_cast<size_t>(n_tokens));
    std::memcpy(tokens.data(), p.take(n_tokens * sizeof(int32_t)), n_tokens * sizeof(int32_t));
    const int64_t n_vocab = I.model->params().n_vocab;
    for (int32_t t : tokens)
        if (t < 0 || t >= n_vocab) throw Error(path + ": token id " + std::to_string(t) + " is out of range");
    const int64_t n_logits = p.get<int64_t>();
    if (n_logits != 0 && n_logits != n_vocab) throw Error(path + ": logits do not match the vocabulary");
    std::vector<float> logits(static_cast<size_t>(n_logits));
    if (n_logits) std::memcpy(logits.data(), p.take(n_logits * sizeof(float)), n_logits * sizeof(float));

    cache::KvCache& kv = I.kv();
    const cache::KvSnapshot snapshot = cache::read_snapshot(p, kv.layout());
    if (snapshot.begin != 0 || snapshot.end != n_tokens) throw Error(path + ": KV positions do not match the tokens");
    if (p.remaining() != 0) throw Error(path + ": unexpected bytes after the KV cache");
    kv.clear();  // no blocks or tiers left from before: they follow from the restored positions alone
    cache::restore_snapshot(kv, snapshot);

    I.set_restored_tokens(std::move(tokens));
    I.restored_logits = std::move(logits);
    I.n_logit_rows = n_logits ? 1 : 0;
}

}  // namespace silica
