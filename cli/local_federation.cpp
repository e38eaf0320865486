#include "cli/local_federation.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "protocol/federation.h"
#include "protocol/transport/curve_keys.h"

namespace aifed::cli {
namespace fs = std::filesystem;

namespace {

Result<transport::CurveKeyPair> ensureKeyPair(const std::string& dir, const std::string& name) {
  std::string path = dir + "/" + name + ".key";
  if (fs::exists(path)) return transport::readKeyPairFile(path);
  Result<transport::CurveKeyPair> pair = transport::generateCurveKeyPair();
  if (!pair.ok()) return pair;
  if (Status s = transport::writeKeyPair(*pair, dir, name); !s.ok()) return s;
  return pair;
}

std::string tomlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// This process's environment with `changes` applied (an empty value removes the name).
std::vector<std::string> childEnvironment(const std::map<std::string, std::string>& changes) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    if (changes.count(entry.substr(0, entry.find('='))) == 0) out.push_back(std::move(entry));
  }
  for (const auto& [key, value] : changes) {
    if (!value.empty()) out.push_back(key + "=" + value);
  }
  return out;
}

}  // namespace

std::string addSiteKeys(const std::string& text,
                        const std::map<std::string, std::string>& public_keys) {
  static const std::regex kTableHeader(R"(^\s*\[.*)");
  static const std::regex kSiteHeader(R"(^\s*\[\[\s*site\s*\]\]\s*(#.*)?$)");
  static const std::regex kId(R"ID(^\s*id\s*=\s*"([^"]+)".*)ID");
  static const std::regex kKey(R"(^\s*curve_public_key\s*=.*)");
  std::istringstream in(text);
  std::ostringstream out;
  std::string line;
  bool in_site = false;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, kTableHeader)) in_site = std::regex_match(line, kSiteHeader);
    if (in_site && std::regex_match(line, kKey)) continue;  // replaced below
    out << line << "\n";
    if (in_site && std::regex_match(line, m, kId)) {
      auto it = public_keys.find(m[1].str());
      if (it != public_keys.end()) out << "curve_public_key = \"" << it->second << "\"\n";
    }
  }
  return out.str();
}

Result<std::unique_ptr<LocalFederation>> LocalFederation::prepare(LocalFederationOptions o) {
  Result<std::string> text = common::readFile(o.federation_file);
  if (!text.ok()) return text.status();
  Result<Federation> fed = parseFederation(*text, o.federation_file);
  if (!fed.ok()) return fed.status();

  std::error_code ec;
  fs::create_directories(o.state_dir + "/keys", ec);
  fs::create_directories(o.state_dir + "/agents", ec);
  fs::create_directories(o.state_dir + "/logs", ec);
  fs::create_directories(o.state_dir + "/db", ec);
  if (ec) return unavailable("cannot create " + o.state_dir + ": " + ec.message());
  o.state_dir = fs::absolute(o.state_dir).lexically_normal().string();
  o.bin_dir = fs::absolute(o.bin_dir).lexically_normal().string();
  if (o.fresh_state) {
    // Databases go; the coordinator's TLS certificate stays, like the keys, so a
    // fingerprint pinned in an earlier run still holds.
    for (const auto& entry : fs::directory_iterator(o.state_dir + "/db")) {
      if (entry.path().filename() != "tls") fs::remove_all(entry.path(), ec);
    }
  }
  std::unique_ptr<LocalFederation> lf(new LocalFederation(o));
  std::string keys = lf->keysDir();

  Result<transport::CurveKeyPair> coordinator_keys = ensureKeyPair(keys, "coordinator");
  if (!coordinator_keys.ok()) return coordinator_keys.status();
  std::map<std::string, std::string> public_keys;
  for (const SiteConfig& s : fed->sites) {
    Result<transport::CurveKeyPair> kp = ensureKeyPair(keys, s.id);
    if (!kp.ok()) return kp.status();
    public_keys[s.id] = kp->public_key;
    lf->sites_.push_back(s.id);
  }
  std::string fed_path = o.state_dir + "/federation.toml";
  RETURN_IF_ERROR(common::writeFileAtomically(fed_path, addSiteKeys(*text, public_keys)));

  std::string db = o.coordinator_database.empty() ? "db/coordinator.db" : o.coordinator_database;
  std::ostringstream coord;
  coord << "# Written by aifed's local federation launcher.\n"
        << "federation = \"federation.toml\"\n"
        << "key_file = \"keys/coordinator.key\"\n"
        << "database = " << tomlString(db) << "\n"
        << "zmq_bind = " << tomlString("tcp://" + o.zmq_host + ":*") << "\n"
        << "http_address = \"127.0.0.1\"\n"
        << "http_port = 0\n"
        << "log_level = " << tomlString(o.log_level) << "\n"
        << (o.coordinator_database.empty() ? "" : "admin_token_file = \"db/admin.token\"\n")
        << (o.history_interval.empty() ? ""
                                       : "history_interval = " + tomlString(o.history_interval) + "\n")
        << "\n[liveness]\n"
        << "heartbeat_interval_ms = " << o.heartbeat_interval_ms << "\n"
        << "suspect_after_missed = " << o.suspect_after_missed << "\n"
        << "unreachable_after_missed = " << o.unreachable_after_missed << "\n"
        << "lost_lease_ms = " << o.lost_lease_ms << "\n"
        << "retry_interval_ms = " << o.retry_interval_ms << "\n"
        << "maintenance_grace_ms = " << o.maintenance_grace_ms << "\n";
  RETURN_IF_ERROR(common::writeFileAtomically(o.state_dir + "/coordinator.toml", coord.str()));

  for (const std::string& site : lf->sites_) {
    std::ostringstream agent;
    agent << "# Written by aifed's local federation launcher.\n"
          << "site = " << tomlString(site) << "\n"
          << "coordinator = \"tcp://127.0.0.1:1\"   # replaced by --coordinator at start\n"
          << "coordinator_public_key = " << tomlString(coordinator_keys->public_key) << "\n"
          << "key_file = \"../keys/" << site << ".key\"\n"
          << "state_db = \"../db/" << site << "-agent.db\"\n"
          << "backend = \"simulated\"\n"
          << "log_level = " << tomlString(o.log_level) << "\n\n"
          << "[simulated]\n"
          << "federation = \"../federation.toml\"\n"
          << "speedup = " << o.speedup << "\n"
          << "scheduler = " << tomlString(o.scheduler) << "\n"
          << "output_dir = \"../output/" << site << "\"   # the jobs' output files\n";
    RETURN_IF_ERROR(common::writeFileAtomically(lf->agentConfigPath(site), agent.str()));
  }
  return lf;
}

