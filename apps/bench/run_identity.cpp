#include "apps/bench/run_identity.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "silica/error.h"

namespace silica::bench {
namespace {

// Runs a shell command and returns its first output line (trailing newline removed), or "" if it
// failed.
std::string first_line_of(const std::string& command) {
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return "";
    std::array<char, 256> buffer{};
    std::string line;
    if (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) line = buffer.data();
    while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
    }
    const int status = pclose(pipe);
    if (status != 0) return "";
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return line;
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string format_utc(std::chrono::system_clock::time_point t, const char* pattern) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, pattern, &utc);
    return text;
}

}  // namespace

HeaderHash hash_file_header(const std::string& path, uint64_t header_bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::vector<char> bytes(static_cast<size_t>(std::min(header_bytes, kMaxHeaderHashBytes)));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    const auto got = static_cast<size_t>(in.gcount());
    if (in.bad()) throw Error(path + ": read failed");
    HeaderHash h;
    h.bytes_hashed = got;
    h.xxh3_hex = fmt::format("{:016x}", static_cast<unsigned long long>(XXH3_64bits(bytes.data(), got)));
    return h;
}

std::string git_revision() {
#ifdef SILICA_GIT_REVISION
    return SILICA_GIT_REVISION;
#else
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return "unknown";
    const std::string dir = shell_quote(exe.parent_path().string());
    const std::string revision = first_line_of("git -C " + dir + " rev-parse --short=12 HEAD 2>/dev/null");
    if (revision.empty()) return "unknown";
    const std::string changes =
        first_line_of("git -C " + dir + " status --porcelain --untracked-files=no 2>/dev/null");
    return changes.empty() ? revision : revision + "-dirty";
#endif
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) { return format_utc(t, "%Y-%m-%dT%H:%M:%SZ"); }

std::string compact_utc(std::chrono::system_clock::time_point t) { return format_utc(t, "%Y%m%dT%H%M%SZ"); }

}  // namespace silica::bench
