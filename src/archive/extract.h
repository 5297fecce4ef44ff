// Offline extraction (`stacksnap extract`): no Docker, no catalog, only the archive and
// its key.
//
// Safety: every entry is checked before anything is written: its path must be
// normalised and relative (no absolute paths, no "..", no empty parts), may not pass
// through a symlink that an earlier entry created, hardlink targets obey the same
// rules, and device nodes are refused. libarchive's write_disk then runs with
// ARCHIVE_EXTRACT_SECURE_SYMLINKS | SECURE_NODOTDOT as a second line (it refuses to
// follow any symlink already on disk). A refused entry is InvalidArgument naming it.
//
// Modes:
//  - kVerifyFirst (default): pass 1 authenticates the whole archive and runs the checks
//    (a deep verify); pass 2 reads the file again and writes. Nothing is written unless
//    pass 1 succeeded. Pass 2 authenticates again; were the file changed between the
//    passes, extraction stops with DataLoss and what was written stays.
//  - kStream: one pass, written as read (the input may be a pipe). On failure the
//    output directory holds what was written before the failure.
//
// The output directory must not exist or be empty; it is created with mode 0700.
// Dump streams are written as one file at their logical path. stacksnap/plan.json and
// stacksnap/manifest.json are written too.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "archive/entry.h"
#include "archive/source.h"
#include "base/cancel.h"
#include "base/error.h"
#include "base/stream.h"
#include "seal/key.h"

namespace stacksnap::archive {

enum class ExtractMode { kVerifyFirst, kStream };

struct ExtractOptions {
  ExtractMode mode = ExtractMode::kVerifyFirst;
  bool restore_owner = false;  // chown to the archived uid/gid (needs root)
  bool restore_xattrs = true;
  StopToken stop;
};

struct ExtractSummary {
  uint64_t entries = 0, files = 0, bytes = 0;
  std::vector<std::string> warnings;  // e.g. an xattr the filesystem refused (first 20)
};

// Lexical safety of entries in archive order (see above).
class ExtractGuard {
 public:
  Status check(const EntryMeta& m);

 private:
  Status check_path(const std::string& path, const std::string& what) const;
  std::unordered_set<std::string> symlinks_;
};

Result<ExtractSummary> extract_archive_file(const std::string& archive_path, const seal::KeySource& keys,
                                            const std::string& out_dir, const ExtractOptions& options);
// One pass over an entry source that was verified before (a repository snapshot read in
// place: OpenSnapshot::verify, then this): the plan, the entries, the manifest's head.
Result<ExtractSummary> extract_source(EntrySource& src, const std::string& out_dir, const ExtractOptions& options);
// One pass over a stream (options.mode is ignored: kStream).
Result<ExtractSummary> extract_archive_stream(Reader& in, const seal::KeySource& keys, const std::string& out_dir,
                                              const ExtractOptions& options);

}  // namespace stacksnap::archive
