# The java_binding_exported_symbols test: libcoplan_jni.so (the Android binding's JNI glue)
# is written to Android's rules: it exports JNI_OnLoad and nothing else (natives bound with
# RegisterNatives, so no Java_* symbols), every LOAD segment is 16 KiB aligned, and it
# needs libcoplan.so.1, found through its RUNPATH (no LD_LIBRARY_PATH).
#   cmake -DLIBRARY=libcoplan_jni.so -DNM=nm -DREADELF=readelf -P check_jni_exports.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../elf_checks.cmake)
coplan_require_variables(LIBRARY NM READELF)

# 1. The defined dynamic symbols: JNI_OnLoad only.
coplan_defined_symbols(${LIBRARY} ${NM} symbols)
string(REPLACE "\n" ";" lines "${symbols}")
set(names)
foreach(line ${lines})
  if(line MATCHES "^[0-9a-fA-F]* *[A-Za-z] +([^ @]+)")
    list(APPEND names ${CMAKE_MATCH_1})
  endif()
endforeach()
if(NOT names STREQUAL "JNI_OnLoad")
  string(REPLACE ";" "\n  " shown "${names}")
  message(FATAL_ERROR "${LIBRARY} must export JNI_OnLoad only; it exports:\n  ${shown}")
endif()
if(symbols MATCHES "Java_")
  message(FATAL_ERROR "${LIBRARY} has Java_* symbols: natives must use RegisterNatives")
endif()

# 2. It links libcoplan.so.1 (never libjvm) and finds it by RUNPATH.
coplan_dynamic_section(${LIBRARY} ${READELF} dynamic)
if(NOT dynamic MATCHES "NEEDED\\) +Shared library: \\[libcoplan\\.so\\.1\\]")
  message(FATAL_ERROR "${LIBRARY} does not link libcoplan.so.1:\n${dynamic}")
endif()
if(dynamic MATCHES "libjvm")
  message(FATAL_ERROR "${LIBRARY} links libjvm (the JNIEnv is all it may use):\n${dynamic}")
endif()
if(NOT dynamic MATCHES "(RUNPATH|RPATH)\\)")
  message(FATAL_ERROR "${LIBRARY} has no RUNPATH to find libcoplan.so.1:\n${dynamic}")
endif()
find_program(LDD ldd)
if(LDD)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${LDD} ${LIBRARY}
                  OUTPUT_VARIABLE loaded RESULT_VARIABLE failed)
  if(failed OR loaded MATCHES "not found")
    message(FATAL_ERROR "ldd ${LIBRARY} (without LD_LIBRARY_PATH):\n${loaded}")
  endif()
  if(NOT loaded MATCHES "libcoplan\\.so\\.1 => [^\n]*libcoplan\\.so\\.1")
    message(FATAL_ERROR "libcoplan.so.1 is not resolved:\n${loaded}")
  endif()
endif()

# 3. 16 KiB pages (Android 15): every LOAD segment aligned to at least 0x4000.
coplan_check_16k_pages(${LIBRARY} ${READELF})

message(STATUS "${LIBRARY}: exports JNI_OnLoad only, links libcoplan.so.1 by RUNPATH, "
               "16 KiB-aligned segments")
