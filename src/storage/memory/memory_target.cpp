#include "storage/memory/memory_target.h"

#include <algorithm>
#include <cstring>

namespace stacksnap::storage {

class MemoryUpload final : public Upload {
 public:
  MemoryUpload(MemoryTarget& t, std::string key) : t_(t), key_(std::move(key)) { ++t_.open_uploads_; }
  ~MemoryUpload() override { abort(); }
  Status write(Bytes data) override {
    if (done_) return failed_precondition("upload of " + key_ + " is already closed");
    buf_.append(as_chars(data));
    return {};
  }
  Status commit() override {
    if (done_) return failed_precondition("upload of " + key_ + " is already closed");
    done_ = true;
    --t_.open_uploads_;
    t_.commit_object(key_, std::move(buf_));
    return {};
  }
  void abort() override {
    if (done_) return;
    done_ = true;
    --t_.open_uploads_;
    buf_.clear();
  }
  uint64_t bytes_written() const override { return buf_.size(); }

 private:
  MemoryTarget& t_;
  std::string key_;
  std::string buf_;
  bool done_ = false;
};

namespace {
class SharedStringReader final : public Reader {
 public:
  SharedStringReader(std::shared_ptr<const std::string> s, size_t pos, size_t end)
      : s_(std::move(s)), pos_(pos), end_(end) {}
  Result<size_t> read(MutableBytes buf) override {
    size_t n = std::min(buf.size(), end_ - pos_);
    if (n) std::memcpy(buf.data(), s_->data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::shared_ptr<const std::string> s_;
  size_t pos_, end_;
};
}  // namespace

Result<std::unique_ptr<Upload>> MemoryTarget::put(const std::string& key, uint64_t) {
  TRY(validate_key(key));
  return std::unique_ptr<Upload>(new MemoryUpload(*this, key));
}

void MemoryTarget::commit_object(const std::string& key, std::string data) {
  std::lock_guard lk(mu_);
  objects_[key] = std::make_shared<const std::string>(std::move(data));
}

Result<std::unique_ptr<Reader>> MemoryTarget::get(const std::string& key, GetRange range) {
  TRY(validate_key(key));
  std::lock_guard lk(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return not_found("no object " + key);
  size_t size = it->second->size();
  size_t start = static_cast<size_t>(std::min<uint64_t>(range.offset, size));
  size_t end = range.length ? static_cast<size_t>(std::min<uint64_t>(start + *range.length, size)) : size;
  return std::unique_ptr<Reader>(new SharedStringReader(it->second, start, end));
}

Result<ObjectInfo> MemoryTarget::stat(const std::string& key) {
  TRY(validate_key(key));
  std::lock_guard lk(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return not_found("no object " + key);
  return ObjectInfo{key, it->second->size(), {}};
}

Status MemoryTarget::list(const std::string& prefix, const std::function<Status(const ObjectInfo&)>& fn) {
  std::vector<ObjectInfo> found;
  {
    std::lock_guard lk(mu_);
    for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      found.push_back({it->first, it->second->size(), {}});
    }
  }
  for (const auto& o : found) TRY(fn(o));
  return {};
}

Status MemoryTarget::remove(const std::string& key) {
  TRY(validate_key(key));
  std::lock_guard lk(mu_);
  objects_.erase(key);
  return {};
}

size_t MemoryTarget::object_count() const {
  std::lock_guard lk(mu_);
  return objects_.size();
}

}  // namespace stacksnap::storage
