#include "docker/frames.h"

#include <algorithm>

namespace stacksnap::docker {

Status FrameDemuxer::feed(Bytes data) {
  while (!data.empty()) {
    if (remaining_ == 0 && header_have_ < header_.size()) {
      size_t n = std::min(header_.size() - header_have_, data.size());
      for (size_t i = 0; i < n; ++i) header_[header_have_ + i] = static_cast<uint8_t>(data[i]);
      header_have_ += n;
      data = data.subspan(n);
      if (header_have_ < header_.size()) return {};
      type_ = header_[0];
      if (type_ > 3) {
        return data_loss("corrupt exec stream: frame type " + std::to_string(type_) +
                         " (is the exec running with a TTY?)");
      }
      remaining_ = (uint32_t{header_[4]} << 24) | (uint32_t{header_[5]} << 16) | (uint32_t{header_[6]} << 8) |
                   uint32_t{header_[7]};
      if (remaining_ == 0) {  // zero-length frame: nothing to deliver
        header_have_ = 0;
        continue;
      }
    }
    size_t n = std::min<size_t>(remaining_, data.size());
    Bytes payload = data.first(n);
    switch (static_cast<StreamType>(type_)) {
      case StreamType::kStdin:
      case StreamType::kStdout:
        TRY(out_.write(payload));
        stdout_bytes_ += n;
        break;
      case StreamType::kStderr:
        TRY(err_.write(payload));
        stderr_bytes_ += n;
        break;
      case StreamType::kSystemError: {
        size_t keep = std::min(n, kMaxSystemError - std::min(kMaxSystemError, system_error_.size()));
        system_error_.append(as_chars(payload.first(keep)));
        break;
      }
    }
    remaining_ -= static_cast<uint32_t>(n);
    data = data.subspan(n);
    if (remaining_ == 0) header_have_ = 0;
  }
  return {};
}

Status FrameDemuxer::finish() const {
  if (header_have_ != 0 || remaining_ != 0) {
    return data_loss("exec stream ended inside a frame (" + std::to_string(remaining_) + " payload bytes missing)");
  }
  return {};
}

}  // namespace stacksnap::docker
