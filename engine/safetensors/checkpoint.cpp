#include "engine/safetensors/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "silica/error.h"

namespace silica::safetensors {
namespace {

namespace fs = std::filesystem;

// The shards an index names, and which tensor each holds.
std::map<std::string, std::string> read_weight_map(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json index;
    try {
        index = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception&) {
        throw Error(path + ": not valid JSON");
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        throw Error(path + ": expected an object with a \"weight_map\" object");
    std::map<std::string, std::string> map;
    for (const auto& [name, shard] : index["weight_map"].items()) {
        // A shard is a file beside the index: no directories, so an index cannot point elsewhere.
        if (!shard.is_string() || shard.get<std::string>().empty() ||
            shard.get<std::string>().find('/') != std::string::npos || shard.get<std::string>() == "..")
            throw Error(path + ": tensor '" + name + "': the shard must be a file name in the same directory");
        map.emplace(name, shard.get<std::string>());
    }
    if (map.empty()) throw Error(path + ": the weight_map is empty");
    return map;
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& dir) {
    Checkpoint c;
    const std::string single = (fs::path(dir) / "model.safetensors").string();
    const std::string index = (fs::path(dir) / "model.safetensors.index.json").string();
    std::error_code ec;
    if (fs::exists(single, ec)) {
        c.source_ = single;
        c.files_.push_back(std::make_unique<File>(File::open(single)));
    } else if (fs::exists(index, ec)) {
        c.source_ = index;
        const auto weight_map = read_weight_map(index);
        std::set<std::string> shards;
        for (const auto& [name, shard] : weight_map) shards.insert(shard);
        for (const auto& shard : shards) {
            c.files_.push_back(std::make_unique<File>(File::open((fs::path(dir) / shard).string())));
            const File& f = *c.files_.back();
            for (const auto& t : f.tensors()) {
                auto it = weight_map.find(t.name);
                if (it == weight_map.end() || it->second != shard)
                    throw Error(f.path() + ": tensor '" + t.name + "' is not listed for this shard in " + index);
            }
        }
        for (const auto& [name, shard] : weight_map) {
            const File& f = **std::find_if(c.files_.begin(), c.files_.end(), [&](const auto& p) {
                return fs::path(p->path()).filename() == shard;
            });
            if (!f.tensor(name)) throw Error(index + ": tensor '" + name + "' is not in its shard " + f.path());
        }
    } else {
        throw Error(dir + ": no model.safetensors or model.safetensors.index.json");
    }
    std::unordered_map<std::string, const File*> seen;
    for (const auto& f : c.files_)
        for (const auto& t : f->tensors()) {
            if (!seen.emplace(t.name, f.get()).second)
                throw Error(f->path() + ": tensor '" + t.name + "' is also in " + seen[t.name]->path());
            c.entries_.push_back({&t, f.get()});
        }
    return c;
}

const Checkpoint::Entry* Checkpoint::find(std::string_view name) const {
    for (const auto& e : entries_)
        if (e.info->name == name) return &e;
    return nullptr;
}

}  // namespace silica::safetensors
