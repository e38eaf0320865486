// Fuzz target: a REST job submission body (POST /api/v1/jobs), read the way the route
// reads it (coordinator/rest/job_routes.cpp): parseJsonBody(), then jobSpecFromJson(),
// which also runs validateJobSpec(). A spec that is accepted must survive a round trip
// through its one JSON form (protocol/codec.h): toJson() reads back to an equal spec, and
// its serialized text reads back.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "coordinator/rest/request_parsing.h"
#include "protocol/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aifed::api::HttpRequest req;
  req.method = "POST";
  req.target = req.path = "/api/v1/jobs";
  req.body.assign(reinterpret_cast<const char*>(data), size);
  aifed::Result<boost::json::value> body = aifed::coordinator::parseJsonBody(req);
  if (!body.ok()) return 0;
  aifed::Result<aifed::JobSpec> spec = aifed::jobSpecFromJson(*body);
  if (!spec.ok()) return 0;
  // Its one JSON form reads back to an equal spec.
  boost::json::value json = aifed::toJson(*spec);
  aifed::Result<aifed::JobSpec> again = aifed::jobSpecFromJson(json);
  if (!again.ok()) abort();
  if (!(*again == *spec)) abort();
  // And as the store keeps it and the API shows it, serialized text, it reads back at all
  // (not necessarily equal: Boost.JSON 1.81 reads some doubles one unit in the last place
  // off).
  std::string text = boost::json::serialize(json);
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(text, ec);
  if (ec) abort();
  if (!aifed::jobSpecFromJson(parsed).ok()) abort();
  return 0;
}
