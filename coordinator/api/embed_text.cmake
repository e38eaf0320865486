# Build step: writes a C++ source that returns the text of INPUT from a function
#   std::string_view <FUNCTION>()   in namespace aifed::api
# cmake -DINPUT=openapi.json -DOUTPUT=openapi_json.cpp -DFUNCTION=openApiDocument -P embed_text.cmake
file(READ "${INPUT}" text)
set(delim "aifed_embed")
string(FIND "${text}" ")${delim}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )${delim}\"")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by embed_text.cmake; do not edit.\n"
  "#include <string_view>\n\n"
  "namespace aifed::api {\n"
  "std::string_view ${FUNCTION}() {\n"
  "  static constexpr std::string_view kText = R\"${delim}(${text})${delim}\";\n"
  "  return kText;\n"
  "}\n"
  "}  // namespace aifed::api\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
