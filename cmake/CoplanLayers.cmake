# Layers of the server, enforced by the build.
#
#   coplan_layer(domain
#     LAYERS common                      # server/<layer>/ folders it may include and link
#     LIBS coplan_proto_messages absl::status
#     FORBID pqxx grpcpp)                 # <pqxx/...> and <grpcpp/...> must not appear
#
# makes the static library coplan_<name> from server/<name>/*.cc (and the FOLDERS given,
# which belong to the layer). Before it compiles, every source and header is checked: an #include "server/<other>/..." of a layer
# not listed, or an #include <x/...> of a forbidden library, fails the build naming the
# file and line. A link check then links the whole library (every object, used or not)
# into a small program with only the allowed layers, so a symbol taken from another layer
# without its header is an undefined reference.
function(coplan_layer name)
  cmake_parse_arguments(LAYER "" "" "LAYERS;LIBS;FORBID;FOLDERS;EXTRA_SOURCES" ${ARGN})
  set(folders)
  set(sources)
  set(headers)
  foreach(part ${name} ${LAYER_FOLDERS})
    set(folder ${PROJECT_SOURCE_DIR}/server/${part})
    list(APPEND folders ${folder})
    file(GLOB part_sources CONFIGURE_DEPENDS ${folder}/*.cc)
    file(GLOB part_headers CONFIGURE_DEPENDS ${folder}/*.h)
    list(APPEND sources ${part_sources})
    list(APPEND headers ${part_headers})
  endforeach()
  set(checked ${CMAKE_CURRENT_BINARY_DIR}/layer_${name}.checked)
  set(allowed_list ${name} ${LAYER_FOLDERS} ${LAYER_LAYERS})
  string(REPLACE ";" "," allowed "${allowed_list}")
  string(REPLACE ";" "," forbidden "${LAYER_FORBID}")
  string(REPLACE ";" "," folder_list "${folders}")
  add_custom_command(
    OUTPUT ${checked}
    COMMAND ${CMAKE_COMMAND} -DLAYER=${name} -DALLOWED=${allowed} -DFORBIDDEN=${forbidden}
            -DFOLDERS=${folder_list} -DSTAMP=${checked}
            -P ${PROJECT_SOURCE_DIR}/cmake/CheckLayerIncludes.cmake
    DEPENDS ${sources} ${headers} ${PROJECT_SOURCE_DIR}/cmake/CheckLayerIncludes.cmake
    COMMENT "Checking the includes of layer ${name}" VERBATIM)
  add_custom_target(coplan_${name}_includes DEPENDS ${checked})

  add_library(coplan_${name} STATIC ${sources} ${LAYER_EXTRA_SOURCES})
  add_dependencies(coplan_${name} coplan_${name}_includes)
  target_include_directories(coplan_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  set(layer_targets)
  foreach(layer ${LAYER_LAYERS})
    list(APPEND layer_targets coplan_${layer})
  endforeach()
  target_link_libraries(coplan_${name} PUBLIC ${layer_targets} ${LAYER_LIBS})

  add_executable(coplan_${name}_links ${PROJECT_SOURCE_DIR}/cmake/layer_link_check.cc)
  target_link_libraries(coplan_${name}_links PRIVATE
    -Wl,--whole-archive coplan_${name} -Wl,--no-whole-archive ${layer_targets} ${LAYER_LIBS})
endfunction()
