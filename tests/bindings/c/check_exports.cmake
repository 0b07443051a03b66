# The c_abi_exported_symbols test: libcoplan.so exports the C ABI and nothing else, and
# needs no plain SQLite (its cache is SQLCipher; the two must never share a process).
#   cmake -DLIBRARY=libcoplan.so -DNM=nm -DREADELF=readelf -DHEADER=coplan.h
#         -DC_COMPILER=cc -P check_exports.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../elf_checks.cmake)
coplan_require_variables(LIBRARY NM READELF HEADER C_COMPILER)

# 1. Every defined dynamic symbol is coplan_*, besides the version node COPLAN_1.
coplan_defined_symbols(${LIBRARY} ${NM} symbols)
string(REPLACE "\n" ";" lines "${symbols}")
set(exported 0)
set(stray)
foreach(line ${lines})
  # "<address> <type> <name>[@@VERSION]"
  if(NOT line MATCHES "^[0-9a-fA-F]* *[A-Za-z] +([^ @]+)(@@?([^ ]+))?$")
    continue()
  endif()
  set(name ${CMAKE_MATCH_1})
  set(version ${CMAKE_MATCH_3})
  if(name STREQUAL "COPLAN_1")
    continue()
  endif()
  if(NOT name MATCHES "^coplan_")
    list(APPEND stray ${name})
  elseif(NOT version STREQUAL "COPLAN_1")
    list(APPEND stray "${name} (version '${version}', not COPLAN_1)")
  else()
    math(EXPR exported "${exported} + 1")
  endif()
endforeach()
if(stray)
  list(LENGTH stray count)
  list(SUBLIST stray 0 40 shown)
  string(REPLACE ";" "\n  " shown "${shown}")
  message(FATAL_ERROR "${LIBRARY} exports ${count} symbols outside the C ABI:\n  ${shown}")
endif()
# Every function the header declares is there (and nothing the header does not declare).
file(STRINGS ${HEADER} declarations REGEX "^COPLAN_API ")
set(declared 0)
foreach(declaration ${declarations})
  if(NOT declaration MATCHES "(coplan_[a-z_]+)\\(")
    message(FATAL_ERROR "cannot read the declaration: ${declaration}")
  endif()
  set(function ${CMAKE_MATCH_1})
  math(EXPR declared "${declared} + 1")
  if(NOT symbols MATCHES " T ${function}@@COPLAN_1")
    message(FATAL_ERROR "${function} (declared in coplan.h) is not exported by ${LIBRARY}")
  endif()
endforeach()
if(NOT declared EQUAL exported)
  message(FATAL_ERROR "coplan.h declares ${declared} functions; ${LIBRARY} exports ${exported}")
endif()

# 2. The plain libsqlite3 is neither a direct nor an indirect dependency.
coplan_dynamic_section(${LIBRARY} ${READELF} dynamic)
if(dynamic MATCHES "libsqlite3")
  message(FATAL_ERROR "${LIBRARY} needs the plain libsqlite3:\n${dynamic}")
endif()
if(NOT dynamic MATCHES "libsqlcipher")
  message(FATAL_ERROR "${LIBRARY} does not link SQLCipher:\n${dynamic}")
endif()
if(NOT dynamic MATCHES "SONAME\\) +Library soname: \\[libcoplan\\.so\\.1\\]")
  message(FATAL_ERROR "${LIBRARY}'s SONAME is not libcoplan.so.1:\n${dynamic}")
endif()
find_program(LDD ldd)
if(LDD)
  execute_process(COMMAND ${LDD} ${LIBRARY} OUTPUT_VARIABLE loaded RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "ldd ${LIBRARY} failed:\n${loaded}")
  endif()
  if(loaded MATCHES "libsqlite3")
    message(FATAL_ERROR "${LIBRARY} loads the plain libsqlite3 indirectly:\n${loaded}")
  endif()
endif()
# 16 KiB pages (Android 15): every LOAD segment aligned to at least 0x4000.
coplan_check_16k_pages(${LIBRARY} ${READELF})

# 3. The header is pure, pedantic C99 and C11 (the wrappers' C targets include it).
get_filename_component(header_dir ${HEADER} DIRECTORY)
foreach(standard c99 c11)
  execute_process(COMMAND ${C_COMPILER} -std=${standard} -Wall -Wextra -Werror -pedantic
                          -fsyntax-only -x c -I${header_dir} -
                  INPUT_FILE ${HEADER}
                  RESULT_VARIABLE failed ERROR_VARIABLE complaints)
  if(failed)
    message(FATAL_ERROR "coplan.h is not -std=${standard} -pedantic C:\n${complaints}")
  endif()
endforeach()

message(STATUS "${LIBRARY}: ${exported} coplan_* functions exported, all at COPLAN_1; "
               "no plain libsqlite3; coplan.h is pedantic C99 and C11")
