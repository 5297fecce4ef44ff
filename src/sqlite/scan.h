// Finding SQLite databases under a host directory (a volume's mountpoint or a bind
// mount's host path) for `stacksnap projects`: a bounded walk that reads the first bytes
// of regular files. Symlinks are not followed and other file systems are not entered.
// Backups do not use it: they recognise databases in the Engine's tar stream as it passes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace stacksnap::sqlite {

struct ScanLimits {
  uint64_t max_entries = 20000;  // directory entries looked at, per tree
  int max_depth = 16;            // directories below the root
};

struct FoundDatabase {
  std::string path;          // below the root ("" when the root is the file)
  uint64_t bytes = 0;        // the database file alone
  std::string journal_mode;  // "wal" | "rollback" ("" when in use by a snapshot of this process)
  bool has_wal = false;      // a -wal file lies beside it
  bool has_journal = false;  // a -journal file lies beside it
};

struct ScanResult {
  std::vector<FoundDatabase> databases;  // sorted by path
  uint64_t entries = 0;
  bool truncated = false;  // a limit stopped the walk
};

// NotFound when `root` is missing; unreadable subdirectories are skipped.
Result<ScanResult> scan_tree(const std::string& root, const ScanLimits& limits = {});

}  // namespace stacksnap::sqlite
