// `aifed keygen` and `aifed key fingerprint`: CURVE key pairs for the sites and the
// coordinator, and the fingerprint two admins compare out of band (docs/security.md,
// "Keys"). Nothing here talks to the coordinator.
//
//   KeyOptions ko;
//   KeyCommands kc = addKeyCommands(app, ko);
//   app.parse(argc, argv);
//   if (std::optional<int> code = runKeyCommands(kc, ko, json, out, err)) return *code;
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <optional>
#include <string>

#include "protocol/status.h"

namespace aifed::cli {

struct KeyOptions {
  std::string out;   // keygen: DIR with --name, else the file prefix
  std::string name;  // keygen: the key's name (DIR/NAME.key, DIR/NAME.pub)
  bool force = false;
  std::string key;  // key fingerprint: a key file or a bare Z85 key
};

struct KeyCommands {
  CLI::App* keygen = nullptr;
  CLI::App* fingerprint = nullptr;  // `aifed key fingerprint`
};

KeyCommands addKeyCommands(CLI::App& app, KeyOptions& options);

// The exit code of the key command that was parsed, or nullopt when none was.
std::optional<int> runKeyCommands(const KeyCommands& commands, const KeyOptions& options,
                                  bool json_output, std::ostream& out, std::ostream& err);

// `aifed keygen --out PREFIX`: writes PREFIX.key (public + secret, mode 0600) and
// PREFIX.pub (the bare public key), creating PREFIX's directory. kAlreadyExists if either
// file exists and not `force`. Returns the public key.
Result<std::string> writeKeyFiles(const std::string& prefix, bool force);

// The prefix keygen writes to: DIR/NAME with --name, else `out` itself. kInvalidArgument
// when NAME is not a plain file name.
Result<std::string> keygenPrefix(const std::string& out, const std::string& name);

}  // namespace aifed::cli
