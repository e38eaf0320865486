#include "coordinator/broker/job_arrays.h"

#include <algorithm>
#include <cassert>
#include <charconv>

namespace aifed::broker {
namespace {

Status badIndices(const std::string& why) {
  return invalidArgument("array indices: " + why, "array.indices");
}

// A decimal number of at most 7 digits.
std::optional<int64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 7) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<std::vector<int64_t>> parseArrayIndices(std::string_view text) {
  if (text.empty()) return badIndices("empty (give e.g. \"0-99\" or \"1,3,5-9:2\")");
  std::vector<int64_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view part = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    std::string_view range = part, step_text;
    if (size_t colon = part.find(':'); colon != part.npos) {
      range = part.substr(0, colon);
      step_text = part.substr(colon + 1);
    }
    size_t dash = range.find('-');
    std::optional<int64_t> first = number(range.substr(0, dash));
    std::optional<int64_t> last = dash == range.npos ? first : number(range.substr(dash + 1));
    std::optional<int64_t> step = step_text.empty() ? std::optional<int64_t>(1) : number(step_text);
    if (!first || !last || !step || (dash == range.npos && !step_text.empty())) {
      return badIndices("\"" + std::string(part) + "\" is not N, N-M or N-M:S");
    }
    if (*last < *first || *step < 1) {
      return badIndices("\"" + std::string(part) + "\" is an empty range");
    }
    if (*last > kMaxArrayIndex) {
      return badIndices("index " + std::to_string(*last) + " is above " +
                        std::to_string(kMaxArrayIndex));
    }
    for (int64_t i = *first; i <= *last; i += *step) {
      out.push_back(i);
      if (out.size() > 2 * kMaxArrayTasks) break;  // the count check below refuses it
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.size() > kMaxArrayTasks) {
    return badIndices("more than " + std::to_string(kMaxArrayTasks) + " tasks");
  }
  return out;
}

std::string formatArrayId(int64_t seq) {
  return "a-" + std::to_string(seq);
}

std::optional<int64_t> parseArraySeq(std::string_view id) {
  if (id.size() < 3 || id.substr(0, 2) != "a-" || id[2] == '0' || id.size() > 20) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(id.data() + 2, id.data() + id.size(), v);
  if (ec != std::errc() || end != id.data() + id.size() || v < 1) return std::nullopt;
  return v;
}

ArrayTable::Entry& ArrayTable::create(ArrayRecord record) {
  int64_t seq = next_seq_++;
  record.id = formatArrayId(seq);
  Entry& e = arrays_[seq];
  e.record = std::move(record);
  return e;
}

ArrayTable::Entry& ArrayTable::restore(ArrayRecord record) {
  int64_t seq = parseArraySeq(record.id).value_or(0);
  next_seq_ = std::max(next_seq_, seq + 1);
  Entry& e = arrays_[seq];
  e.record = std::move(record);
  return e;
}

ArrayTable::Entry* ArrayTable::findMutable(std::string_view id) {
  std::optional<int64_t> seq = parseArraySeq(id);
  if (!seq) return nullptr;
  auto it = arrays_.find(*seq);
  return it == arrays_.end() ? nullptr : &it->second;
}

const ArrayTable::Entry* ArrayTable::find(std::string_view id) const {
  return const_cast<ArrayTable*>(this)->findMutable(id);
}

void ArrayTable::addTask(const std::string& id, int64_t seq, JobState state) {
  Entry* e = findMutable(id);
  if (!e) return;
  e->tasks.push_back(seq);
  e->active += isActiveState(state);
}

void ArrayTable::stateChanged(const JobRecord& task, JobState before, JobState after) {
  if (task.array_id.empty()) return;
  bool was = isActiveState(before), is = isActiveState(after);
  if (was == is) return;
  if (Entry* e = findMutable(task.array_id)) e->active += is ? 1 : -1;
}

bool ArrayTable::throttled(const JobRecord& task) const {
  if (task.array_id.empty()) return false;
  const Entry* e = find(task.array_id);
  return e && e->record.max_running > 0 && e->active >= e->record.max_running;
}

void ArrayTable::checkInvariants(const JobTable& jobs) const {
#ifndef NDEBUG
  for (const auto& [seq, e] : arrays_) {
    int active = 0;
    for (int64_t task : e.tasks) {
      auto it = jobs.all().find(task);
      if (it == jobs.all().end()) continue;  // dropped (ended) task
      assert(it->second.array_id == e.record.id);
      active += isActiveState(it->second.state);
    }
    // The throttle's count is the truth it stands for.
    assert(active == e.active);
    (void)active;
  }
#else
  (void)jobs;
#endif
}

}  // namespace aifed::broker
