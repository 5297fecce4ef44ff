// Walks a Redis/Valkey RDB stream as it passes (a Writer beside the dump's way into the
// archive) and counts the keys of every logical database, and how many of them carry a
// TTL. The counts are exact for the snapshot: they come from the dump itself, not from
// the live server.
//
// Memory is bounded whatever the size of the RDB: the walk reads each chunk where the
// writer holds it (write() returns once the walker has consumed it) and skips values
// without buffering them. Every value type of RDB versions up to 12 (Redis 7.4, Valkey 8)
// is understood except module values of pre-GA modules, pre-GA functions and the hash
// types with per-field TTLs (Redis 7.4): at one of those, or at anything malformed, the
// walk stops and complete() stays false (the caller then falls back to estimates). A
// walk that stops early never fails the dump: the bytes still go to the archive.
//
// Thread-safety: one thread calls write()/finish(); the walk runs on its own thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/stream.h"

namespace stacksnap::dbengine {

class RdbScanner final : public Writer {
 public:
  RdbScanner();
  ~RdbScanner() override;  // finish()
  RdbScanner(const RdbScanner&) = delete;
  RdbScanner& operator=(const RdbScanner&) = delete;

  // Hands `data` to the walk and returns once it was consumed. Never fails.
  Status write(Bytes data) override;
  // The stream ended: waits for the walk. Results are valid afterwards.
  void finish();

  struct Db {
    int64_t keys = 0;
    int64_t expires = 0;  // keys with a TTL (they may expire before a restore loads them)
  };
  bool valid_magic() const { return magic_ok_; }
  // The walk reached the EOF opcode: dbs() holds every key of the snapshot.
  bool complete() const { return complete_; }
  // Non-empty logical databases by number.
  const std::map<int64_t, Db>& dbs() const { return dbs_; }
  // Why the walk stopped early ("" when complete or before finish()).
  const std::string& problem() const { return problem_; }

 private:
  struct Stop {};  // unwinds the walk: end of stream, malformed or unsupported input
  void walk();
  void run();
  // Byte source over the writer's chunks.
  uint8_t byte();
  void read(void* dst, size_t n);
  void skip(uint64_t n);
  void next_chunk();  // the current chunk is used up: waits for the next (Stop at the end)
  uint64_t length(bool* special = nullptr);
  void skip_string();
  void skip_value(uint8_t type);
  void skip_module_value();
  void skip_stream(uint8_t type);
  [[noreturn]] void stop(std::string why);

  std::mutex mu_;
  std::condition_variable cv_;
  const std::byte* cur_ = nullptr;  // the chunk being walked (owned by the writer)
  size_t left_ = 0;
  bool has_chunk_ = false, eof_ = false, walk_done_ = false;
  std::thread thread_;
  bool finished_ = false;

  bool magic_ok_ = false, complete_ = false;
  std::map<int64_t, Db> dbs_;
  std::string problem_;
};

}  // namespace stacksnap::dbengine
