// MappedFile (memory/): the file layer under the GGUF reader.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "memory/mapped_file.h"
#include "silica/error.h"

using namespace silica;

namespace {

std::string write_temp(const std::string& tag, const std::vector<uint8_t>& bytes) {
    std::string path = (std::filesystem::temp_directory_path() /
                        ("silica_mapped_" + tag + "_" + std::to_string(::getpid()))).string();
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path;
}

std::vector<uint8_t> pattern(size_t n) {
    std::mt19937 rng(42);
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng() | 1);  // never zero, so released pages show
    return v;
}

}  // namespace

TEST_CASE("mapped file: contents through mmap and read()", "[gguf][memory]") {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const std::vector<uint8_t> content = pattern(5 * page + 123);
    const std::string path = write_temp("contents", content);
    for (bool use_mmap : {true, false}) {
        DYNAMIC_SECTION("use_mmap " << use_mmap) {
            MappedFile f = MappedFile::open(path, use_mmap);
            CHECK(f.is_mmapped() == use_mmap);
            CHECK(f.path() == path);
            REQUIRE(f.size() == content.size());
            CHECK(std::equal(content.begin(), content.end(), f.data()));
            CHECK(reinterpret_cast<uintptr_t>(f.data()) % page == 0);

            // Move keeps the data; the moved-from object is empty.
            const uint8_t* p = f.data();
            MappedFile g = std::move(f);
            CHECK(g.data() == p);
            CHECK(f.size() == 0);
            MappedFile h;
            h = std::move(g);
            CHECK(h.data() == p);

            // Only whole pages strictly inside the range are released.
            CHECK(h.release(page / 2, page) == 0);                 // no whole page inside
            CHECK(h.release(page / 2, 3 * page) == 2 * page);     // pages 1 and 2
            CHECK(h.release(4 * page, 100 * page) == page);       // page 4; the partial last page is kept
            CHECK(h.release(100 * page, page) == 0);               // beyond the end
            CHECK(h.release(0, ~size_t{0}) == 5 * page);           // huge length is clipped
            CHECK(h.read_into_page_cache(page, ~size_t{0}) == (use_mmap ? content.size() - page : 0));
            CHECK(h.read_into_page_cache(content.size(), 1) == 0);
            if (use_mmap) {
                // A file mapping reads the released pages back from the file.
                CHECK(std::equal(content.begin(), content.end(), h.data()));
            } else {
                // Private memory is gone: released pages read as zeros; the partial page is kept.
                CHECK(h.data()[page] == 0);
                CHECK(h.data()[5 * page] == content[5 * page]);
            }
        }
    }
    std::remove(path.c_str());
}

TEST_CASE("mapped file: empty files and errors", "[gguf][memory]") {
    const std::string path = write_temp("empty", {});
    for (bool use_mmap : {true, false}) {
        MappedFile f = MappedFile::open(path, use_mmap);
        CHECK(f.size() == 0);
        CHECK(f.data() != nullptr);
        CHECK(f.release(0, 100) == 0);
    }
    std::remove(path.c_str());

    CHECK_THROWS_WITH(MappedFile::open("/nonexistent/file.bin", true), "/nonexistent/file.bin: No such file or directory");
    CHECK_THROWS_WITH(MappedFile::open("/nonexistent/file.bin", false), "/nonexistent/file.bin: No such file or directory");
    CHECK_THROWS_WITH(MappedFile::open("/", true), "/: Is a directory");
    CHECK_THROWS_WITH(MappedFile::open("/dev/null", true), "/dev/null: not a regular file");
}
