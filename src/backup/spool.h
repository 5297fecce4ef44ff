// The spool of one backup: the sealed archive as it is written, and the threads that
// follow the writer through it.
//
//  - The file lives in <data>/spool: unnamed (O_TMPFILE, a killed run leaves nothing)
//    where the file system allows, else `<id>.partial`, locked while this process owns it,
//    always removed, and removed by the next run when its owner died (clean_spool).
//  - The deep verify follows the writer: a thread reads the file back from its first byte
//    while it grows (GrowingFile), decrypts, decompresses and hashes every entry, so that
//    little is left to check when the archive ends. The verdict is taken after the last
//    byte; the archive's SHA-256 is that of the bytes read back.
//  - A copy for a target that keeps files on this machine may follow too: written into an
//    unnamed upload as the archive grows, fsynced when it ends, named only by
//    name_followed_copy() (after the verify passed); a named copy whose sidecar was never
//    written is removed when the Spool goes away.
//  - Followers run at a lower priority (nice +19) than the capture, so they take only the
//    CPU it leaves idle and never stretch a Safe Mode pause.
//
// Destruction: followers are stopped (Cancelled) and joined, an unnamed copy disappears, a
// named one without its sidecar is removed, a named spool file is unlinked.
// Thread-safety: one thread drives a Spool.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "archive/verify.h"
#include "backup/growing_file.h"
#include "base/fd.h"
#include "job/context.h"
#include "seal/key.h"
#include "storage/target.h"

namespace stacksnap::backup {

// Removes *.partial spool files no running process holds (their owner died); returns
// how many.
int clean_spool(const std::string& dir);

class Spool {
 public:
  // A target whose copy follows the writer (stored at `key`).
  struct Follower {
    size_t target_index = 0;
    std::string key;
    std::unique_ptr<storage::Target> target;
  };

  // Creates the spool file in `dir` for backup `id` and starts the deep verify with
  // `key`; with `follower`, also its copy.
  static Result<std::unique_ptr<Spool>> open(const std::string& dir, const std::string& id,
                                             const seal::MasterKey& key, std::optional<Follower> follower,
                                             job::Context& ctx);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Where the sealed archive is written.
  Writer& writer() { return file_.writer(); }
  // The archive's last byte was written. No fsync: the spool is never the durable copy.
  void finish() { file_.finish(); }
  // Waits for the deep verify: its report, DataLoss when it read other than
  // `written_bytes` bytes, or what it found.
  Result<archive::VerifyReport> verified(uint64_t written_bytes);
  // The file, for uploads read from it.
  int fd() const { return fd_.get(); }
  // The directory it is in (where a backup's other scratch files go too).
  std::string dir() const { return path_.substr(0, path_.rfind('/')); }

  // Whether the copy for target `index` followed the writer.
  bool follows(size_t index) const { return follower_.has_value() && follower_->target_index == index; }
  // Names the followed copy under its key (OK), or says why it cannot be used: Cancelled
  // (stop), else the error that stopped it (the caller stores the copy anew).
  Status name_followed_copy();
  // The followed copy's sidecar was written: it stays.
  void followed_copy_committed() { committed_ = true; }

 private:
  Spool(UniqueFd fd, std::string path, std::string named);
  void start_verify(const seal::MasterKey& key, job::Context& ctx);
  void start_follower(Follower f, job::Context& ctx);
  void stop_followers();

  UniqueFd fd_;
  std::string path_, named_;  // named_: the name to unlink ("" when unnamed)
  GrowingFile file_;
  std::unique_ptr<seal::KeySource> verify_keys_;
  std::optional<Result<archive::VerifyReport>> verified_;
  std::thread verifier_;

  std::optional<Follower> follower_;
  std::unique_ptr<storage::Upload> upload_;  // written and fsynced, unnamed until named
  Status follower_status_;
  std::thread follower_thread_;
  bool named_copy_ = false, committed_ = false;
};

}  // namespace stacksnap::backup
