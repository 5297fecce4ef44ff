// Directory trees in the repository format v2: each directory is one tree blob (JSON, its
// entries sorted by name), a file's content is its list of chunk ids, a subdirectory is
// the id of its own tree blob. An unchanged directory therefore has an unchanged tree id,
// and a snapshot of a mostly unchanged volume stores a handful of new tree blobs.
//
//   {"entries": [{"name": "a.txt" | "name_hex": "…" (names that are not UTF-8),
//                 "type": "file" | "dir" | "symlink",
//                 "mode": 420, "uid": 0, "gid": 0, "mtime_ns": 1765090000000000000,
//                 "size": 6, "chunks": ["hex id", …], "sha256": "hex"     (file)
//                 "subtree": "hex id"                                     (dir)
//                 "target": "…" | "target_hex": "…"                       (symlink)}]}
//
// Other file types (fifos, devices, sockets) are counted in TreeStats::skipped and not
// stored (this first version; the v1 archive keeps them). Hard links are stored as
// separate files (their content deduplicates).
#pragma once

#include <string>

#include "chunks/repository.h"

namespace stacksnap::chunks {

struct TreeStats {
  uint64_t files = 0, dirs = 0, symlinks = 0, skipped = 0;
  uint64_t bytes = 0;  // content of regular files
};

// Stores the tree below `dir` (not `dir`'s own metadata); returns its tree id.
Result<ChunkId> store_tree(SnapshotWriter& writer, const std::string& dir, TreeStats* stats = nullptr);

// Recreates the tree `tree` inside the existing directory `dest` (contents, modes, mtimes,
// and owners when running as root). Each file's content is checked against its SHA-256.
Status restore_tree(const Repository& repo, const ChunkId& tree, const std::string& dest, TreeStats* stats = nullptr);

}  // namespace stacksnap::chunks
