// Verification of stored backups, streamed straight from their targets (no local copy):
// what `stacksnap verify ID` and the server's verify job both run.
#pragma once

#include <optional>
#include <string>

#include "archive/verify.h"
#include "repo/snapshot.h"
#include "base/cancel.h"
#include "base/fd.h"
#include "catalog/catalog.h"
#include "seal/key.h"

namespace stacksnap::repo {

// How one copy is checked.
struct CopyVerifyOptions {
  // kDeep: authenticate every segment, decompress, hash every entry against the manifest;
  // kAuthenticate: segments authenticated, nothing decompressed; kShallow: size and
  // SHA-256 only, no key. The outer size and SHA-256 are checked against the catalog in
  // every case. kDeep and kAuthenticate need `keys`.
  archive::VerifyDepth depth = archive::VerifyDepth::kDeep;
  const seal::KeySource* keys = nullptr;
  // Every byte streamed from the target is also written here (one pass that fetches and
  // verifies; the caller discards what it kept when this fails).
  Writer* keep = nullptr;
  // A copy that is a file on this machine (a local target) is read where it lies and,
  // once it verified, handed over open here (`keep` unused).
  UniqueFd* in_place = nullptr;
  // A copy that is a repository snapshot is read in place and, once it verified, handed
  // over open here (its lock held).
  std::shared_ptr<OpenSnapshot>* keep_snapshot = nullptr;
};

// One copy, checked as `o` says. DataLoss names the copy's target; errors reaching the
// target pass through (Unavailable, NotFound, PermissionDenied, …). InvalidArgument for a
// depth that needs keys without them.
Result<archive::VerifyReport> verify_copy(catalog::Catalog& cat, const catalog::CopyRecord& copy,
                                          const CopyVerifyOptions& o, const StopToken& stop);

// What checking one copy found; recorded on the copy in the catalog (set_copy_verify).
struct CopyCheck {
  catalog::CopyRecord copy;
  catalog::CopyState state = catalog::CopyState::kUnchecked;  // verified | damaged | unreachable
  std::optional<Error> error;                                 // damaged, unreachable: why
  archive::VerifyReport report;                               // verified: what was checked
};

// How a result of verify_copy classifies a copy: DataLoss and NotFound (the blob is
// gone) → damaged; any other error → unreachable (says nothing about the bytes).
catalog::CopyState copy_state_for(const Result<archive::VerifyReport>& r);

// Records what a check of `copy` found (state, now, the detail: what was checked or why
// it failed). Best effort: a catalog error is returned for the caller to ignore or warn.
Status record_copy_check(catalog::Catalog& cat, const std::string& backup_id, const CopyCheck& check);

// One copy checked with verify_copy (deep with `keys`, else shallow) and recorded.
// Cancelled and Unauthenticated (a wrong key says nothing about the copy) are returned
// and not recorded; every other outcome is a CopyCheck.
Result<CopyCheck> check_copy(catalog::Catalog& cat, const std::string& backup_id, const catalog::CopyRecord& copy,
                             const seal::KeySource* keys, const StopToken& stop);

// Sets the backup's verify_result to the worst of its copies as recorded: "failed: copy
// on T: …" when a copy is damaged; else "ok" when `deep_verified` (a copy was just
// verified deeply); else it is left as it was. verified_at is `at` when it changes.
Status record_backup_verdict(catalog::Catalog& cat, const std::string& backup_id, bool deep_verified, int64_t at);

struct StoredVerification {
  std::string target;  // the copy that verified
  archive::VerifyReport report;
  std::string key;     // its key on the target (snapshots/<id> for a repository snapshot)
};

// For a restore: tries the backup's copies in catalog order until one verifies (at
// `depth`: kDeep or kAuthenticate, below), recording every copy it checked (record_copy_check) and
// the backup's verdict (record_backup_verdict). `only_target` non-empty: only the copy on
// that target is tried (NotFound naming the targets that hold one when it has none there).
// When none verifies: DataLoss if a copy
// was damaged (the archive's fault), else the error of the last unreachable target.
// `stacksnap verify ID` and the verify job check every copy instead (app/verify_ops.h).
// With `keep`, the copy that verified stays open for a restore to apply, so that what it
// applies is exactly what was verified: a file on a local target is verified in place
// and kept open (nothing is copied); a remote copy is written to keep->spool_path (0600,
// not fsynced: it is transient) in the same pass that verifies it. Nothing is left at
// the spool path on failure. With kAuthenticate the copy is authenticated
// (every segment, size, SHA-256) but not decompressed: the copy is recorded verified,
// the backup's verdict is not set to "ok" (the record's deep verification stands); a
// damaged copy is still recorded, and fails the verdict.
// A copy that is a repository snapshot is verified in place and kept open (its lock held)
// as `snapshot`: nothing is written to the spool, the restore reads the snapshot itself.
struct KeptCopy {
  std::string spool_path;  // in: where a copy from remote storage is written
  UniqueFd fd;             // out: the verified file, open read-only
  std::shared_ptr<OpenSnapshot> snapshot;  // out: the verified snapshot (fd unused)
  bool in_place = false;   // out: fd is the local target's own file (spool_path unused)
  bool named = false;      // out: the copy is the file at spool_path (else unnamed, O_TMPFILE)
};
Result<StoredVerification> verify_backup(catalog::Catalog& cat, const std::string& backup_id,
                                         const seal::KeySource& keys, const StopToken& stop,
                                         KeptCopy* keep = nullptr,
                                         archive::VerifyDepth depth = archive::VerifyDepth::kDeep,
                                         const std::string& only_target = {});

}  // namespace stacksnap::repo
