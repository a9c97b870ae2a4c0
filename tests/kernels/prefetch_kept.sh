#!/bin/sh
# Checks that the decode kernels still hold software prefetch instructions: prefetch_kept.sh
# LIBRARY OBJECT... (object names inside the static library, e.g. matmul_repacked_avx512.cpp.o).
#
# Why a test: the compiler may drop prefetches without any change in the results. It did: a
# std::min in prefetch_ahead (kernels/matmul_x16_vnni_avx512.h) made GCC 12 emit none in the
# whole int8 x16 kernel file, and GPT-2 124M with 8 sequences decoded at half speed while every
# other test passed.
#
# It also checks each tile function compiled with its Prefetch parameter true (tile<..., true>,
# k_tile<..., true>, where the compiler kept it out of line): one without a prefetch is what
# session 32 found in the GEMV tiles of 2 and 4 groups (a call to prefetch_ahead deleted as dead
# code, kernels/x16_prefetch.h), which the per-object count above did not see.
set -eu
lib=$1
shift
empty_tiles=$("${OBJDUMP:-objdump}" -d -C "$lib" | sed 's/(anonymous namespace):://g' | awk '
    /^[0-9a-f]+ </ { fn = $0; if (fn ~ /::(k_)?tile<[^(]*, true[,>]/) n[fn] = 0; next }
    /prefetch/ && (fn in n) { n[fn]++ }
    END { for (f in n) if (n[f] == 0) print f }')
if [ -n "$empty_tiles" ]; then
    printf 'prefetch_kept: a tile with Prefetch = true has no prefetch instruction:\n%s\n' "$empty_tiles"
    exit 1
fi
counts=$("${OBJDUMP:-objdump}" -d "$lib" | awk '
    /^In archive/ { next }
    /: +file format / { member = $1; sub(/:$/, "", member); n[member] = 0; next }
    /prefetch/ { n[member]++ }
    END { for (m in n) print m, n[m] }')
status=0
for object in "$@"; do
    n=$(printf '%s\n' "$counts" | awk -v o="$object" '$1 == o { print $2 }')
    if [ -z "$n" ]; then
        echo "prefetch_kept: $object is not in $lib"
        status=1
    elif [ "$n" -eq 0 ]; then
        echo "prefetch_kept: $object has no prefetch instruction left (the compiler dropped them)"
        status=1
    else
        echo "$object: $n prefetch instructions"
    fi
done
exit $status
