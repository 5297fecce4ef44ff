// Where a snapshot's copy lives while it is written into the archive: a private SQLite
// VFS whose files are unnamed (O_TMPFILE) files in one directory (the data dir's spool),
// each encrypted with its own seal::ScratchCipher. Nothing of the copy is readable on disk
// in plaintext, and a killed process leaves no file behind (docs/adr/0009-sqlite-capture.md).
//
// The VFS keeps no locks (its files are private to one connection) and does not sync
// (nothing needs to survive a crash). Each instance registers under a unique name and
// unregisters when destroyed: close every connection that uses it first.
//
// Thread-safety: one connection at a time per instance.
#pragma once

#include <memory>
#include <string>

#include "base/error.h"
#include "base/fd.h"
#include "seal/scratch_cipher.h"

namespace stacksnap::sqlite {

// The plaintext of one scratch file, read from the start.
class ScratchReader final : public Reader {
 public:
  ScratchReader(UniqueFd fd, std::shared_ptr<const seal::ScratchCipher> cipher, uint64_t size)
      : fd_(std::move(fd)), cipher_(std::move(cipher)), size_(size) {}
  Result<size_t> read(MutableBytes buf) override;

 private:
  UniqueFd fd_;
  std::shared_ptr<const seal::ScratchCipher> cipher_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

class ScratchVfs {
 public:
  // Creates the main scratch file and registers the VFS (not as the default). An error
  // when `dir` cannot hold unnamed files (no O_TMPFILE support): the snapshot then falls
  // back, a named copy would be findable.
  static Result<std::unique_ptr<ScratchVfs>> create(const std::string& dir);
  ~ScratchVfs();
  ScratchVfs(const ScratchVfs&) = delete;
  ScratchVfs& operator=(const ScratchVfs&) = delete;

  const std::string& name() const;
  // The main scratch file is what SQLite opens as the main database of any connection
  // through this VFS (other files, a WAL, are fresh unnamed files). It can also be filled
  // directly, before a connection opens it.
  Status write_main(uint64_t offset, Bytes data);
  // Its plaintext from the start, `size` bytes (a new descriptor of it).
  Result<std::unique_ptr<ScratchReader>> main_file(uint64_t size) const;
  // Its size (fstat).
  Result<uint64_t> main_file_size() const;

  struct State;

 private:
  explicit ScratchVfs(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace stacksnap::sqlite
