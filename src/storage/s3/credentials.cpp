#include "storage/s3/credentials.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/fd.h"

namespace stacksnap::storage::s3 {
namespace {

constexpr size_t kMaxSecretFile = 64 * 1024;

std::string trim_trailing(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

Result<std::string> read_value_file(const std::string& path, bool secret) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return errno_error("read credentials file " + path, errno);
  if (!S_ISREG(st.st_mode)) return invalid_argument("credentials file " + path + " is not a regular file");
  if (secret && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return failed_precondition("secret file " + path + " is readable by others (mode " + mode +
                               "); run: chmod 600 " + path);
  }
  std::string v = trim_trailing(TRY(read_small_file(path, kMaxSecretFile)));
  if (v.empty()) return invalid_argument("credentials file " + path + " is empty");
  if (v.find('\n') != std::string::npos) return invalid_argument("credentials file " + path + " has more than one line");
  return v;
}

struct Pick {
  std::string value;
  std::string source;
};

Result<Pick> pick(const std::string& flag, const std::string& file, bool secret, const EnvLookup& env,
                  std::initializer_list<std::string_view> vars) {
  if (!flag.empty()) return Pick{flag, "flag"};
  if (!file.empty()) return Pick{TRY(read_value_file(file, secret)), "file " + file};
  for (auto var : vars) {
    if (auto v = env(var); v && !v->empty()) return Pick{*v, "environment " + std::string(var)};
  }
  return Pick{};
}

}  // namespace

std::optional<std::string> process_env(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::string ResolvedCredentials::describe() const {
  std::string shown = access_key.size() > 4 ? access_key.substr(0, 4) + "…" : "…";
  std::string d = "access key " + shown + " from " + access_key_source + ", secret key from " + secret_key_source;
  if (!session_token.empty()) d += ", with a session token";
  return d + ", region " + region;
}

Result<ResolvedCredentials> resolve_credentials(const CredentialFlags& f, const EnvLookup& env) {
  ResolvedCredentials c;
  Pick ak = TRY(pick(f.access_key, f.access_key_file, false, env, {"AWS_ACCESS_KEY_ID"}));
  Pick sk = TRY(pick(f.secret_key, f.secret_key_file, true, env, {"AWS_SECRET_ACCESS_KEY"}));
  Pick tok = TRY(pick(f.session_token, f.session_token_file, true, env, {"AWS_SESSION_TOKEN"}));
  Pick region = TRY(pick(f.region, "", false, env, {"AWS_REGION", "AWS_DEFAULT_REGION"}));
  if (ak.value.empty() || sk.value.empty()) {
    return unauthenticated(std::string("no S3 ") + (ak.value.empty() ? "access key" : "secret key") +
                           ": pass --access-key and --secret-key-file, or set AWS_ACCESS_KEY_ID and "
                           "AWS_SECRET_ACCESS_KEY");
  }
  c.access_key = std::move(ak.value);
  c.access_key_source = std::move(ak.source);
  c.secret_key = std::move(sk.value);
  c.secret_key_source = std::move(sk.source);
  c.session_token = std::move(tok.value);
  c.region = region.value.empty() ? "us-east-1" : std::move(region.value);
  return c;
}

Result<std::string> read_secret_file(const std::string& path) { return read_value_file(path, true); }

Status store_secret_file(const std::string& path, std::string_view secret) {
  return write_file_atomic(path, secret, 0600);
}

}  // namespace stacksnap::storage::s3
