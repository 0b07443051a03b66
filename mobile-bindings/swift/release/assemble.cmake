# Assembles the Linux release of CoplanKit (cmake -P, from ../CMakeLists.txt):
#
#   OUT_DIR/
#     Package.swift                  (Package.swift.in: a binary target for libcoplan)
#     Sources/CoplanModels, Sources/CoplanKit   (the package's sources, generated models too)
#     CCoplan.artifactbundle/
#       info.json                    (schema 1.0; the variant for TRIPLE)
#       coplan-TRIPLE/include/coplan.h, module.modulemap
#       coplan-TRIPLE/lib/libcoplan.so, libcoplan.so.1 -> libcoplan.so
#
# The variant is the file itself (SwiftPM copies the path it names into the build
# directory and links -lcoplan: a symlink there would dangle); the linker records its
# SONAME, libcoplan.so.1, which the symlink answers at run time.
#
# file(COPY) keeps timestamps, so a consumer's SwiftPM build stays incremental.
# Inputs: PACKAGE_DIR, OUT_DIR, LIBRARY, HEADER, COPLAN_VERSION, COPLAN_TRIPLE.
set(release ${PACKAGE_DIR}/release)
set(bundle ${OUT_DIR}/CCoplan.artifactbundle)
set(variant ${bundle}/coplan-${COPLAN_TRIPLE})
file(MAKE_DIRECTORY ${OUT_DIR}/Sources ${variant}/include ${variant}/lib)
file(REMOVE_RECURSE ${OUT_DIR}/Sources/CoplanModels/generated)
file(COPY ${PACKAGE_DIR}/Sources/CoplanModels ${PACKAGE_DIR}/Sources/CoplanKit
     DESTINATION ${OUT_DIR}/Sources)
configure_file(${release}/Package.swift.in ${OUT_DIR}/Package.swift COPYONLY)
configure_file(${release}/info.json.in ${bundle}/info.json @ONLY)
file(COPY ${HEADER} ${release}/module.modulemap DESTINATION ${variant}/include)
file(REMOVE ${variant}/lib/libcoplan.so ${variant}/lib/libcoplan.so.1)
file(COPY_FILE ${LIBRARY} ${variant}/lib/libcoplan.so)
file(CREATE_LINK libcoplan.so ${variant}/lib/libcoplan.so.1 SYMBOLIC)
