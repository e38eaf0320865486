#include "protocol/transport/fault_injector.h"

#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "common/strings.h"

namespace aifed::transport {
namespace {

Result<double> parseProbability(std::string_view key, std::string_view value) {
  double p = -1;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), p);
  if (ec != std::errc() || end != value.data() + value.size() || p < 0 || p > 1) {
    return invalidArgument(std::string(kFaultsVariable) + ": " + std::string(key) +
                               " must be a probability in [0, 1], got \"" +
                               std::string(value) + "\"",
                           std::string(key));
  }
  return p;
}

Result<uint64_t> parseCount(std::string_view key, std::string_view value) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return invalidArgument(std::string(kFaultsVariable) + ": " + std::string(key) +
                               " must be a non-negative integer, got \"" + std::string(value) +
                               "\"",
                           std::string(key));
  }
  return n;
}

std::set<std::string> parseTypes(std::string_view value) {
  std::set<std::string> out;
  for (std::string_view t : common::split(value, '|')) {
    t = common::trim(t);
    if (!t.empty()) out.insert(std::string(t));
  }
  return out;
}

// Applies one "key=value" item to the plan.
Status applyItem(FaultPlan& plan, std::string_view key, std::string_view value) {
  if (key == "drop" || key == "dup" || key == "reorder") {
    ASSIGN_OR_RETURN(double p, parseProbability(key, value));
    (key == "drop" ? plan.drop : key == "dup" ? plan.dup : plan.reorder) = p;
  } else if (key == "seed") {
    ASSIGN_OR_RETURN(plan.seed, parseCount(key, value));
  } else if (key == "type") {
    plan.drop_types = plan.dup_types = plan.reorder_types = parseTypes(value);
  } else if (key == "drop_type") {
    plan.drop_types = parseTypes(value);
  } else if (key == "dup_type") {
    plan.dup_types = parseTypes(value);
  } else if (key == "reorder_type") {
    plan.reorder_types = parseTypes(value);
  } else if (key == "crash_after_send") {
    size_t colon = value.find(':');
    plan.crash_type = std::string(value.substr(0, colon));
    plan.crash_state = colon == std::string_view::npos ? "" : std::string(value.substr(colon + 1));
    if (plan.crash_type.empty()) {
      return invalidArgument(std::string(kFaultsVariable) + ": crash_after_send needs a type",
                             "crash_after_send");
    }
  } else if (key == "crash_delay_ms") {
    ASSIGN_OR_RETURN(uint64_t ms, parseCount(key, value));
    plan.crash_delay_ms = static_cast<int>(std::min<uint64_t>(ms, 60000));
  } else {
    return invalidArgument(std::string(kFaultsVariable) + ": unknown key \"" + std::string(key) +
                               "\" (drop, dup, reorder, seed, type, drop_type, dup_type, "
                               "reorder_type, crash_after_send, crash_delay_ms)",
                           std::string(key));
  }
  return Status::Ok();
}

bool listed(const std::set<std::string>& types, const std::string& type) {
  return types.empty() || types.count(type) > 0;
}

}  // namespace

bool FaultPlan::empty() const {
  return drop == 0 && dup == 0 && reorder == 0 && crash_type.empty();
}

Result<FaultPlan> parseFaultPlan(std::string_view text) {
  FaultPlan plan;
  for (std::string_view raw : common::split(text, ',')) {
    std::string_view item = common::trim(raw);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return invalidArgument(
          std::string(kFaultsVariable) + ": \"" + std::string(item) + "\" is not key=value",
          std::string(item));
    }
    RETURN_IF_ERROR(applyItem(plan, common::trim(item.substr(0, eq)),
                              common::trim(item.substr(eq + 1))));
  }
  return plan;
}

FrameLabel labelFrame(std::string_view frame) {
  FrameLabel label;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(frame, ec);
  if (ec || !v.is_object()) return label;
  const boost::json::object& o = v.as_object();
  if (const boost::json::value* t = o.if_contains("type"); t && t->is_string()) {
    label.type = std::string(t->as_string());
  }
  const boost::json::value* body = o.if_contains("body");
  if (body && body->is_object()) {
    const boost::json::value* s = body->as_object().if_contains("state");
    if (s && s->is_string()) label.state = std::string(s->as_string());
  }
  return label;
}

std::unique_ptr<FaultInjector> FaultInjector::fromEnvironment(const std::string& role) {
  const char* text = std::getenv(kFaultsVariable);
  if (text == nullptr || *text == '\0') return nullptr;
  Result<FaultPlan> plan = parseFaultPlan(text);
  if (!plan.ok()) {
    std::fprintf(stderr, "fault injection: ignoring %s: %s\n", kFaultsVariable,
                 plan.status().message().c_str());
    return nullptr;
  }
  if (plan->empty()) return nullptr;
  std::fprintf(stderr, "fault injection active for %s: %s=\"%s\"\n", role.c_str(), kFaultsVariable,
               text);
  return std::make_unique<FaultInjector>(*plan, role);
}

FaultInjector::FaultInjector(FaultPlan plan, const std::string& role)
    : plan_(std::move(plan)),
      role_(role),
      random_(plan_.seed ^ std::hash<std::string>{}(role)),
      crash_armed_(!plan_.crash_type.empty()) {}

bool FaultInjector::draw(double probability, const std::set<std::string>& types,
                         const FrameLabel& label) {
  if (probability <= 0 || !listed(types, label.type)) return false;
  return std::uniform_real_distribution<double>(0, 1)(random_) < probability;
}

bool FaultInjector::crashes(const FrameLabel& label) const {
  return crash_armed_ && label.type == plan_.crash_type &&
         (plan_.crash_state.empty() || label.state == plan_.crash_state);
}

void FaultInjector::crash(const FrameLabel& label) const {
  std::fprintf(stderr, "fault injection: %s sent %s%s%s; SIGKILL in %d ms\n", role_.c_str(),
               label.type.c_str(), label.state.empty() ? "" : ":", label.state.c_str(),
               plan_.crash_delay_ms);
  std::fflush(stderr);
  // Nothing else runs on this thread meanwhile: no answer to the frame can be processed.
  std::this_thread::sleep_for(std::chrono::milliseconds(plan_.crash_delay_ms));
  kill(getpid(), SIGKILL);
  _exit(137);  // not reached
}

Status FaultInjector::send(const std::string& payload, RawSend raw) {
  FrameLabel label = labelFrame(payload);
  // One draw per fault and frame, in a fixed order, so a run is repeatable.
  bool drop = draw(plan_.drop, plan_.drop_types, label);
  bool dup = draw(plan_.dup, plan_.dup_types, label);
  bool hold = draw(plan_.reorder, plan_.reorder_types, label);
  if (crashes(label)) drop = dup = hold = false;
  if (drop) {
    ++stats_.dropped;
    flush();
    return Status::Ok();
  }
  if (hold && !held_) {
    ++stats_.reordered;
    held_ = Held{payload, std::move(raw)};
    return Status::Ok();
  }
  Status s = raw(payload);
  if (s.ok()) ++stats_.sent;
  if (s.ok() && dup) {
    ++stats_.duplicated;
    (void)raw(payload);
  }
  flush();  // a frame held back goes out after this one: the two swapped places
  if (s.ok() && crashes(label)) crash(label);
  return s;
}

void FaultInjector::flush() {
  if (!held_) return;
  Held h = std::move(*held_);
  held_.reset();
  (void)h.raw(h.payload);
}

}  // namespace aifed::transport
