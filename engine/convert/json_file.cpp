#include "engine/convert/json_file.h"

#include <fstream>
#include <sstream>

#include "silica/error.h"

namespace silica::convert {

nlohmann::json read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::stringstream text;
    text << in.rdbuf();
    try {
        return nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception& e) {
        // nlohmann's message without its tag, control bytes replaced: one printable line.
        std::string m = e.what();
        if (auto p = m.find("] "); p != std::string::npos) m = m.substr(p + 2);
        for (char& c : m)
            if (static_cast<unsigned char>(c) < 0x20) c = '?';
        throw Error(path + ": not valid JSON: " + m);
    }
}

}  // namespace silica::convert
