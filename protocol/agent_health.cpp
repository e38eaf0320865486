// The JSON form of AgentHealth (protocol/codec.h declares it).
#include "protocol/agent_health.h"

#include "protocol/codec.h"
#include "protocol/json_fields.h"

namespace aifed {

namespace json = boost::json;
using namespace json_fields;

json::object toJson(const AgentHealth& health) {
  json::object o;
  o["version"] = health.version;
  o["backend_ok"] = health.backend_ok;
  o["backend_error"] = health.backend_error;
  o["last_backend_ok_at"] = health.last_backend_ok_at ? toMillis(*health.last_backend_ok_at) : 0;
  o["outbox_depth"] = health.outbox_depth;
  return o;
}

Result<AgentHealth> agentHealthFromJson(const json::value& value, std::string_view path) {
  const json::object* object = nullptr;
  RETURN_IF_ERROR(requireObject(value, std::string(path), object));
  FieldReader r(*object, std::string(path));
  AgentHealth h;
  RETURN_IF_ERROR(r.str("version", h.version, false));
  RETURN_IF_ERROR(r.boolean("backend_ok", h.backend_ok, false));
  RETURN_IF_ERROR(r.str("backend_error", h.backend_error, false));
  int64_t last_ok_ms = 0;
  RETURN_IF_ERROR(r.int64("last_backend_ok_at", last_ok_ms, false));
  if (last_ok_ms < 0) {
    return invalidArgument(r.path("last_backend_ok_at") + " must not be negative",
                           r.path("last_backend_ok_at"));
  }
  if (last_ok_ms > 0) h.last_backend_ok_at = fromMillis(last_ok_ms);
  RETURN_IF_ERROR(r.uint64("outbox_depth", h.outbox_depth, false));
  return h;
}

}  // namespace aifed
