# Writes a C++ file that embeds every db/migrations/NNNN_*.sql, in order, so that the
# server binary carries its schema with it (coplan-server migrate needs no files).
# Usage: cmake -DMIGRATIONS_DIR=<dir> -DOUTPUT=<file.cc> -P EmbedMigrations.cmake
file(GLOB files ${MIGRATIONS_DIR}/*.sql)
list(SORT files)
set(entries "")
foreach(file ${files})
  get_filename_component(name ${file} NAME)
  file(READ ${file} sql)
  string(APPEND entries "      {\"${name}\", R\"coplan_sql(${sql})coplan_sql\"},\n")
endforeach()
file(WRITE ${OUTPUT}.tmp
"// Generated from db/migrations by cmake/EmbedMigrations.cmake. Do not edit.
#include \"server/store/migrations.h\"

namespace coplan {

const std::vector<MigrationFile>& EmbeddedMigrations() {
  static const std::vector<MigrationFile> files = {
${entries}  };
  return files;
}

}  // namespace coplan
")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
