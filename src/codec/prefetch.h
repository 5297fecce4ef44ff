// PrefetchReader: reads an upstream Reader on a background thread into a small ring
// of fixed slots, so that the upstream stages (read + decrypt + decompress) overlap
// with the consumer (tar parsing + hashing). Memory: slots × slot_size.
//
// Contract: after construction the upstream belongs to the background thread until
// this object is destroyed; the consumer calls read()/next_chunk() from one thread.
// An upstream error is delivered after all data that preceded it. The destructor
// stops the thread (it finishes the upstream read in progress) and joins it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::codec {

inline constexpr size_t kPrefetchSlot = 1 << 20;
inline constexpr size_t kPrefetchSlots = 4;

class PrefetchReader final : public Reader {
 public:
  explicit PrefetchReader(Reader& upstream, size_t slot_size = kPrefetchSlot, size_t slots = kPrefetchSlots);
  ~PrefetchReader() override;
  PrefetchReader(const PrefetchReader&) = delete;
  PrefetchReader& operator=(const PrefetchReader&) = delete;

  Result<size_t> read(MutableBytes buf) override;
  // Zero-copy: the next run of bytes, valid until the next call; empty at EOF.
  Result<Bytes> next_chunk();

 private:
  struct Slot {
    std::vector<std::byte> data;
    size_t size = 0;
  };
  void run();
  void release_current();

  Reader& upstream_;
  std::vector<Slot> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t head_ = 0;   // next slot the consumer takes
  size_t tail_ = 0;   // next slot the producer fills
  size_t count_ = 0;  // filled slots not yet released
  bool producer_done_ = false;
  std::optional<Error> error_;
  bool stop_ = false;
  // consumer side
  bool holding_ = false;
  size_t pos_ = 0;
  std::thread thread_;
};

// WriteBehindWriter: the mirror image for writing. write() copies into a ring of fixed
// slots and returns; a background thread drains the slots into `downstream` (for the
// archive writer: seal + outer SHA-256 + output), overlapping it with the caller's work.
//
// Contract: `downstream` is used only by the background thread from construction until
// finish()/destruction. A downstream error is returned by a later write() or finish().
// finish() writes everything, stops the thread and returns the first error; it does not
// close `downstream` (the caller may do so afterwards, on its own thread). Destroying an
// unfinished writer stops the thread after the slot in progress (data is dropped).
class WriteBehindWriter final : public Writer {
 public:
  explicit WriteBehindWriter(Writer& downstream, size_t slot_size = kPrefetchSlot, size_t slots = kPrefetchSlots);
  ~WriteBehindWriter() override;
  WriteBehindWriter(const WriteBehindWriter&) = delete;
  WriteBehindWriter& operator=(const WriteBehindWriter&) = delete;

  Status write(Bytes data) override;
  Status finish();

 private:
  struct Slot {
    std::vector<std::byte> data;
    size_t size = 0;
  };
  void run();
  Status hand_off();  // queues the slot being filled

  Writer& downstream_;
  std::vector<Slot> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t head_ = 0, tail_ = 0, count_ = 0;  // filled slots queued for the thread
  bool closing_ = false, stop_ = false, finished_ = false;
  std::optional<Error> error_;
  size_t fill_ = 0;  // bytes in slots_[tail_], owned by the caller until handed off
  std::thread thread_;
};

}  // namespace stacksnap::codec
