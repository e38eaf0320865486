// The OpenAPI 3 document of the REST API v1 (coordinator/api/openapi.json), embedded in
// the binary at build time and served at GET /api/v1/openapi.json.
#pragma once

#include <string_view>

namespace aifed::api {

// The document's JSON text, exactly as in the source tree.
std::string_view openApiDocument();

}  // namespace aifed::api
