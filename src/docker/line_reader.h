// Splits a Reader into '\n'-terminated lines with a bounded buffer (events, pull
// progress). Internal to src/docker.
#pragma once

#include <optional>
#include <string>

#include "base/stream.h"

namespace stacksnap::docker {

class LineReader {
 public:
  LineReader(Reader& r, size_t max_line) : r_(r), max_line_(max_line) {}
  // The next line without its terminator (and without a trailing '\r'); nullopt at EOF.
  // ResourceExhausted when a line exceeds max_line.
  Result<std::optional<std::string>> next() {
    for (;;) {
      if (auto nl = buf_.find('\n', scanned_); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        scanned_ = 0;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return std::optional<std::string>(std::move(line));
      }
      scanned_ = buf_.size();
      if (eof_) {
        if (buf_.empty()) return std::optional<std::string>();
        std::string line = std::move(buf_);
        buf_.clear();
        return std::optional<std::string>(std::move(line));
      }
      if (buf_.size() > max_line_) return resource_exhausted("a line of the Docker Engine's stream is too long");
      char tmp[16384];
      size_t n = TRY(r_.read(MutableBytes(reinterpret_cast<std::byte*>(tmp), sizeof tmp)));
      if (n == 0) eof_ = true;
      buf_.append(tmp, n);
    }
  }

 private:
  Reader& r_;
  size_t max_line_;
  std::string buf_;
  size_t scanned_ = 0;
  bool eof_ = false;
};

}  // namespace stacksnap::docker
