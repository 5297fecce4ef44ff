// Owning types for libcurl's C handles.
#pragma once

#include <curl/curl.h>

#include <string>
#include <utility>

#include "base/error.h"

namespace stacksnap::storage::s3 {

// curl_global_init once per process (thread-safe; call before the first handle).
void ensure_curl_initialized();

class CurlHandle {
 public:
  CurlHandle() = default;
  static Result<CurlHandle> create();
  CurlHandle(CurlHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  CurlHandle& operator=(CurlHandle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  CurlHandle(const CurlHandle&) = delete;
  CurlHandle& operator=(const CurlHandle&) = delete;
  ~CurlHandle() { reset(); }

  CURL* get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }
  void reset() {
    if (h_ != nullptr) curl_easy_cleanup(std::exchange(h_, nullptr));
  }

 private:
  explicit CurlHandle(CURL* h) : h_(h) {}
  CURL* h_ = nullptr;
};

// A curl_slist of headers, freed with the owner.
class CurlSlist {
 public:
  CurlSlist() = default;
  CurlSlist(CurlSlist&& o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
  CurlSlist& operator=(CurlSlist&& o) noexcept {
    if (this != &o) {
      curl_slist_free_all(l_);
      l_ = std::exchange(o.l_, nullptr);
    }
    return *this;
  }
  CurlSlist(const CurlSlist&) = delete;
  CurlSlist& operator=(const CurlSlist&) = delete;
  ~CurlSlist() { curl_slist_free_all(l_); }

  // ResourceExhausted when curl cannot allocate.
  Status append(const std::string& line);
  curl_slist* get() const { return l_; }

 private:
  curl_slist* l_ = nullptr;
};

class CurlMulti {
 public:
  static Result<CurlMulti> create();
  CurlMulti(CurlMulti&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  CurlMulti& operator=(CurlMulti&& o) noexcept {
    if (this != &o) {
      if (m_ != nullptr) curl_multi_cleanup(m_);
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;
  ~CurlMulti() {
    if (m_ != nullptr) curl_multi_cleanup(m_);
  }
  CURLM* get() const { return m_; }

 private:
  explicit CurlMulti(CURLM* m) : m_(m) {}
  CURLM* m_ = nullptr;
};

}  // namespace stacksnap::storage::s3
