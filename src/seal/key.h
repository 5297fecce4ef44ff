// Master keys and where they come from.
//
// A master key is 32 bytes. It comes either from a key file (`<data_dir>/key`, 64 hex
// digits, mode 0600, made by `stacksnap key init`) or from a passphrase stretched with
// Argon2id (`<data_dir>/key.json` records the Argon2id parameters, the salt and a
// verifier; never the passphrase or the key). See docs/FORMAT.md §2.
//
// Secrets live in sodium_malloc'd memory (mlocked where the OS allows, guard pages,
// zeroed on release) and are never printed, logged or written anywhere but the key
// file. Error messages never contain key material.
//
// Thread-safety: MasterKey and SecretString are immutable after creation and safe to
// share for reading. KeySource derives lazily (key_for_writing): not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::seal {

inline constexpr size_t kMasterKeySize = 32;
inline constexpr size_t kArgon2SaltSize = 16;
inline constexpr size_t kFingerprintHexLength = 16;

// How the master key of an archive was obtained (header byte 12).
enum class KeyKind : uint8_t { kKeyFile = 1, kPassphrase = 2 };
std::string_view key_kind_name(KeyKind k);  // "key-file" | "passphrase"

// Argon2id v1.3 parameters (RFC 9106 names: t = opslimit, m = memlimit_kib, p = parallelism).
struct Argon2Params {
  uint32_t opslimit = 3;
  uint32_t memlimit_kib = 64 * 1024;
  uint32_t parallelism = 1;  // libsodium computes p = 1 only
  std::array<uint8_t, kArgon2SaltSize> salt{};
  bool operator==(const Argon2Params&) const = default;
};
// Bounds every reader enforces, so a hostile header cannot make us allocate or spin
// without limit. Writers must stay inside them.
inline constexpr uint32_t kArgon2MinOps = 1, kArgon2MaxOps = 64;
inline constexpr uint32_t kArgon2MinMemKib = 8, kArgon2MaxMemKib = 1024 * 1024;  // 1 GiB
// InvalidArgument naming the offending field when out of bounds.
Status check_argon2_params(const Argon2Params& p);
// Defaults (t=3, m=64 MiB, p=1) with a fresh random salt.
Result<Argon2Params> new_argon2_params(uint32_t opslimit = 3, uint32_t memlimit_kib = 64 * 1024);

