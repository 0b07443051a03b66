# What the binding libraries' export checks share (tests/bindings/c/check_exports.cmake,
# tests/bindings/java/check_jni_exports.cmake): included by those cmake -P scripts.

# Stops unless every named variable is set.
function(coplan_require_variables)
  foreach(variable ${ARGN})
    if(NOT ${variable})
      message(FATAL_ERROR "${variable} is not set")
    endif()
  endforeach()
endfunction()

# `nm -D --defined-only` of `library`, into `out`.
function(coplan_defined_symbols library nm out)
  execute_process(COMMAND ${nm} -D --defined-only ${library}
                  OUTPUT_VARIABLE symbols RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "${nm} -D --defined-only ${library} failed")
  endif()
  set(${out} "${symbols}" PARENT_SCOPE)
endfunction()

# `readelf -d` (the dynamic section: NEEDED, SONAME, RUNPATH) of `library`, into `out`.
function(coplan_dynamic_section library readelf out)
  execute_process(COMMAND ${readelf} -d ${library} OUTPUT_VARIABLE dynamic
                  RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "${readelf} -d ${library} failed")
  endif()
  set(${out} "${dynamic}" PARENT_SCOPE)
endfunction()

# 16 KiB pages (Android 15): every LOAD segment aligned to at least 0x4000.
function(coplan_check_16k_pages library readelf)
  execute_process(COMMAND ${readelf} -lW ${library} OUTPUT_VARIABLE program_headers)
  string(REGEX MATCHALL "LOAD[^\n]*" loads "${program_headers}")
  if(NOT loads)
    message(FATAL_ERROR "no LOAD segments in ${library}")
  endif()
  foreach(load ${loads})
    if(NOT load MATCHES "0x([0-9a-f]+)$")
      message(FATAL_ERROR "cannot read the alignment of: ${load}")
    endif()
    math(EXPR alignment "0x${CMAKE_MATCH_1}")
    if(alignment LESS 16384)
      message(FATAL_ERROR "a LOAD segment is aligned to less than 16 KiB: ${load}")
    endif()
  endforeach()
endfunction()
