#include "sim/swf.h"

#include <zlib.h>

#include <charconv>
#include <cmath>

#include "common/files.h"
#include "common/strings.h"

namespace aifed::sim {
namespace {

constexpr const char* kFieldNames[18] = {
    "job number",       "submit time",   "wait time",       "run time",       "allocated procs",
    "average cpu time", "used memory",   "requested procs", "requested time", "requested memory",
    "status",           "user id",       "group id",        "executable",     "queue",
    "partition",        "preceding job", "think time"};

bool parseNumber(std::string_view token, double& out) {
  const char* b = token.data();
  const char* e = b + token.size();
  if (b != e && *b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e && std::isfinite(out);
}

// Whether `v` rounds to an int64_t: converting a double outside that range is undefined.
bool fitsInt64(double v) {
  return v > -9223372036854775808.0 && v < 9223372036854775808.0;  // -2^63 < v < 2^63
}

}  // namespace

std::optional<int64_t> SwfTrace::headerInt(std::string_view key) const {
  auto it = header.find(std::string(key));
  if (it == header.end()) return std::nullopt;
  double v = 0;
  std::string_view s = common::trim(it->second);
  // "MaxProcs: 128" may be followed by a comment in some traces: take the first token.
  s = s.substr(0, s.find_first_of(" \t"));
  if (!parseNumber(s, v) || v < 0 || !fitsInt64(v)) return std::nullopt;
  return static_cast<int64_t>(v);
}

Result<SwfTrace> parseSwf(std::string_view text, std::string_view source) {
  SwfTrace trace;
  trace.source = std::string(source);
  int line_no = 0;
  size_t pos = 0;
  std::string_view tokens[19];
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = common::trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    auto where = [&] { return trace.source + ":" + std::to_string(line_no) + ": "; };
    if (line.front() == ';') {
      std::string_view body = common::trim(line.substr(1));
      size_t colon = body.find(':');
      if (colon != std::string_view::npos && colon > 0) {
        std::string_view key = common::trim(body.substr(0, colon));
        // Header keys are single words ("MaxProcs"); free text with a colon is a note.
        if (key.find_first_of(" \t") == std::string_view::npos) {
          trace.header.emplace(std::string(key), std::string(common::trim(body.substr(colon + 1))));
        }
      }
      continue;
    }
    int n = 0;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size()) break;
      size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (n < 19) tokens[n] = line.substr(start, i - start);
      ++n;
    }
    if (n != 18) {
      return invalidArgument(where() + "expected 18 fields, got " + std::to_string(n) +
                             (n < 18 ? " (truncated line?)" : ""));
    }
    double v[18];
    for (int f = 0; f < 18; ++f) {
      if (!parseNumber(tokens[f], v[f])) {
        return invalidArgument(where() + "field " + std::to_string(f + 1) + " (" + kFieldNames[f] +
                               ") is not a number: '" + std::string(tokens[f]) + "'");
      }
      if (!fitsInt64(v[f])) {  // whole() below would be undefined; no trace has such a value
        return invalidArgument(where() + "field " + std::to_string(f + 1) + " (" + kFieldNames[f] +
                               ") is out of range: '" + std::string(tokens[f]) + "'");
      }
    }
    auto whole = [](double x) { return static_cast<int64_t>(std::llround(x)); };
    SwfJob j;
    j.job_number = whole(v[0]);
    j.submit_time = v[1];
    j.wait_time = v[2];
    j.run_time = v[3];
    j.allocated_procs = whole(v[4]);
    j.avg_cpu_time = v[5];
    j.used_memory_kb = v[6];
    j.requested_procs = whole(v[7]);
    j.requested_time = v[8];
    j.requested_memory_kb = v[9];
    j.status = whole(v[10]);
    j.user_id = whole(v[11]);
    j.group_id = whole(v[12]);
    j.executable = whole(v[13]);
    j.queue = whole(v[14]);
    j.partition = whole(v[15]);
    j.preceding_job = whole(v[16]);
    j.think_time = v[17];
    j.line = line_no;
    if (j.submit_time < 0) {
      return invalidArgument(where() + "field 2 (submit time) is negative: '" +
                             std::string(tokens[1]) + "'");
    }
    trace.jobs.push_back(j);
  }
  return trace;
}

Result<std::string> readMaybeGzipFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string raw, common::readFile(path));
  bool gz = raw.size() >= 2 && static_cast<unsigned char>(raw[0]) == 0x1f &&
            static_cast<unsigned char>(raw[1]) == 0x8b;
  if (!gz) return raw;
  std::string out;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return notFound("cannot open " + path);
  char buf[1 << 16];
  for (;;) {
    int r = gzread(f, buf, sizeof buf);
    if (r < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      return invalidArgument(path + ": corrupt gzip stream: " + msg);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  // gzread returns 0 at a truncated stream's end too; gzclose reports it.
  int rc = gzclose(f);
  if (rc != Z_OK) return invalidArgument(path + ": truncated or corrupt gzip stream");
  return out;
}

Result<SwfTrace> readSwfFile(const std::string& path) {
  Result<std::string> text = readMaybeGzipFile(path);
  if (!text.ok()) return text.status();
  return parseSwf(*text, path);
}

}  // namespace aifed::sim