LocalFederation::~LocalFederation() {
  stopAll();
}

std::string LocalFederation::agentConfigPath(const std::string& site) const {
  return options_.state_dir + "/agents/" + site + ".toml";
}
std::string LocalFederation::keysDir() const {
  return options_.state_dir + "/keys";
}
std::string LocalFederation::logPath(const std::string& name) const {
  return options_.state_dir + "/logs/" + name + ".log";
}

Status LocalFederation::spawn(const std::string& name, const std::vector<std::string>& argv) {
  if (running(name)) return failedPrecondition(name + " is already running");
  if (access(argv[0].c_str(), X_OK) != 0) {
    return notFound(argv[0] + " is not an executable: build first (./aifed.sh build)");
  }
  std::vector<std::string> command = launch_prefix_[name];
  command.insert(command.end(), argv.begin(), argv.end());
  const std::vector<std::string>& extra = extra_args_[name];
  command.insert(command.end(), extra.begin(), extra.end());
  std::vector<std::string> environment = childEnvironment(environment_[name]);
  Result<pid_t> pid = spawnLogged(command, logPath(name), &environment);
  if (!pid.ok()) return pid.status();
  processes_[name] = *pid;
  return Status::Ok();
}

Result<pid_t> spawnLogged(const std::vector<std::string>& argv, const std::string& log_path,
                          const std::vector<std::string>* environment) {
  // Everything the child needs is built before fork(): the caller may have threads, and
  // after fork() only async-signal-safe calls are safe.
  std::vector<char*> args, envp;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  if (environment) {
    for (const std::string& e : *environment) envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return unavailable("fork failed for " + argv[0]);
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    // Children must not inherit the parent's blocked signals (the coordinator blocks
    // SIGINT/SIGTERM and waits for them; an agent relies on its handler).
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (environment) {
      execvpe(args[0], args.data(), envp.data());
    } else {
      execvp(args[0], args.data());
    }
    _exit(127);
  }
  return pid;
}

