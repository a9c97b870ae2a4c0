#include "apps/bench/results_files.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "silica/error.h"

namespace silica::bench {
namespace {

using nlohmann::json;

// A column: its header name and how to read it from the run's JSON (a JSON pointer).
struct Column {
    const char* name;
    const char* pointer;
};

const std::vector<Column>& columns() {
    static const std::vector<Column> c = {
        {"timestamp", "/timestamp"},
        {"git_revision", "/git_revision"},
        {"model_name", "/model/name"},
        {"model_architecture", "/model/architecture"},
        {"model_file_size", "/model/file_size"},
        {"model_header_xxh3", "/model/header_xxh3"},
        {"threads", "/threads"},
        {"kv_type", "/kv_type"},
        {"prompt_len", "/prompt_len"},
        {"gen_len", "/gen_len"},
        {"warmup", "/warmup"},
        {"iterations", ""},  // the length of the iterations list, filled in below
        {"prefill_tps_mean", "/summary/prefill_tokens_per_s/mean"},
        {"prefill_tps_median", "/summary/prefill_tokens_per_s/median"},
        {"prefill_tps_stdev", "/summary/prefill_tokens_per_s/stdev"},
        {"prefill_tps_min", "/summary/prefill_tokens_per_s/min"},
        {"prefill_tps_max", "/summary/prefill_tokens_per_s/max"},
        {"decode_tps_mean", "/summary/decode_tokens_per_s/mean"},
        {"decode_tps_median", "/summary/decode_tokens_per_s/median"},
        {"decode_tps_stdev", "/summary/decode_tokens_per_s/stdev"},
        {"decode_tps_min", "/summary/decode_tokens_per_s/min"},
        {"decode_tps_max", "/summary/decode_tokens_per_s/max"},
        {"ttft_ms_mean", "/summary/ttft_ms/mean"},
        {"decode_latency_ms_p50", "/summary/decode_latency_ms/p50"},
        {"decode_latency_ms_p90", "/summary/decode_latency_ms/p90"},
        {"decode_latency_ms_p99", "/summary/decode_latency_ms/p99"},
        {"rss_after_load_mb", "/memory/rss_after_load_mb"},
        {"rss_after_first_iteration_mb", "/memory/rss_after_first_iteration_mb"},
        {"peak_rss_mb", "/peak_rss_mb"},
        {"kv_cache_bytes", "/memory/kv_cache_bytes"},
        {"cpu_model", "/system/cpu_model"},
        {"isa", "/system/isa"},
        {"memory_bandwidth_gb_s", "/system/memory_bandwidth_gb_s"},
        {"weight_bytes_per_token", "/roofline/weight_bytes_per_token"},
        {"roofline_decode_tps", "/roofline/decode_tokens_per_s_ceiling"},
        {"roofline_fraction", "/roofline/decode_fraction_of_roofline"},
    };
    return c;
}

std::string csv_field(const json& value) {
    if (value.is_null()) return "";
    std::string text;
    if (value.is_string()) {
        text = value.get<std::string>();
    } else if (value.is_number_float()) {
        std::ostringstream s;
        s.precision(10);
        s << value.get<double>();
        text = s.str();
    } else {
        text = value.dump();
    }
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

}  // namespace

const std::string& csv_header() {
    static const std::string header = [] {
        std::string h;
        for (const auto& c : columns()) h += (h.empty() ? "" : ",") + std::string(c.name);
        return h;
    }();
    return header;
}

std::string csv_row(const json& run) {
    std::string row;
    bool first = true;
    for (const auto& c : columns()) {
        json value;
        if (std::string(c.name) == "iterations") {
            if (run.contains("iterations") && run["iterations"].is_array()) value = run["iterations"].size();
        } else {
            const json::json_pointer pointer(c.pointer);
            if (run.contains(pointer)) value = run[pointer];
        }
        if (!first) row += ',';
        first = false;
        row += csv_field(value);
    }
    return row;
}

std::string append_json_line(const std::string& dir, const std::string& file_name, const json& entry) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(dir + ": cannot create the results folder: " + ec.message());
    const std::string path = (std::filesystem::path(dir) / file_name).string();
    std::ofstream out(path, std::ios::app | std::ios::binary);
    if (!out) throw Error(path + ": cannot open for appending");
    out << entry.dump() << '\n';
    if (!out.flush()) throw Error(path + ": write failed");
    return path;
}

std::string append_results(const std::string& dir, const json& run) {
    append_json_line(dir, "results.jsonl", run);

    const std::string csv = (std::filesystem::path(dir) / "results.csv").string();
    bool write_header = true;
    {
        std::ifstream in(csv, std::ios::binary);
        std::string first_line;
        if (in && std::getline(in, first_line)) {
            if (!first_line.empty() && first_line.back() == '\r') first_line.pop_back();
            if (first_line != csv_header())
                return csv + " has a different header (an older bench version?): row not added; move the file away";
            write_header = false;
        }
    }
    std::ofstream out(csv, std::ios::app | std::ios::binary);
    if (!out) throw Error(csv + ": cannot open for appending");
    if (write_header) out << csv_header() << '\n';
    out << csv_row(run) << '\n';
    if (!out.flush()) throw Error(csv + ": write failed");
    return "";
}

std::vector<json> read_json_entries(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();

    // A single JSON document (an object, maybe pretty-printed, or an array of objects)?
    json whole = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!whole.is_discarded()) {
        if (whole.is_object()) return {whole};
        if (whole.is_array()) {
            std::vector<json> entries;
            for (auto& e : whole) {
                if (!e.is_object()) throw Error(path + ": the array holds something other than JSON objects");
                entries.push_back(std::move(e));
            }
            return entries;
        }
        throw Error(path + ": not a JSON object, array or JSON-lines file");
    }
    // JSON lines.
    std::vector<json> entries;
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        json entry = json::parse(line, nullptr, false);
        if (entry.is_discarded() || !entry.is_object())
            throw Error(path + ":" + std::to_string(number) + ": not a JSON object");
        entries.push_back(std::move(entry));
    }
    return entries;
}

bool same_model(const json& a, const json& b) {
    const json::json_pointer hash("/model/header_xxh3"), size("/model/file_size"), name("/model/name");
    for (const auto& p : {hash, size, name})
        if (!a.contains(p) || !b.contains(p) || a[p] != b[p]) return false;
    return true;
}

std::string file_name_safe(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '_' || c == '.';
        out += keep ? static_cast<char>(c) : '_';
    }
    if (out.empty() || out == "." || out == "..") out = "model";
    return out;
}

}  // namespace silica::bench
