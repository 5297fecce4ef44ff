// The backup repository on storage targets: object names, sidecars, opening targets
// from catalog records.
//
// Layout on a target (docs/FORMAT.md §Storage):
//   backups/<id>.stsnap   the sealed archive (opaque ciphertext)
//   backups/<id>.json     the sidecar, written last: {"format":"stacksnap.sidecar/v1",
//                         "archive_format":1, "id", "blob", "size", "sha256",
//                         "created", "meta": base64(sealed JSON of the catalog record)}
// Ids are a UTC time and random hex, so these names reveal no project. Only on a target
// added with --readable-names (config "readable_names": true) the project becomes a
// directory: backups/<project>/<id>.*. The catalog rebuild reads both layouts.
// A blob without a sidecar is an unfinished upload and never listed.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/cancel.h"
#include "base/error.h"
#include "catalog/catalog.h"
#include "seal/key.h"
#include "storage/target.h"

namespace stacksnap::repo {

inline constexpr const char* kBackupsPrefix = "backups/";

// `project_dir` empty: backups/<id>.*; else backups/<project_dir>/<id>.*.
std::string blob_key(const std::string& backup_id, const std::string& project_dir = {});
std::string sidecar_key(const std::string& backup_id, const std::string& project_dir = {});
// Where backups and restores stage sealed archives on this machine: <data_dir>/spool.
std::string spool_dir(const std::string& data_dir);

// Whether the target opted into object names that show the project.
bool readable_names(const catalog::TargetRecord& rec);

// What new backups on the target become: a snapshot of the v2 repository at the
// target's root (config "format": "repository") or a v1 archive (anything else).
// Backups already stored keep the format they were stored in (their copy's key says it).
bool stores_repository(const catalog::TargetRecord& rec);

// Opens a target from its catalog record (local: config.path; s3: endpoint, bucket,
// region, prefix, addressing, credentials from config / secret files).
Result<std::unique_ptr<storage::Target>> open_target(const catalog::TargetRecord& rec);

// Sidecar: public facts + the catalog record sealed with `key` (AES-256-GCM via the
// archive seal), so `backups --target` can rebuild the catalog with only the key.
Result<std::string> make_sidecar(const catalog::BackupRecord& b, const catalog::CopyRecord& copy,
                                 const seal::MasterKey& key);
struct Sidecar {
  std::string id;
  std::string blob;
  uint64_t size = 0;
  std::string sha256;
  int64_t created = 0;
  std::string sealed_meta;  // base64
};
Result<Sidecar> parse_sidecar(std::string_view text);
// Opens the sealed metadata (Unauthenticated for a wrong key, DataLoss when tampered).
Result<catalog::BackupRecord> open_sidecar_meta(const Sidecar& s, const seal::KeySource& keys);

}  // namespace stacksnap::repo
