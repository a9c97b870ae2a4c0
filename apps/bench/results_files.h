// The files a bench run leaves in --out-dir: results.jsonl (one JSON object per run, appended)
// and results.csv (one row per run under a fixed header). Both are documented in docs/BENCH.md.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace silica::bench {

// The fixed CSV header (no trailing newline).
const std::string& csv_header();
// One CSV row (no trailing newline) for a run's JSON object; fields quoted per RFC 4180 where
// needed, missing figures left empty.
std::string csv_row(const nlohmann::json& run);

// Appends `entry` as one line to <dir>/<file_name> (creating the folder); returns the file's path.
// Throws silica::Error on I/O failure.
std::string append_json_line(const std::string& dir, const std::string& file_name, const nlohmann::json& entry);

// Appends `run` to <dir>/results.jsonl and a row to <dir>/results.csv (creating the folder and
// the header as needed). Returns a warning (empty if none): a results.csv whose header differs
// from csv_header() is left untouched. Throws silica::Error on I/O failure.
std::string append_results(const std::string& dir, const nlohmann::json& run);

// The JSON objects in `path`: a JSON-lines file (blank lines skipped), a single JSON object, or
// a JSON array of objects. Throws silica::Error naming the file and line on bad input.
std::vector<nlohmann::json> read_json_entries(const std::string& path);

// Whether two run objects are of the same model file: same header hash, file size and name.
bool same_model(const nlohmann::json& a, const nlohmann::json& b);

// A name safe in a file name: letters, digits, '-', '_' and '.' kept, the rest become '_'.
std::string file_name_safe(const std::string& text);

}  // namespace silica::bench
