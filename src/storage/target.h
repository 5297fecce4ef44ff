// Storage targets: where sealed archives and their sidecars live.
//
// Contract (every implementation passes tests/common/target_conformance.h):
//  - Keys are '/'-separated relative names ("backups/20261125T201730Z-3fa2c1d0.stsnap").
//    Implementations add their own prefix (a directory, an S3 key prefix).
//  - put() returns an Upload. Bytes written are invisible until commit() returns OK;
//    an Upload destroyed (or abort()ed) before commit leaves nothing behind
//    (local: tmp file removed; S3: AbortMultipartUpload). commit() is atomic: readers see
//    the old object or the whole new one.
//  - get() streams; offset/length select a range. NotFound when the key is absent.
//  - list() calls `fn` for every committed object under `prefix`, across pages, in
//    lexicographic key order; a non-OK status from fn stops the walk and is returned.
//  - put_file() stores a whole file, all or nothing like put() + commit(); the default
//    streams it through put(). S3 sends files up to its multipart threshold as one PutObject
//    read straight from the file (retries re-read it).
//  - remove() of an absent key is OK (idempotent).
//  - Errors: NotFound, PermissionDenied (credentials/ACL), Unavailable (retryable
//    network/server trouble), ResourceExhausted (disk/quota full), DataLoss.
//  - Thread-safety: a Target may be used from several threads at once; an Upload or a
//    Reader from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/cancel.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::storage {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  SystemTime modified{};
};

class Upload : public Writer {
 public:
  // Makes the object visible under its key. After commit() the Upload is spent.
  virtual Status commit() = 0;
  // Optional: does the slow part of commit() ahead of it (a local file: fsync), so that a
  // caller can prepare on one thread and commit later, quickly, on another.
  virtual Status prepare_commit() { return {}; }
  // Thread-safe, from any thread: makes transfers in flight and retry waits give up soon;
  // the upload then fails (Cancelled) and is aborted like any failed one.
  virtual void request_cancel() {}
  // Discards everything written; idempotent; also what the destructor does before commit.
  virtual void abort() = 0;
  // Bytes accepted so far.
  virtual uint64_t bytes_written() const = 0;
};

struct PutFileOptions {
  // Hex SHA-256 of the file's `size` bytes when the caller knows it: targets that sign or
  // check the body use it instead of reading the file once more (empty: computed if needed).
  std::string sha256;
  // Called with the bytes stored so far, never decreasing (a retried transfer reports again
  // only past that point). A non-OK status stops the upload: put_file() returns it and
  // leaves nothing behind.
  std::function<Status(uint64_t)> progress;
  // A stop request ends the upload (Cancelled) even while it waits between retries, when
  // no progress is reported; nothing is left behind.
  StopToken stop;
};

struct GetRange {
  uint64_t offset = 0;
  std::optional<uint64_t> length;  // to the end when empty
};

class Target {
 public:
  virtual ~Target() = default;
  // Human description without secrets: "local /srv/backups", "s3 https://host/bucket/prefix".
  virtual std::string describe() const = 0;
  // size_hint lets multipart uploads choose part sizes (0 = unknown).
  virtual Result<std::unique_ptr<Upload>> put(const std::string& key, uint64_t size_hint = 0) = 0;
  // Stores the first `size` bytes of the regular file open as `fd` (read with pread() from
  // offset 0; it must not change meanwhile) under `key`. DataLoss when the file is shorter.
  virtual Status put_file(const std::string& key, int fd, uint64_t size, const PutFileOptions& opts = {});
  virtual Result<std::unique_ptr<Reader>> get(const std::string& key, GetRange range = {}) = 0;
  // The path of the object's file when it is a file on this machine that can be read in
  // place (a local target); nullopt for remote storage.
  virtual std::optional<std::string> local_file(const std::string& key) const {
    (void)key;
    return std::nullopt;
  }
  virtual Result<ObjectInfo> stat(const std::string& key) = 0;
  virtual Status list(const std::string& prefix, const std::function<Status(const ObjectInfo&)>& fn) = 0;
  virtual Status remove(const std::string& key) = 0;
  // Removes what interrupted uploads left behind (tmp files, stale multipart uploads
  // older than `older_than`). Returns how many were cleaned.
  virtual Result<int> cleanup_stale(std::chrono::seconds older_than) = 0;
};

// Validates a key: non-empty, relative, no "..", no empty segments, printable.
Status validate_key(const std::string& key);

// Writes a small object whole (sidecars, probes).
Status put_small(Target& t, const std::string& key, std::string_view content);
// Reads a small object whole (limit in bytes).
Result<std::string> get_small(Target& t, const std::string& key, size_t limit = 16 << 20);

}  // namespace stacksnap::storage
