# Compiles every .java file under SOURCE_DIRS (a ;-list, given with | as the separator) with
# javac and packs the classes into JAR. Run by custom commands in ../CMakeLists.txt, since
# protoc's Java output (one file per message) is only known after protoc has run.
#   cmake -DJAVAC=javac -DJAR_TOOL=jar -DRELEASE=11 -DSOURCE_DIRS=a|b -DCLASSPATH=x.jar:y.jar
#         -DCLASSES_DIR=dir -DJAR=out.jar [-DMAIN_CLASS=app.Main] [-DSTRICT=ON] -P compile_java.cmake
foreach(variable JAVAC JAR_TOOL RELEASE SOURCE_DIRS CLASSES_DIR JAR)
  if(NOT DEFINED ${variable} OR "${${variable}}" STREQUAL "")
    message(FATAL_ERROR "${variable} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" dirs "${SOURCE_DIRS}")
set(sources)
foreach(dir ${dirs})
  file(GLOB_RECURSE found ${dir}/*.java)
  list(APPEND sources ${found})
endforeach()
if(NOT sources)
  message(FATAL_ERROR "no .java files under ${SOURCE_DIRS}")
endif()
list(SORT sources)
file(REMOVE_RECURSE ${CLASSES_DIR})
file(MAKE_DIRECTORY ${CLASSES_DIR})
string(REPLACE ";" "\n" listing "${sources}")
file(WRITE ${CLASSES_DIR}.sources "${listing}\n")
set(classpath_args)
if(CLASSPATH)
  set(classpath_args -classpath ${CLASSPATH})
endif()
# Our own code is compiled with every lint as an error (STRICT); protoc's is not ours.
set(lint_args -nowarn)
if(STRICT)
  set(lint_args -Xlint:all,-processing,-options -Werror)
endif()
execute_process(COMMAND ${JAVAC} --release ${RELEASE} -encoding UTF-8 ${lint_args} -implicit:none
                        ${classpath_args}
                        -d ${CLASSES_DIR} @${CLASSES_DIR}.sources
                RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "javac failed")
endif()
if(MAIN_CLASS)
  execute_process(COMMAND ${JAR_TOOL} --create --file ${JAR} --main-class ${MAIN_CLASS}
                          -C ${CLASSES_DIR} . RESULT_VARIABLE failed)
else()
  execute_process(COMMAND ${JAR_TOOL} --create --file ${JAR} -C ${CLASSES_DIR} .
                  RESULT_VARIABLE failed)
endif()
if(failed)
  message(FATAL_ERROR "jar failed")
endif()