Status LocalFederation::startCoordinator(Duration timeout) {
  std::string ready = options_.state_dir + "/coordinator.ready.json";
  fs::remove(ready);
  std::vector<std::string> argv = {options_.bin_dir + "/coordinator/aifed-coordinator", "--config",
                                   options_.state_dir + "/coordinator.toml", "--ready-file", ready};
  // The first start in a state directory makes the federation's database; later starts
  // must find it (an empty or missing one is refused: docs/operations.md).
  if (!fs::exists(coordinatorDatabasePath())) argv.push_back("--init");
  if (!zmq_endpoint_.empty()) {
    // A restart: keep the ports, so running agents find the coordinator again.
    argv.insert(argv.end(),
                {"--zmq-bind", zmq_endpoint_, "--http-port", std::to_string(http_port_)});
  }
  Status s = spawn("coordinator", argv);
  if (!s.ok()) return s;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running("coordinator")) {
      return unavailable("the coordinator exited at start; see " + logPath("coordinator"));
    }
    Result<std::string> text = common::readFile(ready);
    if (text.ok()) {
      try {
        boost::json::object o = boost::json::parse(*text).as_object();
        zmq_endpoint_ = std::string(o.at("zmq_endpoint").as_string());
        http_port_ = static_cast<uint16_t>(o.at("http_port").to_number<int64_t>());
        tls_fingerprint_ = std::string(o.at("tls_fingerprint").as_string());
        Result<std::string> token = common::readFile(options_.state_dir + "/db/admin.token");
        if (!token.ok()) return token.status();
        admin_token_ = token->substr(0, token->find_first_of("\r\n"));
        return Status::Ok();
      } catch (const std::exception&) {
        // Written atomically, so a parse error means a stale or foreign file: wait.
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return unavailable("the coordinator did not become ready in time; see " + logPath("coordinator"));
}

std::string LocalFederation::baseUrl() const {
  return "https://127.0.0.1:" + std::to_string(http_port_);
}

HttpClientOptions LocalFederation::clientOptions() const {
  HttpClientOptions o;
  o.timeout = std::chrono::seconds(10);
  o.fingerprint = tls_fingerprint_;
  o.bearer_token = admin_token_;
  return o;
}

Status LocalFederation::startAgent(const std::string& site) {
  if (zmq_endpoint_.empty()) return failedPrecondition("start the coordinator first");
  return spawn(site, {options_.bin_dir + "/site-agent/aifed-agent", "--config",
                      agentConfigPath(site), "--coordinator", zmq_endpoint_});
}

bool LocalFederation::running(const std::string& name) const {
  auto it = processes_.find(name);
  if (it == processes_.end()) return false;
  // WNOWAIT only peeks: a process that ended stays reapable by stop().
  siginfo_t info = {};
  if (waitid(P_PID, it->second, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

Status LocalFederation::stop(const std::string& name, int signal_number) {
  auto it = processes_.find(name);
  if (it == processes_.end()) return notFound(name + " is not running");
  pid_t pid = it->second;
  kill(pid, signal_number);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  processes_.erase(it);
  if (signal_number == SIGKILL) return Status::Ok();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  return internalError(name + " did not stop cleanly (status " + std::to_string(status) +
                       "); see " + logPath(name));
}

Status LocalFederation::stopCoordinator(int signal_number) {
  return stop("coordinator", signal_number);
}

Status LocalFederation::stopAgent(const std::string& site, int signal_number) {
  return stop(site, signal_number);
}

pid_t LocalFederation::pid(const std::string& name) const {
  auto it = processes_.find(name);
  return it == processes_.end() ? 0 : it->second;
}

void LocalFederation::setEnvironment(const std::string& name,
                                     std::map<std::string, std::string> env) {
  environment_[name] = std::move(env);
}

void LocalFederation::setLaunchPrefix(const std::string& name, std::vector<std::string> prefix) {
  launch_prefix_[name] = std::move(prefix);
}

void LocalFederation::setExtraArguments(const std::string& name, std::vector<std::string> args) {
  extra_args_[name] = std::move(args);
}

std::string LocalFederation::coordinatorDatabasePath() const {
  std::string db =
      options_.coordinator_database.empty() ? "db/coordinator.db" : options_.coordinator_database;
  return fs::path(db).is_absolute() ? db : options_.state_dir + "/" + db;
}

void LocalFederation::stopAll() {
  std::vector<std::string> names;
  for (const auto& [name, pid] : processes_) {
    if (name != "coordinator") names.push_back(name);
  }
  for (const auto& n : names) (void)stop(n, SIGTERM);
  if (processes_.count("coordinator")) (void)stop("coordinator", SIGTERM);
}

}  // namespace aifed::cli
