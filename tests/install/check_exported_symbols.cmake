# Fails unless every dynamic symbol LIBRARY defines belongs to the public
# ocrcore:: API: no ocrcore::detail, anonymous-namespace, nlohmann, oneDNN or
# std:: symbols, and no private member of a public class (its Impl, the
# helpers marked OCRCORE_LOCAL). With -DREADME, the count README.md states
# ("exports the public `ocrcore::` API only, N symbols") must be the count
# found. Run with -DLIBRARY=path/to/libocrcore.so [-DREADME=path/to/README.md].
find_program(NM nm REQUIRED)
execute_process(COMMAND ${NM} -D --defined-only -C ${LIBRARY}
                OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "nm failed (${rc}) on ${LIBRARY}")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(public 0)
set(offending "")
foreach(line IN LISTS lines)
  # "<address> <type> <name>"; the name may contain spaces.
  if(NOT line MATCHES "^[0-9a-f]+ ([A-Za-z]) (.+)$")
    continue()
  endif()
  set(type ${CMAKE_MATCH_1})
  set(name "${CMAKE_MATCH_2}")
  if(type STREQUAL "A" AND name MATCHES "^OCRCORE_[0-9.]+$")
    continue()  # the symbol version node
  endif()
  if(name MATCHES "^((typeinfo|typeinfo name|vtable) for )?ocrcore::"
     AND NOT name MATCHES "ocrcore::detail::|anonymous namespace|::Impl[:,> ]|::Impl$|::build\\(|::check_usable\\(")
    math(EXPR public "${public} + 1")
  else()
    list(APPEND offending "${name}")
  endif()
endforeach()
list(LENGTH offending n_offending)
if(n_offending)
  list(JOIN offending "\n  " shown)
  message(FATAL_ERROR "${LIBRARY} exports ${n_offending} symbols outside the public API:\n  ${shown}")
endif()
# The API must really be there: a library that exports nothing passes the
# check above.
foreach(required "ocrcore::Model::load" "ocrcore::Recognizer::recognize" "ocrcore::version()"
        "typeinfo for ocrcore::Error")
  string(FIND "${listing}" "${required}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${LIBRARY} does not export ${required}")
  endif()
endforeach()
if(README)
  file(READ ${README} readme)
  string(REGEX REPLACE "[ \n]+" " " readme "${readme}")
  if(NOT readme MATCHES "exports the public `ocrcore::` API only, ([0-9]+) symbols")
    message(FATAL_ERROR "${README} does not say how many symbols the library exports")
  endif()
  if(NOT CMAKE_MATCH_1 EQUAL public)
    message(FATAL_ERROR "${README} says the library exports ${CMAKE_MATCH_1} symbols; it exports ${public}")
  endif()
endif()
message(STATUS "${LIBRARY}: ${public} exported symbols, all public ocrcore:: API")
