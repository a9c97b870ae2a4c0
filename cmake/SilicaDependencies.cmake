# Every dependency is a Debian package. A missing one stops configure with the package to install.
find_package(PkgConfig QUIET)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

macro(silica_require_package found_var apt_name what)
  if(NOT ${found_var})
    message(FATAL_ERROR "${what} not found: apt-get install ${apt_name}")
  endif()
endmacro()

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)

pkg_check_modules(HWLOC QUIET IMPORTED_TARGET hwloc)
silica_require_package(HWLOC_FOUND libhwloc-dev "hwloc")
pkg_check_modules(PCRE2 QUIET IMPORTED_TARGET libpcre2-8)
silica_require_package(PCRE2_FOUND libpcre2-dev "PCRE2")
pkg_check_modules(XXHASH QUIET IMPORTED_TARGET libxxhash)
silica_require_package(XXHASH_FOUND libxxhash-dev "xxHash")
find_package(ZLIB QUIET)
silica_require_package(ZLIB_FOUND zlib1g-dev "zlib")
# Debian's oneDNN (libdnnl-dev 2.6) was built with the OpenCL GPU runtime: its CMake config calls
# find_package(OpenCL REQUIRED), but the package does not depend on OpenCL's headers and library.
# Look for them first so a fresh machine gets our one-line message instead of oneDNN's stack trace.
find_package(OpenCL QUIET)
silica_require_package(OpenCL_FOUND ocl-icd-opencl-dev "OpenCL (needed by oneDNN's CMake config)")
find_package(dnnl QUIET CONFIG)
silica_require_package(dnnl_FOUND libdnnl-dev "oneDNN")
find_package(fmt QUIET CONFIG)
silica_require_package(fmt_FOUND libfmt-dev "fmt")
find_package(CLI11 QUIET CONFIG)
silica_require_package(CLI11_FOUND libcli11-dev "CLI11")
find_package(nlohmann_json QUIET CONFIG)
silica_require_package(nlohmann_json_FOUND nlohmann-json3-dev "nlohmann-json")
pkg_check_modules(SENTENCEPIECE QUIET IMPORTED_TARGET sentencepiece)
silica_require_package(SENTENCEPIECE_FOUND libsentencepiece-dev "sentencepiece")
if(SILICA_BUILD_TESTS)
  find_package(Catch2 2 QUIET CONFIG)
  silica_require_package(Catch2_FOUND catch2 "Catch2 v2")
endif()
if(SILICA_BUILD_BENCH)
  find_package(benchmark QUIET CONFIG)
  silica_require_package(benchmark_FOUND libbenchmark-dev "Google Benchmark")
endif()

if(SILICA_MPI)
  find_package(MPI QUIET COMPONENTS C)
  silica_require_package(MPI_C_FOUND "libopenmpi-dev openmpi-bin" "MPI (or configure with -DSILICA_MPI=OFF)")
endif()

# One interface target that carries the whole dependency set into the library's build.
add_library(silica_deps INTERFACE)
target_link_libraries(silica_deps INTERFACE
  PkgConfig::HWLOC PkgConfig::PCRE2 PkgConfig::XXHASH ZLIB::ZLIB DNNL::dnnl fmt::fmt
  nlohmann_json::nlohmann_json Threads::Threads)
if(SILICA_MPI)
  target_link_libraries(silica_deps INTERFACE MPI::MPI_C)
  target_compile_definitions(silica_deps INTERFACE SILICA_HAVE_MPI=1)
endif()
