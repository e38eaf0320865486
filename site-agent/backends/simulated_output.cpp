#include "site-agent/backends/simulated_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

namespace aifed::agent {
namespace {

// "2026-12-07T11:52:03Z"
std::string utc(Time at) {
  std::time_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  std::tm tm{};
  if (!gmtime_r(&secs, &tm)) return "?";
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A file name part from a federation id: anything but [A-Za-z0-9._-] becomes '_', so an
// id can never name another directory.
std::string safeName(std::string_view id) {
  std::string out(id);
  for (char& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  return out;
}

// Writes `text` to `path` (created, or truncated with `truncate`, else appended to). A
// symbolic link in its place is not followed. Failures are ignored (see the header).
void writeTo(const std::string& path, const std::string& text, bool truncate) {
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND);
  int fd = ::open(path.c_str(), flags, 0640);
  if (fd < 0) return;
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string> echoLines(std::string_view script) {
  std::vector<std::string> out;
  while (!script.empty()) {
    size_t nl = script.find('\n');
    std::string_view line = trimmed(script.substr(0, nl));
    script.remove_prefix(nl == std::string_view::npos ? script.size() : nl + 1);
    if (line == "echo") {
      out.emplace_back();
      continue;
    }
    if (!line.starts_with("echo ")) continue;
    std::string_view text = trimmed(line.substr(5));
    if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
        text.back() == text.front()) {
      text = text.substr(1, text.size() - 2);
    }
    out.emplace_back(text);
  }
  return out;
}

std::string SimulatedOutput::base(const JobTag& tag) const {
  return (std::filesystem::path(dir_) / (safeName(tag.job_id) + "-" + std::to_string(tag.attempt)))
      .string();
}

SubmittedJob SimulatedOutput::paths(const JobTag& tag) const {
  std::string b = base(tag);
  return SubmittedJob{.stdout_path = b + ".out", .stderr_path = b + ".err"};
}

void SimulatedOutput::started(const JobTag& tag, std::string_view script,
                              const std::string& partition, int nodes, Time at) const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  SubmittedJob p = paths(tag);
  std::string out = "aifed simulated site " + site_ + ": job " + tag.job_id + " attempt " +
                    std::to_string(tag.attempt) + "\n";
  out += "started " + utc(at) + " on " + std::to_string(nodes) + (nodes == 1 ? " node" : " nodes") +
         " of partition " + partition + "\n";
  for (const std::string& line : echoLines(script)) out += line + "\n";
  writeTo(p.stdout_path, out, /*truncate=*/true);
  writeTo(p.stderr_path, "", /*truncate=*/true);
}

void SimulatedOutput::ended(const JobTag& tag, JobState state, std::optional<int> exit_code,
                            const std::string& reason, Time at) const {
  SubmittedJob p = paths(tag);
  std::string how = std::string(jobStateName(state));
  if (exit_code) how += ", exit code " + std::to_string(*exit_code);
  writeTo(p.stdout_path, "ended " + utc(at) + ": " + how + "\n", /*truncate=*/false);
  if (state != JobState::kCompleted) {
    writeTo(p.stderr_path,
            "aifed simulated site " + site_ + ": job " + tag.job_id + " attempt " +
                std::to_string(tag.attempt) + " " + how +
                (reason.empty() || how.find(reason) != std::string::npos ? "" : ": " + reason) +
                "\n",
            /*truncate=*/false);
  }
}

}  // namespace aifed::agent
