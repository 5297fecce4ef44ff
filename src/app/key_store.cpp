#include "app/key_store.h"

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <optional>
#include <filesystem>

#include "seal/crypto.h"

namespace stacksnap::app {
namespace {

bool file_exists(const std::string& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0;
}

Status ensure_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return errno_error("create " + dir, ec.value());
  return {};
}

Error already_configured() {
  return already_exists("an encryption key is already configured; archives sealed with it still need it");
}

}  // namespace

KeyStore::KeyStore(std::string data_dir) : data_dir_(std::move(data_dir)) {}

bool KeyStore::exists_on_disk() const {
  return file_exists(seal::key_file_path(data_dir_)) || file_exists(seal::passphrase_record_path(data_dir_));
}

Status KeyStore::load() {
  const std::string key_path = seal::key_file_path(data_dir_);
  if (file_exists(key_path)) {
    auto k = TRY_CTX(seal::read_key_file(key_path), "load the key file");
    std::lock_guard lk(mu_);
    key_ = std::make_shared<const seal::MasterKey>(std::move(k));
    return {};
  }
  const std::string rec_path = seal::passphrase_record_path(data_dir_);
  const char* env = std::getenv("STACKSNAP_PASSPHRASE");
  if (file_exists(rec_path) && env && *env) return unlock(env);
  return {};
}

bool KeyStore::configured() const { return exists_on_disk(); }

nlohmann::json KeyStore::status() const {
  nlohmann::json j{{"configured", false}, {"source", nullptr}, {"unlocked", false}, {"fingerprint", nullptr}};
  std::lock_guard lk(mu_);
  if (file_exists(seal::key_file_path(data_dir_))) {
    j["configured"] = true;
    j["source"] = "key-file";
  } else if (file_exists(seal::passphrase_record_path(data_dir_))) {
    j["configured"] = true;
    j["source"] = "passphrase";
    auto rec = seal::read_passphrase_record(seal::passphrase_record_path(data_dir_));
    if (rec.ok()) j["fingerprint"] = rec->fingerprint;
  }
  if (key_) {
    j["unlocked"] = true;
    j["fingerprint"] = key_->fingerprint();
  }
  return j;
}

Result<std::string> KeyStore::generate() {
  std::lock_guard lk(mu_);
  if (exists_on_disk()) return already_configured();
  TRY(ensure_dir(data_dir_));
  auto k = TRY(seal::MasterKey::generate());
  TRY(seal::write_key_file(seal::key_file_path(data_dir_), k, seal::Overwrite::kRefuse));
  std::string hex = seal::hex_encode(k.bytes());
  key_ = std::make_shared<const seal::MasterKey>(std::move(k));
  return hex;
}

Result<RecoveryKey> parse_recovery_key(std::string_view text) {
  constexpr size_t kHexDigits = 2 * seal::kMasterKeySize;
  auto clean = [](std::string_view t) -> std::optional<std::string> {
    std::string out;
    for (char c : t) {
      if (c == ' ' || c == '-' || c == '\n' || c == '\r' || c == '\t') continue;
      if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
  };
  std::optional<std::string> found;
  if (auto whole = clean(text); whole && whole->size() == kHexDigits) found = *whole;
  size_t pos = 0;
  while (!found && pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (auto l = clean(line); l && l->size() == kHexDigits) found = *l;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (!found) {
    return invalid_argument("no recovery key found: paste the 64 hex digits of the key, or the whole recovery file");
  }
  auto raw = seal::hex_decode(*found);
  if (!raw.ok()) return invalid_argument("a recovery key is 64 hex digits");
  auto k = TRY(seal::MasterKey::from_bytes(as_bytes(*raw)));
  return RecoveryKey{.hex = *found, .fingerprint = k.fingerprint()};
}

Status KeyStore::import_hex(std::string_view hex) {
  auto parsed = TRY(parse_recovery_key(hex));
  auto raw = seal::hex_decode(parsed.hex);
  if (!raw.ok()) return invalid_argument("a recovery key is 64 hex digits");
  auto k = TRY(seal::MasterKey::from_bytes(as_bytes(*raw)));
  std::lock_guard lk(mu_);
  if (exists_on_disk()) return already_configured();
  TRY(ensure_dir(data_dir_));
  TRY(seal::write_key_file(seal::key_file_path(data_dir_), k, seal::Overwrite::kRefuse));
  key_ = std::make_shared<const seal::MasterKey>(std::move(k));
  return {};
}

Status KeyStore::set_passphrase(std::string_view passphrase) {
  if (passphrase.size() < kMinKeyPassphrase) {
    return invalid_argument("the passphrase must have at least " + std::to_string(kMinKeyPassphrase) + " characters");
  }
  {
    std::lock_guard lk(mu_);
    if (exists_on_disk()) return already_configured();
  }
  auto params = TRY(seal::new_argon2_params());
  auto k = TRY(seal::MasterKey::from_passphrase(passphrase, params));  // slow: outside the lock
  std::lock_guard lk(mu_);
  if (exists_on_disk()) return already_configured();
  TRY(ensure_dir(data_dir_));
  TRY(seal::write_passphrase_record(seal::passphrase_record_path(data_dir_), k, seal::Overwrite::kRefuse));
  key_ = std::make_shared<const seal::MasterKey>(std::move(k));
  return {};
}

Status KeyStore::unlock(std::string_view passphrase) {
  const std::string rec_path = seal::passphrase_record_path(data_dir_);
  if (!file_exists(rec_path)) return failed_precondition("the encryption key is not a passphrase key");
  auto rec = TRY(seal::read_passphrase_record(rec_path));
  auto k = seal::unlock_passphrase_record(rec, passphrase);
  if (!k.ok()) {
    if (k.error().code() == Code::kUnauthenticated) return invalid_argument("wrong passphrase");
    return std::move(k).error();
  }
  std::lock_guard lk(mu_);
  key_ = std::make_shared<const seal::MasterKey>(std::move(*k));
  return {};
}

Result<std::shared_ptr<const seal::MasterKey>> KeyStore::key() const {
  std::lock_guard lk(mu_);
  if (key_) return key_;
  if (file_exists(seal::passphrase_record_path(data_dir_))) {
    return failed_precondition("the encryption key is locked: unlock it with its passphrase");
  }
  return failed_precondition("no encryption key yet: create one in the dashboard's setup (POST /api/key)");
}

}  // namespace stacksnap::app