// A byte string in sodium-guarded memory (passphrases). Move-only.
class SecretString {
 public:
  SecretString() = default;
  static Result<SecretString> from(std::string_view s);
  SecretString(SecretString&&) noexcept;
  SecretString& operator=(SecretString&&) noexcept;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  ~SecretString();
  std::string_view view() const { return {data_, size_}; }
  bool empty() const { return size_ == 0; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

class MasterKey {
 public:
  // 32 fresh random bytes; kind() == kKeyFile.
  static Result<MasterKey> generate();
  // From raw bytes (InvalidArgument unless exactly 32); kind() == kKeyFile.
  static Result<MasterKey> from_bytes(Bytes raw);
  // Argon2id(passphrase, params) → 32 bytes; kind() == kPassphrase. ResourceExhausted
  // when the memory cannot be had; InvalidArgument for parameters out of bounds.
  static Result<MasterKey> from_passphrase(std::string_view passphrase, const Argon2Params& params);

  MasterKey(MasterKey&&) noexcept;
  MasterKey& operator=(MasterKey&&) noexcept;
  MasterKey(const MasterKey&) = delete;
  MasterKey& operator=(const MasterKey&) = delete;
  ~MasterKey();
  Result<MasterKey> clone() const;

  Bytes bytes() const;
  KeyKind kind() const { return kind_; }
  // The Argon2id parameters (and salt) a passphrase key was derived with.
  const std::optional<Argon2Params>& argon2() const { return argon2_; }
  // 16 lowercase hex digits: SHA-256(HKDF-SHA256(key, salt = "", info =
  // "stacksnap v1 fingerprint", 32 bytes)), first 8 bytes. Safe to show and log.
  std::string fingerprint() const;

 private:
  MasterKey() = default;
  unsigned char* key_ = nullptr;  // sodium_malloc, kMasterKeySize bytes
  KeyKind kind_ = KeyKind::kKeyFile;
  std::optional<Argon2Params> argon2_;
};

enum class Overwrite { kRefuse, kAllow };

// Key file: 64 hex digits and a newline, mode 0600, written atomically. AlreadyExists
// when the file exists and overwrite is refused.
Status write_key_file(const std::string& path, const MasterKey& key, Overwrite overwrite);
// Accepts 64 hex digits (surrounding whitespace ignored) or exactly 32 raw bytes.
// PermissionDenied when the file is readable by group or others (like ssh).
Result<MasterKey> read_key_file(const std::string& path);

// `<data_dir>/key.json` of a passphrase setup:
//   {"format":"stacksnap-key","version":1,"source":"passphrase","kdf":{"algorithm":"argon2id13",
//    "opslimit":3,"memlimit_kib":65536,"parallelism":1,"salt":"<32 hex>"},
//    "verifier":"<32 hex>","fingerprint":"<16 hex>"}
// verifier = HKDF-SHA256(master, salt = "", info = "stacksnap v1 passphrase verifier", 16).
struct PassphraseRecord {
  Argon2Params params;
  std::string verifier_hex;
  std::string fingerprint;
};
Status write_passphrase_record(const std::string& path, const MasterKey& derived, Overwrite overwrite);
Result<PassphraseRecord> read_passphrase_record(const std::string& path);
// Derives the key from `passphrase` and checks it: Unauthenticated "wrong passphrase".
Result<MasterKey> unlock_passphrase_record(const PassphraseRecord& rec, std::string_view passphrase);

// Where the master key for reading and writing archives comes from.
class KeySource {
 public:
  static KeySource from_key(MasterKey key);
  // A passphrase alone: keys are derived per archive from the header's Argon2id
  // parameters. Cannot write (no parameters to write with) unless `params` is given.
  static KeySource from_passphrase(SecretString passphrase, std::optional<Argon2Params> params = {});

  KeySource(KeySource&&) noexcept;
  KeySource& operator=(KeySource&&) noexcept;
  ~KeySource();

  // The key new archives are sealed with (derived once for a passphrase + params).
  // FailedPrecondition for a bare passphrase without parameters.
  Result<const MasterKey*> key_for_writing() const;
  // The key for an archive whose header names `kind` and, for a passphrase, `params`.
  // Unauthenticated when the source cannot provide that kind (a key file for a
  // passphrase archive, or the reverse).
  Result<MasterKey> key_for(KeyKind kind, const Argon2Params* params) const;
  std::string describe() const;  // "key file", "passphrase" — never key material

 private:
  friend Result<KeySource> resolve_key_source(const struct KeyFlags& flags);
  KeySource();
  struct State;
  std::unique_ptr<State> s_;
};

// Prompt hook for passphrases (the CLI reads /dev/tty without echo); an empty function
// means "no terminal": resolving then fails with Unauthenticated.
using PassphrasePrompt = std::function<Result<SecretString>(std::string_view prompt)>;

struct KeyFlags {
  std::string key_file;               // --key-file; empty: not given
  std::string data_dir;               // <data_dir>/key or <data_dir>/key.json; empty: none
  std::string passphrase_env = "STACKSNAP_PASSPHRASE";
  PassphrasePrompt prompt;            // used when a passphrase is needed and the env is unset
  // Check a passphrase against <data_dir>/key.json (needed to seal). Readers may skip it:
  // every archive's own key check rejects a wrong passphrase before any work, and an
  // archive from another machine has its own Argon2id salt.
  bool check_record = true;
};
// Order: --key-file; else STACKSNAP_PASSPHRASE (checked against key.json when present);
// else <data_dir>/key; else <data_dir>/key.json + prompt. NotFound when nothing is set up.
Result<KeySource> resolve_key_source(const KeyFlags& flags);

inline std::string key_file_path(const std::string& data_dir) { return data_dir + "/key"; }
inline std::string passphrase_record_path(const std::string& data_dir) { return data_dir + "/key.json"; }

}  // namespace stacksnap::seal
