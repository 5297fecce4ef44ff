// The server's master key: created through the API once (generated key file, passphrase
// record, or an imported recovery key), kept in memory while the server runs.
//
// A passphrase key is locked after a restart until unlock() (or STACKSNAP_PASSPHRASE is
// set at start). Jobs that seal or open archives ask for the key and fail with
// FailedPrecondition while it is missing or locked.
//
// Thread-safety: all methods.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "seal/key.h"

namespace stacksnap::app {

inline constexpr size_t kMinKeyPassphrase = 12;

// The key in what a user pastes or uploads to import it: its 64 hex digits (spaces,
// dashes and line breaks between them allowed, as the dashboard shows it in groups of 8),
// or the dashboard's recovery file (a line holding the 64 digits among other lines).
// InvalidArgument when no line (nor the whole text) is a 64-hex-digit key.
struct RecoveryKey {
  std::string hex;          // 64 lower-case hex digits
  std::string fingerprint;  // seal::MasterKey::fingerprint(): compare before saving
};
Result<RecoveryKey> parse_recovery_key(std::string_view text);

class KeyStore {
 public:
  explicit KeyStore(std::string data_dir);

  // Loads <data_dir>/key, or unlocks <data_dir>/key.json with STACKSNAP_PASSPHRASE when
  // set. Problems are returned (the server starts anyway; the key stays unavailable).
  Status load();

  // {"configured","source","unlocked","fingerprint"} (docs/API.md, "Encryption key").
  nlohmann::json status() const;
  bool configured() const;

  // Each refuses with AlreadyExists when a key or passphrase record exists.
  // generate: returns the key's 64 hex digits (the recovery key, shown once).
  Result<std::string> generate();
  Status set_passphrase(std::string_view passphrase);
  // import_hex: the key's 64 hex digits, or a recovery file's text (parse_recovery_key).
  Status import_hex(std::string_view hex);
  // Unlocks a passphrase key: InvalidArgument "wrong passphrase".
  Status unlock(std::string_view passphrase);

  // The key for sealing and opening archives.
  Result<std::shared_ptr<const seal::MasterKey>> key() const;

 private:
  bool exists_on_disk() const;
  std::string data_dir_;
  mutable std::mutex mu_;
  std::shared_ptr<const seal::MasterKey> key_;
};

}  // namespace stacksnap::app
