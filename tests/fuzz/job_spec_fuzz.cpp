// Fuzz target: a REST job submission body (POST /api/v1/jobs), read the way the route
// reads it (coordinator/rest/job_routes.cpp): parseJsonBody(), then jobSpecFromJson(),
// which also runs validateJobSpec(). A spec that is accepted must survive a round trip
// through its one JSON form (protocol/codec.h): toJson(), serialized and parsed again,
// reads back to an equal spec.
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
  // As the store keeps it and the API shows it: serialized text, read back.
  std::string text = boost::json::serialize(aifed::toJson(*spec));
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(text, ec);
  if (ec) abort();
  aifed::Result<aifed::JobSpec> again = aifed::jobSpecFromJson(json);
  // What the coordinator accepted and stores, it must read back unchanged.
  if (!again.ok()) abort();
  if (!(*again == *spec)) abort();
  return 0;
}
