// Reading the federation file (federation.h) with toml++.
//
// Every error names the source, the line of the offending value (or of the table that
// lacks a key) and the key path in the document, e.g.
//   "federation-7.toml:23: site[1].partition[0].nodes: must be positive"
// Keys this reader does not know are ignored, so a newer file with additional keys
// still loads in an older coordinator.
#include "protocol/federation.h"

#include <toml++/toml.h>

#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "protocol/toml_file.h"

namespace aifed {
namespace {

bool isSiteIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool isSiteId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!isSiteIdChar(c)) return false;
  }
  return true;
}

bool isCountryCode(std::string_view c) {
  return c.size() == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z';
}

bool isAcceleratorName(std::string_view name) {
  for (char c : name) {
    if (!isSiteIdChar(c)) return false;
  }
  return true;
}

// A Z85-encoded 32-byte CURVE key is exactly 40 characters from the Z85 alphabet.
bool isZ85Key(std::string_view key) {
  static constexpr std::string_view kZ85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (key.size() != 40) return false;
  for (char c : key) {
    if (kZ85.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string indexPath(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

std::string joinPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

// Builds errors that point into the document.
class Reporter {
 public:
  explicit Reporter(std::string_view source) : source_(source) {}

  Status error(const toml::node* at, const std::string& path, const std::string& what) const {
    std::string message = source_;
    if (at != nullptr && at->source().begin.line > 0) {
      message += ":" + std::to_string(at->source().begin.line);
    }
    message += ": ";
    if (!path.empty()) message += path + ": ";
    message += what;
    return invalidArgument(std::move(message), path);
  }

 private:
  std::string source_;
};

// Reads the keys of one TOML table, reporting errors with the table's key path.
class TableReader {
 public:
  TableReader(const Reporter& reporter, const toml::table& table, std::string path)
      : reporter_(reporter), table_(table), path_(std::move(path)) {}

  std::string path(std::string_view key) const { return joinPath(path_, key); }
  const toml::table& table() const { return table_; }
  const toml::node* find(std::string_view key) const { return table_.get(key); }

  Status missing(std::string_view key) const {
    return reporter_.error(&table_, path(key), "missing key");
  }
  Status error(std::string_view key, const std::string& what) const {
    const toml::node* at = find(key);
    return reporter_.error(at != nullptr ? at : &table_, path(key), what);
  }

  Status str(std::string_view key, std::string& out, bool required) const {
    const toml::node* n = find(key);
    if (n == nullptr) return required ? missing(key) : Status::Ok();
    if (!n->is_string()) return error(key, "must be a string");
    out = n->as_string()->get();
    return Status::Ok();
  }

  Status integer(std::string_view key, int& out, bool required) const {
    const toml::node* n = find(key);
    if (n == nullptr) return required ? missing(key) : Status::Ok();
    if (!n->is_integer()) return error(key, "must be an integer");
    int64_t v = n->as_integer()->get();
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
      return error(key, "is out of range");
    }
    out = static_cast<int>(v);
    return Status::Ok();
  }

  Status number(std::string_view key, double& out, bool required) const {
    const toml::node* n = find(key);
    if (n == nullptr) return required ? missing(key) : Status::Ok();
    if (n->is_integer()) {
      out = static_cast<double>(n->as_integer()->get());
    } else if (n->is_floating_point()) {
      out = n->as_floating_point()->get();
    } else {
      return error(key, "must be a number");
    }
    return Status::Ok();
  }

  Status strings(std::string_view key, std::vector<std::string>& out) const {
    const toml::node* n = find(key);
    if (n == nullptr) return Status::Ok();
    if (!n->is_array()) return error(key, "must be an array of strings");
    const toml::array& array = *n->as_array();
    for (size_t i = 0; i < array.size(); ++i) {
      const toml::node* item = array.get(i);
      if (!item->is_string()) {
        return reporter_.error(item, indexPath(path(key), i), "must be a string");
      }
      out.push_back(item->as_string()->get());
    }
    return Status::Ok();
  }

  // An array of tables ([[site]]); absent is an empty list.
  Status tables(std::string_view key, std::vector<const toml::table*>& out) const {
    const toml::node* n = find(key);
    if (n == nullptr) return Status::Ok();
    if (!n->is_array_of_tables()) {
      return error(key, "must be an array of tables ([[" + std::string(key) + "]])");
    }
    for (const toml::node& item : *n->as_array()) out.push_back(item.as_table());
    return Status::Ok();
  }

 private:
  const Reporter& reporter_;
  const toml::table& table_;
  std::string path_;
};

Status nonNegative(const TableReader& r, std::string_view key, double v) {
  if (v < 0) return r.error(key, "must not be negative");
  return Status::Ok();
}

Status readPartition(const TableReader& r, PartitionConfig& p) {
  RETURN_IF_ERROR(r.str("name", p.name, true));
  if (p.name.empty()) return r.error("name", "must not be empty");
  RETURN_IF_ERROR(r.integer("nodes", p.nodes, true));
  if (p.nodes <= 0) return r.error("nodes", "must be positive");
  RETURN_IF_ERROR(r.str("accelerator", p.node_type.accelerator, false));
  if (!isAcceleratorName(p.node_type.accelerator)) {
    return r.error("accelerator", "must be a lower-case model name ([a-z0-9-]), got \"" +
                                      p.node_type.accelerator + "\"");
  }
  RETURN_IF_ERROR(r.integer("accelerators_per_node", p.node_type.accelerators_per_node, false));
  if (p.node_type.accelerators_per_node < 0) {
    return r.error("accelerators_per_node", "must not be negative");
  }
  if (!p.node_type.accelerator.empty() && p.node_type.accelerators_per_node == 0) {
    return r.error("accelerators_per_node", "must be positive when accelerator is set");
  }
  if (p.node_type.accelerator.empty() && p.node_type.accelerators_per_node > 0) {
    return r.error("accelerator", "missing: accelerators_per_node is set");
  }
  RETURN_IF_ERROR(r.integer("cores_per_node", p.node_type.cores, true));
  if (p.node_type.cores <= 0) return r.error("cores_per_node", "must be positive");
  RETURN_IF_ERROR(r.integer("memory_gib", p.node_type.memory_gib, true));
  if (p.node_type.memory_gib <= 0) return r.error("memory_gib", "must be positive");
  return Status::Ok();
}

Status readSite(const Reporter& reporter, const TableReader& r, SiteConfig& s) {
  RETURN_IF_ERROR(r.str("id", s.id, true));
  if (!isSiteId(s.id)) {
    return r.error("id", "\"" + s.id + "\" is not a site id (1-64 characters of [a-z0-9-])");
  }
  RETURN_IF_ERROR(r.str("name", s.name, false));
  if (s.name.empty()) s.name = s.id;
  RETURN_IF_ERROR(r.str("city", s.city, false));
  RETURN_IF_ERROR(r.str("country", s.country, true));
  if (!isCountryCode(s.country)) {
    return r.error("country", "\"" + s.country +
                                  "\" is not an ISO 3166 alpha-2 code (two upper-case letters)");
  }
  RETURN_IF_ERROR(r.str("host", s.host, false));
  RETURN_IF_ERROR(r.number("energy_price_eur_mwh", s.energy_price_eur_mwh, false));
  RETURN_IF_ERROR(nonNegative(r, "energy_price_eur_mwh", s.energy_price_eur_mwh));
  RETURN_IF_ERROR(r.number("carbon_g_kwh", s.carbon_g_kwh, false));
  RETURN_IF_ERROR(nonNegative(r, "carbon_g_kwh", s.carbon_g_kwh));
  RETURN_IF_ERROR(r.number("pue", s.pue, false));
  if (s.pue < 1.0) return r.error("pue", "must be at least 1.0");
  RETURN_IF_ERROR(r.str("curve_public_key", s.curve_public_key, false));
  if (!s.curve_public_key.empty() && !isZ85Key(s.curve_public_key)) {
    return r.error("curve_public_key", "must be a Z85-encoded CURVE public key (40 characters)");
  }
  std::vector<const toml::table*> partitions;
  RETURN_IF_ERROR(r.tables("partition", partitions));
  if (partitions.empty()) {
    return reporter.error(&r.table(), r.path("partition"),
                          "a site needs at least one [[site.partition]]");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < partitions.size(); ++i) {
    TableReader pr(reporter, *partitions[i], indexPath(r.path("partition"), i));
    PartitionConfig p;
    RETURN_IF_ERROR(readPartition(pr, p));
    if (!names.insert(p.name).second) {
      return pr.error("name", "duplicate partition name \"" + p.name + "\" in this site");
    }
    s.partitions.push_back(std::move(p));
  }
  return Status::Ok();
}

Status readFederation(const Reporter& reporter, const toml::table& root, Federation& fed) {
  TableReader top(reporter, root, "");
  const toml::node* federation = root.get("federation");
  if (federation == nullptr) return top.missing("federation");
  if (!federation->is_table()) return top.error("federation", "must be a table ([federation])");
  TableReader fr(reporter, *federation->as_table(), "federation");
  RETURN_IF_ERROR(fr.str("name", fed.name, true));
  RETURN_IF_ERROR(fr.number("default_bandwidth_gbps", fed.default_bandwidth_gbps, false));
  if (fed.default_bandwidth_gbps <= 0)
    return fr.error("default_bandwidth_gbps", "must be positive");

  std::vector<const toml::table*> sites;
  RETURN_IF_ERROR(top.tables("site", sites));
  if (sites.empty()) return reporter.error(&root, "site", "the federation has no [[site]]");
  std::set<std::string> site_ids;
  for (size_t i = 0; i < sites.size(); ++i) {
    TableReader sr(reporter, *sites[i], indexPath("site", i));
    SiteConfig site;
    RETURN_IF_ERROR(readSite(reporter, sr, site));
    if (!site_ids.insert(site.id).second) {
      return sr.error("id", "duplicate site id \"" + site.id + "\"");
    }
    fed.sites.push_back(std::move(site));
  }

  std::vector<const toml::table*> datasets;
  RETURN_IF_ERROR(top.tables("dataset", datasets));
  // A data set is listed once per site that holds a copy of it (a replica); replicas
  // agree on the size.
  std::map<std::string, double> dataset_sizes;
  std::set<std::pair<std::string, std::string>> held;
  for (size_t i = 0; i < datasets.size(); ++i) {
    TableReader dr(reporter, *datasets[i], indexPath("dataset", i));
    DatasetConfig d;
    RETURN_IF_ERROR(dr.str("id", d.id, true));
    if (d.id.empty()) return dr.error("id", "must not be empty");
    RETURN_IF_ERROR(dr.str("site", d.site, true));
    if (site_ids.count(d.site) == 0) return dr.error("site", "unknown site \"" + d.site + "\"");
    if (!held.insert({d.id, d.site}).second) {
      return dr.error("site",
                      "dataset \"" + d.id + "\" is already listed at site \"" + d.site + "\"");
    }
    RETURN_IF_ERROR(dr.number("size_gb", d.size_gb, true));
    RETURN_IF_ERROR(nonNegative(dr, "size_gb", d.size_gb));
    if (auto [it, fresh] = dataset_sizes.emplace(d.id, d.size_gb);
        !fresh && it->second != d.size_gb) {
      std::ostringstream elsewhere;
      elsewhere << it->second;
      return dr.error("size_gb", "a replica of dataset \"" + d.id + "\" must have the same size (" +
                                     elsewhere.str() + " GB elsewhere)");
    }
    fed.datasets.push_back(std::move(d));
  }

  std::vector<const toml::table*> links;
  RETURN_IF_ERROR(top.tables("link", links));
  for (size_t i = 0; i < links.size(); ++i) {
    TableReader lr(reporter, *links[i], indexPath("link", i));
    std::vector<std::string> between;
    if (lr.find("between") == nullptr) return lr.missing("between");
    RETURN_IF_ERROR(lr.strings("between", between));
    if (between.size() != 2) return lr.error("between", "must name exactly two sites");
    for (const std::string& id : between) {
      if (site_ids.count(id) == 0) return lr.error("between", "unknown site \"" + id + "\"");
    }
    if (between[0] == between[1]) return lr.error("between", "must name two different sites");
    LinkConfig link{.a = between[0], .b = between[1]};
    RETURN_IF_ERROR(lr.number("bandwidth_gbps", link.bandwidth_gbps, true));
    if (link.bandwidth_gbps <= 0) return lr.error("bandwidth_gbps", "must be positive");
    fed.links.push_back(std::move(link));
  }

  std::vector<const toml::table*> projects;
  RETURN_IF_ERROR(top.tables("project", projects));
  std::set<std::string> project_ids;
  for (size_t i = 0; i < projects.size(); ++i) {
    TableReader pr(reporter, *projects[i], indexPath("project", i));
    ProjectConfig p;
    RETURN_IF_ERROR(pr.str("id", p.id, true));
    if (p.id.empty()) return pr.error("id", "must not be empty");
    if (!project_ids.insert(p.id).second) {
      return pr.error("id", "duplicate project id \"" + p.id + "\"");
    }
    RETURN_IF_ERROR(pr.str("country", p.country, true));
    if (!isCountryCode(p.country)) {
      return pr.error("country", "\"" + p.country +
                                     "\" is not an ISO 3166 alpha-2 code (two upper-case letters)");
    }
    if (const toml::node* alloc = pr.find("allocations"); alloc != nullptr) {
      if (!alloc->is_table()) return pr.error("allocations", "must be a table of site = GPU-hours");
      TableReader ar(reporter, *alloc->as_table(), pr.path("allocations"));
      for (const auto& [key, value] : *alloc->as_table()) {
        std::string site(key.str());
        if (site_ids.count(site) == 0) return ar.error(site, "unknown site \"" + site + "\"");
        double hours = 0;
        RETURN_IF_ERROR(ar.number(site, hours, true));
        RETURN_IF_ERROR(nonNegative(ar, site, hours));
        p.allocations[site] = hours;
      }
    }
    RETURN_IF_ERROR(pr.strings("allowed_countries", p.allowed_countries));
    for (size_t c = 0; c < p.allowed_countries.size(); ++c) {
      if (!isCountryCode(p.allowed_countries[c])) {
        const toml::node* at = pr.find("allowed_countries")->as_array()->get(c);
        return reporter.error(at, indexPath(pr.path("allowed_countries"), c),
                              "\"" + p.allowed_countries[c] +
                                  "\" is not an ISO 3166 alpha-2 code (two upper-case letters)");
      }
    }
    fed.projects.push_back(std::move(p));
  }
  return Status::Ok();
}

}  // namespace

const SiteConfig* Federation::findSite(std::string_view id) const {
  for (const SiteConfig& s : sites) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const ProjectConfig* Federation::findProject(std::string_view id) const {
  for (const ProjectConfig& p : projects) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

// Bandwidth between two sites in Gbit/s: a [[link]] in either direction, else the
// federation's default. Between a site and itself nothing moves over the network, so
// the answer is +infinity: staging time size / bandwidth is then exactly 0.
double Federation::bandwidthGbps(std::string_view a, std::string_view b) const {
  if (a == b) return std::numeric_limits<double>::infinity();
  for (const LinkConfig& link : links) {
    if ((link.a == a && link.b == b) || (link.a == b && link.b == a)) return link.bandwidth_gbps;
  }
  return default_bandwidth_gbps;
}

bool Federation::offersAccelerator(std::string_view model) const {
  if (model.empty()) return false;
  for (const SiteConfig& s : sites) {
    for (const PartitionConfig& p : s.partitions) {
      if (p.node_type.accelerator == model) return true;
    }
  }
  return false;
}

Result<Federation> parseFederation(std::string_view toml_text, std::string_view source_name) {
  Reporter reporter(source_name);
  Result<toml::table> parsed = parseTomlText(toml_text, source_name);
  if (!parsed.ok()) return parsed.status();
  toml::table root = std::move(*parsed);
  Federation fed;
  if (Status s = readFederation(reporter, root, fed); !s.ok()) return s;
  return fed;
}

Result<Federation> loadFederationFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot open federation file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return unavailable("cannot read federation file " + path);
  return parseFederation(text.str(), path);
}

}  // namespace aifed
