#include "cli/key_commands.h"

#include <boost/json.hpp>
#include <filesystem>
#include <ostream>

#include "cli/api_call.h"
#include "protocol/transport/curve_keys.h"

namespace aifed::cli {
namespace json = boost::json;

Result<std::string> writeKeyFiles(const std::string& prefix, bool force) {
  std::filesystem::path p(prefix);
  std::string name = p.filename().string();
  if (prefix.empty() || name.empty() || name == "." || name == "..") {
    return invalidArgument("--out: \"" + prefix + "\" must name a file prefix such as keys/mimer",
                           "--out");
  }
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  if (!force) {
    for (const char* ext : {".key", ".pub"}) {
      std::filesystem::path f = p;
      f += ext;
      if (std::filesystem::exists(f)) {
        return Status(StatusCode::kAlreadyExists,
                      f.string() + " exists; refusing to overwrite it (use --force)", "--out");
      }
    }
  }
  Result<transport::CurveKeyPair> pair = transport::generateCurveKeyPair();
  if (!pair.ok()) return pair.status();
  if (Status s = transport::writeKeyPair(*pair, dir, name, force); !s.ok()) return s;
  return pair->public_key;
}

Result<std::string> keygenPrefix(const std::string& out, const std::string& name) {
  if (name.empty()) return out;
  if (name == "." || name == ".." || name.find('/') != std::string::npos) {
    return invalidArgument("--name: \"" + name + "\" must be a plain file name such as mimer",
                           "--name");
  }
  if (out.empty()) return invalidArgument("--out: the directory must not be empty", "--out");
  return (std::filesystem::path(out) / name).string();
}

KeyCommands addKeyCommands(CLI::App& app, KeyOptions& o) {
  KeyCommands c;
  c.keygen = app.add_subcommand(
      "keygen", "write a CURVE key pair: DIR/NAME.key (secret, 0600) and DIR/NAME.pub");
  c.keygen->add_option("--out", o.out, "directory (with --name), else a file prefix: keys/mimer")
      ->required();
  c.keygen->add_option("--name", o.name, "the key's name, usually the site id: mimer");
  c.keygen->add_flag("--force", o.force, "overwrite existing key files");
  CLI::App* key = app.add_subcommand("key", "inspect CURVE keys");
  key->require_subcommand(1);
  c.fingerprint = key->add_subcommand(
      "fingerprint", "print a public key's fingerprint (SHA256:...), to compare out of band");
  c.fingerprint->add_option("KEY", o.key, "a .pub or .key file, or a 40-character Z85 key")
      ->required();
  return c;
}

namespace {

int usageOrUnavailable(const Status& s) {
  return s.code() == StatusCode::kAlreadyExists || s.code() == StatusCode::kInvalidArgument ||
                 s.code() == StatusCode::kNotFound
             ? kExitUsage
             : kExitUnavailable;
}

int runKeygen(const KeyOptions& o, bool json_output, std::ostream& out, std::ostream& err) {
  Result<std::string> prefix = keygenPrefix(o.out, o.name);
  Result<std::string> pub = prefix.ok() ? writeKeyFiles(*prefix, o.force) : prefix.status();
  Result<std::string> fp = pub.ok() ? transport::curveKeyFingerprint(*pub) : pub.status();
  if (!fp.ok()) {
    err << "aifed keygen: " << fp.status().message() << "\n";
    return usageOrUnavailable(fp.status());
  }
  if (json_output) {
    out << json::serialize(json::object{{"public_key", *pub},
                                        {"fingerprint", *fp},
                                        {"key_file", *prefix + ".key"},
                                        {"pub_file", *prefix + ".pub"}})
        << "\n";
  } else {
    out << "wrote " << *prefix << ".key (secret, mode 0600) and " << *prefix
        << ".pub\npublic key:  " << *pub << "\nfingerprint: " << *fp << "\n";
  }
  return kExitOk;
}

int runFingerprint(const KeyOptions& o, bool json_output, std::ostream& out, std::ostream& err) {
  Result<std::string> pub = transport::readPublicKey(o.key);
  Result<std::string> fp = pub.ok() ? transport::curveKeyFingerprint(*pub) : pub.status();
  if (!fp.ok()) {
    err << "aifed key fingerprint: " << fp.status().message() << "\n";
    return usageOrUnavailable(fp.status());
  }
  if (json_output) {
    out << json::serialize(json::object{{"public_key", *pub}, {"fingerprint", *fp}}) << "\n";
  } else {
    out << *fp << "  " << *pub << "\n";
  }
  return kExitOk;
}

}  // namespace

std::optional<int> runKeyCommands(const KeyCommands& c, const KeyOptions& o, bool json_output,
                                  std::ostream& out, std::ostream& err) {
  if (c.keygen != nullptr && c.keygen->parsed()) return runKeygen(o, json_output, out, err);
  if (c.fingerprint != nullptr && c.fingerprint->parsed()) {
    return runFingerprint(o, json_output, out, err);
  }
  return std::nullopt;
}

}  // namespace aifed::cli
