# Fails when a C++ file of the project is not formatted as .clang-format says.
# Run by the format_check test (tests/CMakeLists.txt) and by scripts/lint:
#   cmake -DSOURCE_DIR=. -DCLANG_FORMAT=clang-format-14 -P cmake/CheckFormat.cmake
set(files)
foreach(folder server client-lib bench tests mobile-bindings tools cmake)
  file(GLOB_RECURSE found ${SOURCE_DIR}/${folder}/*.cc ${SOURCE_DIR}/${folder}/*.h
       ${SOURCE_DIR}/${folder}/*.c)
  list(APPEND files ${found})
endforeach()
# Vendored or generated code is not ours to format.
list(FILTER files EXCLUDE REGEX "/(build[^/]*|\\.build|generated)/")
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${files}
                RESULT_VARIABLE result ERROR_VARIABLE complaints)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "Not formatted (run: clang-format-14 -i <file>):\n${complaints}")
endif()
list(LENGTH files count)
message(STATUS "${count} files formatted as .clang-format says")
