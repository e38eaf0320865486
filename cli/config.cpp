#include "cli/config.h"

#include <cstdlib>
#include <filesystem>

#include "common/files.h"
#include "common/strings.h"
#include "common/toml_reader.h"

namespace aifed::cli {
namespace fs = std::filesystem;
namespace {

std::string expandHome(const std::string& path, const EnvLookup& env) {
  if (path == "~" || path.starts_with("~/")) {
    if (std::optional<std::string> home = env("HOME")) return *home + path.substr(1);
  }
  return path;
}

Result<std::string> readToken(const std::string& path, const std::string& source) {
  Result<std::string> file = common::readFile(path);
  if (!file.ok()) {
    return invalidArgument(source + ": token file: " + file.status().message(), "token_file");
  }
  std::string text(common::trim(*file));
  if (text.empty()) return invalidArgument(source + ": the token file " + path + " is empty");
  return text;
}

}  // namespace

EnvLookup processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
}

ConfigPath configFilePath(const EnvLookup& env) {
  if (std::optional<std::string> p = env("AIFED_CONFIG")) return {expandHome(*p, env), true};
  if (std::optional<std::string> xdg = env("XDG_CONFIG_HOME")) {
    return {*xdg + "/aifed/config.toml", false};
  }
  if (std::optional<std::string> home = env("HOME")) {
    return {*home + "/.config/aifed/config.toml", false};
  }
  return {};
}

Result<ClientSettings> loadConfigFile(const std::string& path, const EnvLookup& env) {
  ASSIGN_OR_RETURN(common::TomlDocument doc, common::TomlDocument::load(path));
  common::TomlTable root = doc.root();
  RETURN_IF_ERROR(root.expectKeys({"server", "token", "token_file", "fingerprint", "ca_file"}));
  ClientSettings s;
  // Each setting is a string; absent ones say nothing (the next source may).
  auto read = [&](std::string_view key, std::optional<std::string>& out) -> Status {
    if (!root.has(key)) return Status::Ok();
    std::string value;
    RETURN_IF_ERROR(root.str(key, value));
    out = std::move(value);
    return Status::Ok();
  };
  RETURN_IF_ERROR(read("server", s.server));
  RETURN_IF_ERROR(read("token", s.token));
  RETURN_IF_ERROR(read("fingerprint", s.fingerprint));
  RETURN_IF_ERROR(read("ca_file", s.ca_file));
  RETURN_IF_ERROR(read("token_file", s.token_file));
  // Paths are relative to the file, "~/" to HOME.
  for (std::optional<std::string>* file : {&s.ca_file, &s.token_file}) {
    if (!*file) continue;
    std::string f = expandHome(**file, env);
    if (!fs::path(f).is_absolute()) f = (fs::path(path).parent_path() / f).string();
    *file = f;
  }
  return s;
}

Result<ClientConfig> resolveClientConfig(const ClientSettings& flags, const EnvLookup& env) {
  ClientSettings from_env;
  from_env.server = env("AIFED_SERVER");
  from_env.token = env("AIFED_TOKEN");
  from_env.token_file = env("AIFED_TOKEN_FILE");
  from_env.fingerprint = env("AIFED_FINGERPRINT");
  from_env.ca_file = env("AIFED_CA_FILE");

  ClientConfig out;
  ClientSettings from_file;
  ConfigPath cp = configFilePath(env);
  if (!cp.path.empty()) {
    std::error_code ec;
    if (fs::exists(cp.path, ec)) {
      Result<ClientSettings> f = loadConfigFile(cp.path, env);
      if (!f.ok()) return f.status();
      from_file = std::move(*f);
      out.config_file = cp.path;
    } else if (cp.required) {
      return invalidArgument("AIFED_CONFIG names " + cp.path + ", which does not exist",
                             "AIFED_CONFIG");
    }
  }

  struct Source {
    const ClientSettings* settings;
    std::string token_name, file_name;
  };
  const std::string in_file = "config file " + out.config_file;
  const Source sources[] = {
      {&flags, "--token", "--token-file"},
      {&from_env, "AIFED_TOKEN", "AIFED_TOKEN_FILE"},
      {&from_file, in_file + " (token)", in_file + " (token_file)"},
  };
  for (const Source& src : sources) {
    if (src.settings->server) {
      out.server = *src.settings->server;
      break;
    }
  }
  for (const Source& src : sources) {
    if (src.settings->fingerprint) {
      out.fingerprint = *src.settings->fingerprint;
      break;
    }
  }
  for (const Source& src : sources) {
    if (src.settings->ca_file) {
      out.ca_file = expandHome(*src.settings->ca_file, env);
      break;
    }
  }
  for (const Source& src : sources) {
    const ClientSettings& s = *src.settings;
    if (s.token && s.token_file) {
      return invalidArgument("give " + src.token_name + " or " + src.file_name + ", not both",
                             "token");
    }
    if (s.token) {
      out.token = *s.token;
      out.token_source = src.token_name;
      break;
    }
    if (s.token_file) {
      Result<std::string> t = readToken(expandHome(*s.token_file, env), src.file_name);
      if (!t.ok()) return t.status();
      out.token = std::move(*t);
      out.token_source = src.file_name + " " + *s.token_file;
      break;
    }
  }
  return out;
}

}  // namespace aifed::cli
