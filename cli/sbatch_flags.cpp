#include "cli/sbatch_flags.h"

#include <cctype>
#include <set>

#include "common/strings.h"

namespace aifed::cli {
namespace json = boost::json;
namespace {

constexpr int kMaxArrayTasks = 10000;  // the server's limit (docs/api.md, "Arrays")
constexpr int64_t kMaxArrayIndex = 9999999;

// Non-empty decimal digits that fit in an int.
std::optional<int> count(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return static_cast<int>(*common::parseInt64(s));
}

Status bad(std::string_view flag, std::string_view text, const std::string& why) {
  return invalidArgument(std::string(flag) + ": \"" + std::string(text) + "\" " + why,
                         std::string(flag));
}

// An accelerator model as the federation spells it: letters, digits, '-', '_', '.'.
bool isModelName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string lowerCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

json::array listFlag(const std::vector<std::string>& values, bool upper) {
  json::array out;
  for (const std::string& v : values) {
    for (std::string_view part : common::split(v, ',')) {
      std::string item(common::trim(part));
      if (upper) {
        for (char& c : item) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      if (!item.empty()) out.emplace_back(item);
    }
  }
  return out;
}

Result<GpuRequest> parseGres(std::string_view text) {
  constexpr std::string_view kFlag = "--gres";
  if (text.find(',') != std::string_view::npos) {
    return bad(kFlag, text, "names several resources; aifed knows only gpu (gpu[:TYPE][:N])");
  }
  std::vector<std::string_view> parts = common::split(text, ':');
  if (parts.empty() || lowerCase(parts[0]) != "gpu") {
    return bad(kFlag, text,
               "is not a GPU request: aifed schedules only the gpu resource (gpu[:TYPE][:N])");
  }
  GpuRequest g;
  g.count = 1;  // Slurm: "gpu" alone is one per node
  if (parts.size() == 2) {
    if (std::optional<int> n = count(parts[1])) {
      g.count = *n;
    } else if (isModelName(parts[1])) {
      g.type = lowerCase(parts[1]);
    } else {
      return bad(kFlag, text, "must look like gpu[:TYPE][:N], e.g. gpu:h100:4");
    }
  } else if (parts.size() == 3) {
    std::optional<int> n = count(parts[2]);
    if (!isModelName(parts[1]) || !n) {
      return bad(kFlag, text, "must look like gpu[:TYPE][:N], e.g. gpu:h100:4");
    }
    g.type = lowerCase(parts[1]);
    g.count = *n;
  } else if (parts.size() > 3) {
    return bad(kFlag, text, "must look like gpu[:TYPE][:N], e.g. gpu:h100:4");
  }
  if (g.count < 1) return bad(kFlag, text, "asks for no GPU (leave --gres out for a CPU job)");
  return g;
}

Result<GpuRequest> parseGpuCount(std::string_view text, std::string_view flag) {
  std::vector<std::string_view> parts = common::split(text, ':');
  GpuRequest g;
  std::optional<int> n;
  if (parts.size() == 1) {
    n = count(parts[0]);
  } else if (parts.size() == 2 && isModelName(parts[0])) {
    g.type = lowerCase(parts[0]);
    n = count(parts[1]);
  }
  if (!n) return bad(flag, text, "must look like [TYPE:]N, e.g. h100:4 or 4");
  g.count = *n;
  return g;
}

Result<int> parseMemGiB(std::string_view text_in, std::string_view flag) {
  std::string_view text = common::trim(text_in);
  if (text.empty()) return bad(flag, text, "is empty (use e.g. 500G)");
  int64_t mib_per_unit = 1;  // Slurm's default unit: megabytes
  char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
  std::string_view digits = text;
  if (std::isalpha(static_cast<unsigned char>(unit))) {
    digits.remove_suffix(1);
    switch (unit) {
      case 'K':
        mib_per_unit = -1024;
        break;  // negative: divide
      case 'M':
        mib_per_unit = 1;
        break;
      case 'G':
        mib_per_unit = 1024;
        break;
      case 'T':
        mib_per_unit = 1024 * 1024;
        break;
      default:
        return bad(flag, text, "has an unknown unit (use K, M, G or T)");
    }
  }
  std::optional<int> n = count(digits);
  if (!n) return bad(flag, text, "is not a size (use e.g. 500G, 64000M or 2T)");
  int64_t mib = mib_per_unit < 0 ? (*n + 1023) / 1024 : int64_t{*n} * mib_per_unit;
  int64_t gib = (mib + 1023) / 1024;
  if (gib > 1024 * 1024) return bad(flag, text, "is more than 1 PiB per node");
  return static_cast<int>(gib);
}

Result<ArrayRequest> parseArray(std::string_view text_in) {
  constexpr std::string_view kFlag = "--array";
  std::string_view text = common::trim(text_in);
  ArrayRequest a;
  size_t pct = text.find('%');
  std::string_view list = text.substr(0, pct);
  if (pct != std::string_view::npos) {
    std::optional<int> max = count(text.substr(pct + 1));
    if (!max) return bad(kFlag, text, "has a bad throttle after % (e.g. 0-999%50)");
    a.max_running = *max;
  }
  const std::string form = "must be Slurm's index list, e.g. 0-999%50, 1,3,5-7 or 0-15:4";
  std::set<int> indices;
  for (std::string_view item : common::split(list, ',')) {
    size_t dash = item.find('-');
    std::optional<int> first = count(item.substr(0, dash)), last = first;
    int step = 1;
    if (dash != std::string_view::npos) {
      std::string_view rest = item.substr(dash + 1);
      size_t colon = rest.find(':');
      last = count(rest.substr(0, colon));
      if (colon != std::string_view::npos) {
        std::optional<int> s = count(rest.substr(colon + 1));
        if (!s || *s < 1) return bad(kFlag, text, "has a bad step after ':'");
        step = *s;
      }
    }
    if (!first || !last) return bad(kFlag, text, form);
    if (*last < *first) return bad(kFlag, text, "has a range that ends before it starts");
    if (*last > kMaxArrayIndex) return bad(kFlag, text, "has an index above 9999999");
    for (int64_t i = *first; i <= *last; i += step) {
      indices.insert(static_cast<int>(i));
      if (indices.size() > static_cast<size_t>(kMaxArrayTasks)) {
        return bad(kFlag, text, "names more than 10000 tasks (the federation's limit)");
      }
    }
  }
  if (indices.empty()) return bad(kFlag, text, form);
  a.indices = std::string(list);
  a.tasks = static_cast<int>(indices.size());
  return a;
}

Result<json::array> parseDependency(std::string_view text) {
  constexpr std::string_view kFlag = "--dependency";
  if (text.find('?') != std::string_view::npos) {
    return bad(kFlag, text,
               "uses '?' (any of): aifed waits for every dependency; separate them with ','");
  }
  json::array out;
  for (std::string_view item : common::split(text, ',')) {
    std::vector<std::string_view> parts = common::split(item, ':');
    std::string type = lowerCase(common::trim(parts[0]));
    if (type == "singleton" || type == "after" || type == "aftercorr" || type == "expand" ||
        type == "afterburstbuffer") {
      return bad(kFlag, text,
                 "uses " + type +
                     ", which aifed does not support (use afterok, afterany or "
                     "afternotok)");
    }
    if (type != "afterok" && type != "afterany" && type != "afternotok") {
      return bad(kFlag, text,
                 "must look like afterok:12[:13][,afterany:14] (afterok, afterany "
                 "or afternotok)");
    }
    if (parts.size() < 2) return bad(kFlag, text, "names no job after " + type + ":");
    for (size_t i = 1; i < parts.size(); ++i) {
      if (parts[i].find('+') != std::string_view::npos) {
        return bad(kFlag, text, "has a +time delay, which aifed does not support");
      }
      Result<std::string> id = normalizeJobId(parts[i], kFlag);
      if (!id.ok()) return id.status();
      out.push_back(json::object{{"job", *id}, {"condition", type}});
    }
  }
  return out;
}

Result<json::object> parseExport(std::string_view text, const EnvLookup& env) {
  constexpr std::string_view kFlag = "--export";
  json::object vars;
  std::vector<std::string_view> items = common::split(text, ',');
  for (size_t i = 0; i < items.size(); ++i) {
    std::string_view item = common::trim(items[i]);
    if (i == 0 && (item == "ALL" || item == "NONE")) continue;
    if (item.empty()) return bad(kFlag, text, "has an empty item");
    size_t eq = item.find('=');
    std::string name(item.substr(0, eq));
    bool ok_name = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name)
      ok_name = ok_name && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok_name) return bad(kFlag, text, "has a bad variable name \"" + name + "\"");
    if (eq != std::string_view::npos) {
      vars[name] = std::string(item.substr(eq + 1));
      continue;
    }
    std::optional<std::string> value = env ? env(name) : std::nullopt;
    if (!value) {
      return bad(kFlag, text,
                 "names " + name + ", which is not set here (give it a value: " + name + "=...)");
    }
    vars[name] = *value;
  }
  return vars;
}

Result<json::object> parseDataset(std::string_view text) {
  size_t colon = text.rfind(':');
  std::string id(common::trim(text.substr(0, colon)));
  json::object d{{"id", id}};
  if (colon != std::string_view::npos) {
    std::optional<double> gb = common::parseDouble(text.substr(colon + 1));
    if (!gb || *gb < 0) return bad("--dataset", text, "has a bad size (ID:SIZE_GB, e.g. c4:800)");
    d["size_gb"] = *gb;
  }
  if (id.empty()) return bad("--dataset", text, "names no dataset (ID[:SIZE_GB])");
  return d;
}

Status checkOutputName(std::string_view text, std::string_view flag) {
  if (text.empty()) return bad(flag, text, "is empty");
  if (text.front() == '/') {
    return bad(flag, text,
               "is an absolute path: the site chooses the job's output directory; give a file "
               "name in it (e.g. train-%j.out)");
  }
  for (std::string_view part : common::split(text, '/')) {
    if (part == "..") return bad(flag, text, "leaves the job's output directory (\"..\")");
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    char c = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c != 'j' && c != 'a' && c != 'A' && c != 'u' && c != 'x' && c != '%') {
      return bad(flag, text,
                 std::string("uses %") + (c ? std::string(1, c) : "") +
                     ", which aifed does not expand (use %j, %a, %A, %u, %x or %%)");
    }
    ++i;
  }
  return Status::Ok();
}

Result<std::string> normalizeJobId(std::string_view text_in, std::string_view flag) {
  std::string_view text = common::trim(text_in);
  std::string_view digits = text.substr(0, 2) == "j-" ? text.substr(2) : text;
  if (!count(digits)) return bad(flag, text, "is not a job id (j-12 or 12)");
  return "j-" + std::string(digits);
}

Result<std::string> normalizeArrayId(std::string_view text_in, std::string_view flag) {
  std::string_view text = common::trim(text_in);
  std::string_view digits = text.substr(0, 2) == "a-" ? text.substr(2) : text;
  if (!count(digits)) return bad(flag, text, "is not an array id (a-3 or 3)");
  return "a-" + std::string(digits);
}

}  // namespace aifed::cli
