#include "codec/prefetch.h"

#include <algorithm>
#include <cstring>

namespace stacksnap::codec {

PrefetchReader::PrefetchReader(Reader& upstream, size_t slot_size, size_t slots)
    : upstream_(upstream), slots_(std::max<size_t>(slots, 2)) {
  for (auto& s : slots_) s.data.resize(slot_size);
  thread_ = std::thread([this] { run(); });
}

PrefetchReader::~PrefetchReader() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PrefetchReader::run() {
  for (;;) {
    size_t idx;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || count_ < slots_.size(); });
      if (stop_) return;
      idx = tail_;
    }
    Slot& s = slots_[idx];
    // Fill the slot as far as the upstream allows, so the consumer sees large runs.
    size_t filled = 0;
    std::optional<Error> err;
    bool eof = false;
    while (filled < s.data.size()) {
      auto n = upstream_.read(MutableBytes(s.data.data() + filled, s.data.size() - filled));
      if (!n.ok()) {
        err = std::move(n).error();
        break;
      }
      if (*n == 0) {
        eof = true;
        break;
      }
      filled += *n;
    }
    {
      std::lock_guard lk(mu_);
      if (filled > 0) {
        s.size = filled;
        tail_ = (tail_ + 1) % slots_.size();
        ++count_;
      }
      if (err) error_ = std::move(err);
      if (err || eof) producer_done_ = true;
    }
    cv_.notify_all();
    if (err || eof) return;
  }
}

void PrefetchReader::release_current() {
  if (!holding_) return;
  {
    std::lock_guard lk(mu_);
    head_ = (head_ + 1) % slots_.size();
    --count_;
  }
  holding_ = false;
  pos_ = 0;
  cv_.notify_all();
}

Result<Bytes> PrefetchReader::next_chunk() {
  if (holding_) {
    Slot& cur = slots_[head_];
    if (pos_ < cur.size) {
      Bytes b(cur.data.data() + pos_, cur.size - pos_);
      pos_ = cur.size;
      return b;
    }
    release_current();
  }
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return count_ > 0 || producer_done_; });
  if (count_ == 0) {
    if (error_) return Error(*error_);
    return Bytes{};
  }
  holding_ = true;
  Slot& cur = slots_[head_];
  pos_ = cur.size;
  return Bytes(cur.data.data(), cur.size);
}

Result<size_t> PrefetchReader::read(MutableBytes buf) {
  if (buf.empty()) return size_t{0};
  if (!holding_ || pos_ == slots_[head_].size) {
    Bytes chunk = TRY(next_chunk());
    if (chunk.empty()) return size_t{0};
    pos_ = 0;
  }
  Slot& cur = slots_[head_];
  size_t n = std::min(buf.size(), cur.size - pos_);
  std::memcpy(buf.data(), cur.data.data() + pos_, n);
  pos_ += n;
  return n;
}

// ---- WriteBehindWriter --------------------------------------------------------------

WriteBehindWriter::WriteBehindWriter(Writer& downstream, size_t slot_size, size_t slots)
    : downstream_(downstream), slots_(std::max<size_t>(slots, 2)) {
  for (auto& s : slots_) s.data.resize(slot_size);
  thread_ = std::thread([this] { run(); });
}

WriteBehindWriter::~WriteBehindWriter() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WriteBehindWriter::run() {
  for (;;) {
    size_t idx;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || count_ > 0 || closing_; });
      if (stop_ || (count_ == 0 && closing_) || error_) return;
      idx = head_;
    }
    Slot& s = slots_[idx];
    Status st = downstream_.write(Bytes(s.data.data(), s.size));
    {
      std::lock_guard lk(mu_);
      if (!st.ok()) error_ = std::move(st).error();
      head_ = (head_ + 1) % slots_.size();
      --count_;
    }
    cv_.notify_all();
    if (!st.ok()) return;
  }
}

Status WriteBehindWriter::hand_off() {
  std::unique_lock lk(mu_);
  if (error_) return Error(*error_);
  slots_[tail_].size = fill_;
  tail_ = (tail_ + 1) % slots_.size();
  ++count_;
  fill_ = 0;
  cv_.notify_all();
  // The next slot to fill must be free.
  cv_.wait(lk, [&] { return count_ < slots_.size() || error_.has_value(); });
  if (error_) return Error(*error_);
  return {};
}

Status WriteBehindWriter::write(Bytes data) {
  if (finished_) return failed_precondition("write after finish");
  {
    std::lock_guard lk(mu_);
    if (error_) return Error(*error_);
  }
  while (!data.empty()) {
    Slot& s = slots_[tail_];
    size_t n = std::min(data.size(), s.data.size() - fill_);
    std::memcpy(s.data.data() + fill_, data.data(), n);
    fill_ += n;
    data = data.subspan(n);
    if (fill_ == s.data.size()) TRY(hand_off());
  }
  return {};
}

Status WriteBehindWriter::finish() {
  if (finished_) return {};
  finished_ = true;
  Status st;
  if (fill_ > 0) st = hand_off();
  {
    std::lock_guard lk(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (!st.ok()) return st;
  if (error_) return Error(*error_);
  return {};
}

}  // namespace stacksnap::codec
