#include "seal/key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/fd.h"
#include "seal/crypto.h"

namespace stacksnap::seal {

namespace {

Status ensure_sodium() {
  static const int rc = sodium_init();
  if (rc < 0) return internal_error("libsodium could not be initialised");
  return {};
}

Result<unsigned char*> secure_alloc(size_t n) {
  TRY(ensure_sodium());
  void* p = sodium_malloc(n == 0 ? 1 : n);
  if (p == nullptr) return resource_exhausted("cannot allocate locked memory for a secret");
  return static_cast<unsigned char*>(p);
}

std::string derive_hex(Bytes key, std::string_view info, size_t n) {
  std::array<uint8_t, 32> out{};
  // HKDF over a 32-byte key cannot fail with the default provider.
  if (!hkdf_sha256(key, {}, as_bytes(info), byte_view_mut(out.data(), n)).ok()) std::abort();
  std::string hex = hex_encode(byte_view(out.data(), n));
  sodium_memzero(out.data(), out.size());
  return hex;
}

constexpr std::string_view kVerifierInfo = "stacksnap v1 passphrase verifier";
constexpr std::string_view kFingerprintInfo = "stacksnap v1 fingerprint";

}  // namespace

std::string_view key_kind_name(KeyKind k) {
  switch (k) {
    case KeyKind::kKeyFile: return "key-file";
    case KeyKind::kPassphrase: return "passphrase";
  }
  return "unknown";
}

Status check_argon2_params(const Argon2Params& p) {
  if (p.opslimit < kArgon2MinOps || p.opslimit > kArgon2MaxOps) {
    return invalid_argument("Argon2id opslimit " + std::to_string(p.opslimit) + " is outside [" +
                            std::to_string(kArgon2MinOps) + ", " + std::to_string(kArgon2MaxOps) + "]");
  }
  if (p.memlimit_kib < kArgon2MinMemKib || p.memlimit_kib > kArgon2MaxMemKib) {
    return invalid_argument("Argon2id memlimit " + std::to_string(p.memlimit_kib) + " KiB is outside [" +
                            std::to_string(kArgon2MinMemKib) + ", " + std::to_string(kArgon2MaxMemKib) +
                            "] KiB");
  }
  if (p.parallelism != 1) {
    return invalid_argument("Argon2id parallelism " + std::to_string(p.parallelism) + " is not supported (only 1)");
  }
  return {};
}

Result<Argon2Params> new_argon2_params(uint32_t opslimit, uint32_t memlimit_kib) {
  Argon2Params p;
  p.opslimit = opslimit;
  p.memlimit_kib = memlimit_kib;
  TRY(check_argon2_params(p));
  TRY(random_bytes(byte_view_mut(p.salt.data(), p.salt.size())));
  return p;
}

// ---- SecretString ----------------------------------------------------------------

Result<SecretString> SecretString::from(std::string_view s) {
  SecretString out;
  out.data_ = reinterpret_cast<char*>(TRY(secure_alloc(s.size())));
  if (!s.empty()) std::memcpy(out.data_, s.data(), s.size());
  out.size_ = s.size();
  return out;
}
SecretString::SecretString(SecretString&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
SecretString& SecretString::operator=(SecretString&& o) noexcept {
  if (this != &o) {
    if (data_) sodium_free(data_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}
SecretString::~SecretString() {
  if (data_) sodium_free(data_);  // zeroes before freeing
}

// ---- MasterKey -------------------------------------------------------------------

Result<MasterKey> MasterKey::generate() {
  MasterKey k;
  k.key_ = TRY(secure_alloc(kMasterKeySize));
  TRY(random_bytes(byte_view_mut(k.key_, kMasterKeySize)));
  return k;
}

Result<MasterKey> MasterKey::from_bytes(Bytes raw) {
  if (raw.size() != kMasterKeySize) {
    return invalid_argument("a master key is " + std::to_string(kMasterKeySize) + " bytes, not " +
                            std::to_string(raw.size()));
  }
  MasterKey k;
  k.key_ = TRY(secure_alloc(kMasterKeySize));
  std::memcpy(k.key_, raw.data(), kMasterKeySize);
  return k;
}

Result<MasterKey> MasterKey::from_passphrase(std::string_view passphrase, const Argon2Params& params) {
  TRY(check_argon2_params(params));
  MasterKey k;
  k.key_ = TRY(secure_alloc(kMasterKeySize));
  if (crypto_pwhash(k.key_, kMasterKeySize, passphrase.data(), passphrase.size(), params.salt.data(),
                    params.opslimit, static_cast<size_t>(params.memlimit_kib) * 1024,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return resource_exhausted("Argon2id needs " + std::to_string(params.memlimit_kib / 1024) +
                              " MiB of memory that could not be had");
  }
  k.kind_ = KeyKind::kPassphrase;
  k.argon2_ = params;
  return k;
}

MasterKey::MasterKey(MasterKey&& o) noexcept
    : key_(std::exchange(o.key_, nullptr)), kind_(o.kind_), argon2_(std::move(o.argon2_)) {}
MasterKey& MasterKey::operator=(MasterKey&& o) noexcept {
  if (this != &o) {
    if (key_) sodium_free(key_);
    key_ = std::exchange(o.key_, nullptr);
    kind_ = o.kind_;
    argon2_ = std::move(o.argon2_);
  }
  return *this;
}
MasterKey::~MasterKey() {
  if (key_) sodium_free(key_);
}

Result<MasterKey> MasterKey::clone() const {
  MasterKey k = TRY(from_bytes(bytes()));
  k.kind_ = kind_;
  k.argon2_ = argon2_;
  return k;
}

Bytes MasterKey::bytes() const { return byte_view(key_, kMasterKeySize); }

std::string MasterKey::fingerprint() const {
  std::array<uint8_t, 32> derived{};
  if (!hkdf_sha256(bytes(), {}, as_bytes(kFingerprintInfo), byte_view_mut(derived.data(), derived.size())).ok()) {
    std::abort();
  }
  Sha256Digest d = Sha256::of(byte_view(derived.data(), derived.size()));
  sodium_memzero(derived.data(), derived.size());
  return hex_encode(d).substr(0, kFingerprintHexLength);
}

// ---- key file --------------------------------------------------------------------

Status write_key_file(const std::string& path, const MasterKey& key, Overwrite overwrite) {
  struct stat st{};
  if (overwrite == Overwrite::kRefuse && ::lstat(path.c_str(), &st) == 0) {
    return already_exists("key file " + path + " already exists (use --force to replace it; archives sealed "
                          "with the old key then need the old key)");
  }
  SecretString text = TRY(SecretString::from(std::string(kMasterKeySize * 2 + 1, '\n')));
  static constexpr char kHex[] = "0123456789abcdef";
  auto* out = const_cast<char*>(text.view().data());
  Bytes b = key.bytes();
  for (size_t i = 0; i < b.size(); ++i) {
    out[2 * i] = kHex[static_cast<uint8_t>(b[i]) >> 4];
    out[2 * i + 1] = kHex[static_cast<uint8_t>(b[i]) & 15];
  }
  TRY_CTX(write_file_atomic(path, text.view(), 0600), "write key file");
  return {};
}

Result<MasterKey> read_key_file(const std::string& path) {
  auto fd = TRY_CTX(open_file(path, O_RDONLY), "key file");
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path, errno);
  if ((st.st_mode & 077) != 0) {
    return permission_denied("key file " + path + " is readable by others (mode " +
                             std::to_string(st.st_mode & 0777) + " decimal); chmod 600 it");
  }
  if (st.st_size > 4096) return invalid_argument("key file " + path + " is too large to be a key");
  SecretString buf = TRY(SecretString::from(std::string(static_cast<size_t>(st.st_size), '\0')));
  auto* data = const_cast<char*>(buf.view().data());
  FdReader r(fd.get(), path);
  TRY(read_exact(r, byte_view_mut(data, buf.view().size())));
  std::string_view text = buf.view();
  if (text.size() == kMasterKeySize) {
    // Raw 32 bytes, unless it is all hex digits of a 16-byte key (not a valid key either way).
    return MasterKey::from_bytes(as_bytes(text));
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  if (text.size() != kMasterKeySize * 2) {
    return invalid_argument("key file " + path + " does not hold a key (64 hex digits or 32 raw bytes)");
  }
  std::array<unsigned char, kMasterKeySize> raw{};
  size_t bin_len = 0;
  int rc = sodium_hex2bin(raw.data(), raw.size(), text.data(), text.size(), nullptr, &bin_len, nullptr);
  if (rc != 0 || bin_len != kMasterKeySize) {
    sodium_memzero(raw.data(), raw.size());
    return invalid_argument("key file " + path + " does not hold a key (64 hex digits or 32 raw bytes)");
  }
  auto key = MasterKey::from_bytes(byte_view(raw.data(), raw.size()));
  sodium_memzero(raw.data(), raw.size());
  return key;
}

// ---- key.json --------------------------------------------------------------------

Status write_passphrase_record(const std::string& path, const MasterKey& derived, Overwrite overwrite) {
  if (derived.kind() != KeyKind::kPassphrase || !derived.argon2()) {
    return invalid_argument("a passphrase record needs a key derived from a passphrase");
  }
  struct stat st{};
  if (overwrite == Overwrite::kRefuse && ::lstat(path.c_str(), &st) == 0) {
    return already_exists("key record " + path + " already exists (use --force to replace it)");
  }
  const Argon2Params& p = *derived.argon2();
  nlohmann::json j = {
      {"format", "stacksnap-key"},
      {"version", 1},
      {"source", "passphrase"},
      {"kdf",
       {{"algorithm", "argon2id13"},
        {"opslimit", p.opslimit},
        {"memlimit_kib", p.memlimit_kib},
        {"parallelism", p.parallelism},
        {"salt", hex_encode(p.salt)}}},
      {"verifier", derive_hex(derived.bytes(), kVerifierInfo, 16)},
      {"fingerprint", derived.fingerprint()},
  };
  TRY_CTX(write_file_atomic(path, j.dump(2) + "\n", 0600), "write key record");
  return {};
}

Result<PassphraseRecord> read_passphrase_record(const std::string& path) {
  std::string text = TRY(read_small_file(path, 64 * 1024));
  try {
    auto j = nlohmann::json::parse(text);
    if (j.at("format") != "stacksnap-key" || j.at("version") != 1 || j.at("source") != "passphrase") {
      return invalid_argument("key record " + path + " is not a StackSnap v1 passphrase record");
    }
    const auto& kdf = j.at("kdf");
    if (kdf.at("algorithm") != "argon2id13") {
      return invalid_argument("key record " + path + ": unsupported KDF " + kdf.at("algorithm").dump());
    }
    PassphraseRecord rec;
    rec.params.opslimit = kdf.at("opslimit").get<uint32_t>();
    rec.params.memlimit_kib = kdf.at("memlimit_kib").get<uint32_t>();
    rec.params.parallelism = kdf.at("parallelism").get<uint32_t>();
    std::string salt = TRY(hex_decode(kdf.at("salt").get<std::string>()));
    if (salt.size() != kArgon2SaltSize) return invalid_argument("key record " + path + ": salt is not 16 bytes");
    std::memcpy(rec.params.salt.data(), salt.data(), kArgon2SaltSize);
    TRY_CTX(check_argon2_params(rec.params), "key record " + path);
    rec.verifier_hex = j.at("verifier").get<std::string>();
    rec.fingerprint = j.value("fingerprint", "");
    return rec;
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument("key record " + path + " is malformed: " + e.what());
  }
}

Result<MasterKey> unlock_passphrase_record(const PassphraseRecord& rec, std::string_view passphrase) {
  MasterKey key = TRY(MasterKey::from_passphrase(passphrase, rec.params));
  std::string v = derive_hex(key.bytes(), kVerifierInfo, 16);
  if (v.size() != rec.verifier_hex.size() ||
      sodium_memcmp(v.data(), rec.verifier_hex.data(), v.size()) != 0) {
    return unauthenticated("wrong passphrase (it does not match the key record)");
  }
  return key;
}

// ---- KeySource -------------------------------------------------------------------

struct KeySource::State {
  std::optional<MasterKey> key;
  std::optional<SecretString> passphrase;
  std::optional<Argon2Params> params;
};

KeySource::KeySource() : s_(std::make_unique<State>()) {}
KeySource::KeySource(KeySource&&) noexcept = default;
KeySource& KeySource::operator=(KeySource&&) noexcept = default;
KeySource::~KeySource() = default;

KeySource KeySource::from_key(MasterKey key) {
  KeySource ks;
  ks.s_->key.emplace(std::move(key));
  return ks;
}

KeySource KeySource::from_passphrase(SecretString passphrase, std::optional<Argon2Params> params) {
  KeySource ks;
  ks.s_->passphrase.emplace(std::move(passphrase));
  ks.s_->params = params;
  return ks;
}

Result<const MasterKey*> KeySource::key_for_writing() const {
  if (s_->key) return &*s_->key;
  if (s_->passphrase && s_->params) {
    s_->key.emplace(TRY(MasterKey::from_passphrase(s_->passphrase->view(), *s_->params)));
    return &*s_->key;
  }
  return failed_precondition("a passphrase alone cannot seal archives: run `stacksnap key init --passphrase` "
                             "to record its Argon2id parameters");
}

Result<MasterKey> KeySource::key_for(KeyKind kind, const Argon2Params* params) const {
  if (kind == KeyKind::kKeyFile) {
    if (s_->key && s_->key->kind() == KeyKind::kKeyFile) return s_->key->clone();
    return unauthenticated("the archive was sealed with a key file, but a passphrase was given");
  }
  if (params == nullptr) return invalid_argument("passphrase archive without Argon2id parameters");
  if (s_->key && s_->key->kind() == KeyKind::kPassphrase && s_->key->argon2() == *params) {
    return s_->key->clone();
  }
  if (s_->passphrase) return MasterKey::from_passphrase(s_->passphrase->view(), *params);
  return unauthenticated("the archive was sealed with a passphrase, but a key file was given "
                         "(set STACKSNAP_PASSPHRASE)");
}

std::string KeySource::describe() const {
  if (s_->key) return s_->key->kind() == KeyKind::kKeyFile ? "key file" : "passphrase";
  return "passphrase";
}

Result<KeySource> resolve_key_source(const KeyFlags& flags) {
  if (!flags.key_file.empty()) return KeySource::from_key(TRY(read_key_file(flags.key_file)));
  const std::string record_path = flags.data_dir.empty() ? "" : passphrase_record_path(flags.data_dir);
  struct stat st{};
  const bool have_record = !record_path.empty() && ::stat(record_path.c_str(), &st) == 0;
  const char* env = flags.passphrase_env.empty() ? nullptr : std::getenv(flags.passphrase_env.c_str());
  auto from_pass = [&](SecretString pass) -> Result<KeySource> {
    if (pass.empty()) return unauthenticated("empty passphrase");
    if (!have_record || !flags.check_record) return KeySource::from_passphrase(std::move(pass));
    PassphraseRecord rec = TRY(read_passphrase_record(record_path));
    MasterKey key = TRY(unlock_passphrase_record(rec, pass.view()));
    KeySource ks = KeySource::from_passphrase(std::move(pass), rec.params);
    ks.s_->key.emplace(std::move(key));
    return ks;
  };
  if (env != nullptr && *env != '\0') return from_pass(TRY(SecretString::from(env)));
  if (!flags.data_dir.empty()) {
    const std::string key_path = key_file_path(flags.data_dir);
    if (::stat(key_path.c_str(), &st) == 0) return KeySource::from_key(TRY(read_key_file(key_path)));
    if (have_record) {
      if (!flags.prompt) {
        return unauthenticated("a passphrase is needed: set " + flags.passphrase_env + " or run on a terminal");
      }
      return from_pass(TRY(flags.prompt("Passphrase: ")));
    }
  }
  return not_found("no key: give --key-file, set " + flags.passphrase_env + ", or run `stacksnap key init`" +
                   (flags.data_dir.empty() ? std::string() : " (data dir " + flags.data_dir + ")"));
}

}  // namespace stacksnap::seal
