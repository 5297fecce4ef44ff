#include "app/targets.h"

#include <sys/stat.h>

#include <array>
#include <filesystem>
#include <span>
#include <string_view>

#include "base/path.h"
#include "base/fd.h"

namespace stacksnap::app {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

enum class Type { kString, kBool, kInteger };
enum class Role { kPlain, kSecretFile, kPlainFile, kInlineSecret };

struct KeyRule {
  std::string_view key;
  Type type;
  Role role;
};

constexpr KeyRule kLocalKeys[] = {
    {"path", Type::kString, Role::kPlain},
    {"readable_names", Type::kBool, Role::kPlain},
    {"format", Type::kString, Role::kPlain},
};

constexpr KeyRule kS3Keys[] = {
    {"endpoint", Type::kString, Role::kPlain},
    {"bucket", Type::kString, Role::kPlain},
    {"region", Type::kString, Role::kPlain},
    {"prefix", Type::kString, Role::kPlain},
    {"addressing", Type::kString, Role::kPlain},
    {"readable_names", Type::kBool, Role::kPlain},
    {"format", Type::kString, Role::kPlain},
    {"access_key", Type::kString, Role::kPlain},
    {"part_size", Type::kInteger, Role::kPlain},
    {"parallel_parts", Type::kInteger, Role::kPlain},
    {"multipart_threshold", Type::kInteger, Role::kPlain},
    {"access_key_file", Type::kString, Role::kPlainFile},
    {"ca_file", Type::kString, Role::kPlainFile},
    {"secret_key_file", Type::kString, Role::kSecretFile},
    {"session_token_file", Type::kString, Role::kSecretFile},
    {"secret_key", Type::kString, Role::kInlineSecret},
    {"session_token", Type::kString, Role::kInlineSecret},
    {"ca_pem", Type::kString, Role::kInlineSecret},  // a CA bundle's text (the dashboard): becomes ca_file
};

// Trees a local target must never write into (nor anything below them).
constexpr std::array<std::string_view, 15> kSystemTrees = {
    "/proc", "/sys", "/dev", "/etc", "/boot", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/usr",
    "/run", "/var/run", "/var/lib/docker"};
// StackSnap's own state below the data directory.
constexpr std::array<std::string_view, 4> kStateDirs = {"secrets", "spool", "drills", "restores"};

constexpr size_t kMaxValue = 4096;
constexpr size_t kMaxPem = 256 * 1024;

std::span<const KeyRule> rules_for(const std::string& kind) {
  if (kind == "local") return kLocalKeys;
  if (kind == "s3") return kS3Keys;
  return {};
}

const KeyRule* rule_for(const std::string& kind, std::string_view key) {
  for (const auto& r : rules_for(kind)) {
    if (r.key == key) return &r;
  }
  return nullptr;
}

std::string resolved(const std::string& path) {
  std::error_code ec;
  auto p = fs::weakly_canonical(path, ec);
  return ec ? path : p.string();
}

// The *_file suffix of an inline secret key, and its file's name suffix.
std::string file_key_of(std::string_view inline_key) {
  return inline_key == "ca_pem" ? "ca_file" : std::string(inline_key) + "_file";
}
std::string file_suffix_of(std::string_view inline_key) {
  if (inline_key == "ca_pem") return ".ca.pem";
  return inline_key == "secret_key" ? ".secret" : "." + std::string(inline_key);
}

Status check_type(const KeyRule& r, const Json& v) {
  const std::string name = "config." + std::string(r.key);
  switch (r.type) {
    case Type::kBool:
      if (!v.is_boolean()) return invalid_argument(name + " must be true or false");
      return {};
    case Type::kInteger:
      if (!v.is_number_integer() || v.get<int64_t>() < 0) return invalid_argument(name + " must be a whole number");
      return {};
    case Type::kString:
      if (!v.is_string()) return invalid_argument(name + " must be a string");
      const auto& s = v.get_ref<const std::string&>();
      const bool pem = r.key == "ca_pem";  // a certificate bundle: lines, and longer
      if (s.size() > (pem ? kMaxPem : kMaxValue)) return invalid_argument(name + " is too long");
      for (char c : s) {
        if (pem && (c == '\n' || c == '\r')) continue;
        if (static_cast<unsigned char>(c) < 0x20) return invalid_argument(name + " contains control characters");
      }
      if (r.role == Role::kInlineSecret && s.empty()) return invalid_argument(name + " is empty");
      return {};
  }
  return {};
}

// `path` (as given, and with symlinks resolved) lies in no system tree and not in
// StackSnap's own state.
Status check_not_reserved(const std::string& data_dir, const std::string& path) {
  const std::string why = "config.path " + path + " ";
  for (const std::string& p : {path, resolved(path)}) {
    if (p == "/") return invalid_argument(why + "is the root directory");
    for (auto tree : kSystemTrees) {
      if (path_within(p, tree)) return invalid_argument(why + "lies in the system tree " + std::string(tree));
    }
    const std::string dd = resolved(data_dir);
    if (p == dd) return invalid_argument(why + "is StackSnap's data directory; use a directory of its own");
    for (auto sub : kStateDirs) {
      if (path_within(p, dd + "/" + std::string(sub))) {
        return invalid_argument(why + "lies in StackSnap's own state (" + dd + "/" + std::string(sub) + ")");
      }
    }
  }
  return {};
}

Status check_local_path(const std::string& data_dir, const std::string& path) {
  if (path.empty() || path.front() != '/') return invalid_argument("a local target needs config.path, an absolute directory");
  std::string normal = fs::path(path).lexically_normal().string();
  if (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  std::string given = path.size() > 1 && path.back() == '/' ? path.substr(0, path.size() - 1) : path;
  if (normal != given) return invalid_argument("config.path must be a plain absolute path (no '.', '..' or '//')");
  TRY(check_not_reserved(data_dir, given));
  std::error_code ec;
  if (fs::exists(given, ec) && !fs::is_directory(given, ec)) {
    return invalid_argument("config.path " + path + " exists and is not a directory");
  }
  return {};
}

Status check_file_key(const std::string& data_dir, std::string_view key, const std::string& value) {
  const std::string dir = resolved(secrets_dir(data_dir));
  const std::string hint = "config." + std::string(key) + " must name a file in " + dir +
                           " (give secrets inline, or let `stacksnap target add` copy the file there)";
  std::error_code ec;
  auto real = fs::canonical(value, ec);
  if (value.empty() || value.front() != '/' || ec) return invalid_argument(hint);
  if (!path_within(real.string(), dir) || real.string() == dir || !fs::is_regular_file(real, ec)) {
    return invalid_argument(hint);
  }
  return {};
}

}  // namespace

std::string secrets_dir(const std::string& data_dir) { return data_dir + "/secrets"; }

std::string target_secret_stem(const std::string& target) { return "target-" + target; }

Status check_target_config(const std::string& data_dir, const std::string& kind, const Json& cfg) {
  if (rules_for(kind).empty()) return invalid_argument("kind must be local or s3");
  if (!cfg.is_object()) return invalid_argument("config must be an object");
  for (auto it = cfg.begin(); it != cfg.end(); ++it) {
    const KeyRule* r = rule_for(kind, it.key());
    if (!r) return invalid_argument("config." + it.key() + " is not a setting of " + kind + " targets");
    TRY(check_type(*r, it.value()));
    if (r->role == Role::kSecretFile || r->role == Role::kPlainFile) {
      TRY(check_file_key(data_dir, r->key, it.value().get<std::string>()));
    }
  }
  if (const std::string f = cfg.value("format", "archive"); f != "archive" && f != "repository") {
    return invalid_argument("config.format must be repository (deduplicated, incremental) or archive (one file per backup)");
  }
  if (kind == "local") return check_local_path(data_dir, cfg.value("path", ""));
  if (cfg.value("bucket", "").empty()) return invalid_argument("an s3 target needs config.bucket");
  std::string a = cfg.value("addressing", "auto");
  if (a != "auto" && a != "path" && a != "virtual") return invalid_argument("config.addressing must be auto, path or virtual");
  return {};
}

Result<std::vector<std::string>> store_inline_secrets(const std::string& data_dir, const std::string& stem,
                                                      Json& cfg) {
  std::vector<std::string> written;
  for (const auto& r : kS3Keys) {
    if (r.role != Role::kInlineSecret || !cfg.is_object() || !cfg.contains(r.key)) continue;
    if (!cfg[r.key].is_string()) return invalid_argument("config." + std::string(r.key) + " must be a string");
    TRY(make_private_dirs(data_dir, secrets_dir(data_dir)));
    const std::string path = secrets_dir(data_dir) + "/" + stem + file_suffix_of(r.key);
    TRY(write_file_atomic(path, cfg[r.key].get<std::string>(), 0600));
    written.push_back(path);
    cfg.erase(std::string(r.key));
    cfg[file_key_of(r.key)] = path;
  }
  return written;
}

void remove_secret_files(const std::string& data_dir, const std::string& stem) {
  std::error_code ec;
  for (const auto& r : kS3Keys) {
    if (r.role == Role::kInlineSecret) fs::remove(secrets_dir(data_dir) + "/" + stem + file_suffix_of(r.key), ec);
  }
  fs::remove(secrets_dir(data_dir) + "/" + stem + ".ca.pem", ec);
}

Result<std::string> copy_into_secrets(const std::string& data_dir, const std::string& source, const std::string& name) {
  constexpr size_t kMaxCopied = 1 << 20;
  std::string content = TRY(read_small_file(source, kMaxCopied));
  TRY(make_private_dirs(data_dir, secrets_dir(data_dir)));
  const std::string path = secrets_dir(data_dir) + "/" + name;
  TRY(write_file_atomic(path, content, 0600));
  return path;
}

void set_new_target_defaults(Json& config) {
  if (config.is_object() && !config.contains("format")) config["format"] = "repository";
}

void keep_stored_format(const Json& old, Json& next) {
  if (old.is_object() && next.is_object() && !next.contains("format") && old.contains("format")) {
    next["format"] = old["format"];
  }
}

void keep_stored_secrets(const Json& old, Json& next) {
  if (!old.is_object() || !next.is_object()) return;
  for (const auto& r : kS3Keys) {
    if (r.role == Role::kSecretFile && !next.contains(r.key) && old.contains(r.key)) {
      next[std::string(r.key)] = old[std::string(r.key)];
    }
  }
}

Json public_target_config(const catalog::TargetRecord& t) {
  Json cfg = t.config.is_object() ? t.config : Json::object();
  bool secret = false;
  for (const auto& r : kS3Keys) {
    if (r.role != Role::kInlineSecret && r.role != Role::kSecretFile) continue;
    if (r.key == "secret_key" || r.key == "secret_key_file") secret = secret || cfg.contains(r.key);
    cfg.erase(std::string(r.key));
  }
  if (t.kind == "s3") cfg["secret_key_set"] = secret;
  return cfg;
}

Status migrate_inline_secrets(catalog::Catalog& cat, const std::string& data_dir, const Note& note) {
  bool moved = false;
  for (auto t : TRY(cat.list_targets())) {
    if (!t.config.is_object()) continue;
    auto files = TRY(store_inline_secrets(data_dir, target_secret_stem(t.name), t.config));
    if (!files.empty()) {
      // Overwrite the old row's bytes too, not just unlink them from the b-tree.
      if (!moved) TRY(cat.db().exec("PRAGMA secure_delete = ON"));
      moved = true;
      TRY(cat.update_target(t));
      if (note) note("target " + t.name + ": moved its stored secret out of the state database into " + files.front());
    }
    for (const auto& r : kS3Keys) {
      if (r.role != Role::kSecretFile && r.role != Role::kPlainFile) continue;
      if (!t.config.contains(r.key) || !t.config[r.key].is_string()) continue;
      if (!check_file_key(data_dir, r.key, t.config[r.key].get<std::string>()).ok() && note) {
        note("target " + t.name + ": " + std::string(r.key) + " lies outside " + secrets_dir(data_dir) +
             "; remove and re-add the target");
      }
    }
  }
  if (moved) {
    TRY(cat.db().exec("PRAGMA wal_checkpoint(TRUNCATE)"));  // no old page left in the WAL
    TRY(cat.db().exec("PRAGMA secure_delete = OFF"));
  }
  return {};
}

}  // namespace stacksnap::app
