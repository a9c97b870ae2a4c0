#include "memory/rss.h"

#include <cstdio>
#include <cstring>

namespace silica {

RssInfo read_rss() {
    RssInfo info;
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return info;
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
        // Lines look like "VmRSS:\t   12345 kB".
        struct Field {
            const char* name;
            uint64_t* value;
        };
        const Field fields[] = {{"VmRSS:", &info.current}, {"VmHWM:", &info.peak}, {"RssAnon:", &info.anonymous},
                                {"RssFile:", &info.file}, {"RssShmem:", &info.shmem}};
        for (const Field& field : fields) {
            const size_t n = std::strlen(field.name);
            if (std::strncmp(line, field.name, n) != 0) continue;
            unsigned long long kib = 0;
            if (std::sscanf(line + n, "%llu", &kib) == 1) {
                *field.value = static_cast<uint64_t>(kib) * 1024;
                info.valid = true;
            }
        }
    }
    std::fclose(f);
    return info;
}

}  // namespace silica
