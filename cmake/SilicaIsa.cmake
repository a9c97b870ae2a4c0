# Kernels are written once per ISA in files named *_avx2.cpp / *_avx512.cpp; only those files get
# the ISA's compiler flags, and kernels/isa.cpp picks one at run time from CPUID (SILICA_ISA can
# force a lower one). Everything else is compiled for baseline x86-64, so the binary runs anywhere.
set(SILICA_AVX2_FLAGS -mavx2 -mfma -mf16c -mbmi2)
set(SILICA_AVX512_FLAGS -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mavx2 -mfma -mf16c -mbmi2)

function(silica_set_isa_flags sources)
  foreach(src IN LISTS sources)
    if(src MATCHES "_avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${SILICA_AVX512_FLAGS}")
    elseif(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${SILICA_AVX2_FLAGS}")
    endif()
  endforeach()
endfunction()
