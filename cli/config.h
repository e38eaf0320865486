// Where `aifed` finds its coordinator and its token: flags, then the environment, then
// a TOML config file (docs/cli.md, "Configuration").
//
//   --server URL       AIFED_SERVER   server = "https://host:port"
//   --token TOKEN      AIFED_TOKEN    token = "aifed_..."
//   --token-file PATH  AIFED_TOKEN_FILE  token_file = "~/.config/aifed/token"
//   --fingerprint FP   AIFED_FINGERPRINT fingerprint = "AB:CD:..."
//   --ca-file PATH     AIFED_CA_FILE     ca_file = "/etc/aifed/ca.pem"
//
// The file is $AIFED_CONFIG when set (it must then exist), else
// $XDG_CONFIG_HOME/aifed/config.toml or ~/.config/aifed/config.toml (optional).
// For each setting the first source that gives it wins: flag > environment > file. A
// token and a token file from the same source are a usage error.
//
//   ClientSettings flags;  flags.server = "http://127.0.0.1:7780";
//   Result<ClientConfig> c = resolveClientConfig(flags, [](auto name) { return getenv...; });
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "protocol/status.h"

namespace aifed::cli {

constexpr const char* kDefaultServer = "https://127.0.0.1:7780";

// What one source says; unset members say nothing.
struct ClientSettings {
  std::optional<std::string> server;
  std::optional<std::string> token;
  std::optional<std::string> token_file;
  std::optional<std::string> fingerprint;  // of the coordinator's TLS certificate
  std::optional<std::string> ca_file;
};

struct ClientConfig {
  std::string server = kDefaultServer;
  std::string token;         // "" when no source gave one
  std::string token_source;  // "--token", "AIFED_TOKEN", "config file /x", ... for messages
  std::string config_file;   // the file that was read, "" when none
  std::string fingerprint;   // "" when none: then the CA file, else the system store
  std::string ca_file;
};

// Reads an environment variable: unset is nullopt.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup processEnvironment();

// The config file to read: $AIFED_CONFIG, else the default path ("" without HOME).
// `required` is true for $AIFED_CONFIG.
struct ConfigPath {
  std::string path;
  bool required = false;
};
ConfigPath configFilePath(const EnvLookup& env);

// Parses a config file's settings. kInvalidArgument naming the file, line and key for a
// TOML error or a value that is not a string; a relative token_file is resolved against
// the file's directory and "~/" against HOME.
Result<ClientSettings> loadConfigFile(const std::string& path, const EnvLookup& env);

// Merges flags, environment and file and reads the token file if that is what won.
// kInvalidArgument (a usage error) for an unreadable token file, a required config file
// that is missing, or a token and a token file from one source.
Result<ClientConfig> resolveClientConfig(const ClientSettings& flags, const EnvLookup& env);

}  // namespace aifed::cli
