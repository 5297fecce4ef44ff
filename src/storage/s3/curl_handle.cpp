#include "storage/s3/curl_handle.h"

#include <mutex>

namespace stacksnap::storage::s3 {

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Result<CurlHandle> CurlHandle::create() {
  ensure_curl_initialized();
  CURL* h = curl_easy_init();
  if (h == nullptr) return resource_exhausted("curl_easy_init failed");
  return CurlHandle(h);
}

Status CurlSlist::append(const std::string& line) {
  curl_slist* n = curl_slist_append(l_, line.c_str());
  if (n == nullptr) return resource_exhausted("curl_slist_append failed");
  l_ = n;
  return {};
}

Result<CurlMulti> CurlMulti::create() {
  ensure_curl_initialized();
  CURLM* m = curl_multi_init();
  if (m == nullptr) return resource_exhausted("curl_multi_init failed");
  return CurlMulti(m);
}

}  // namespace stacksnap::storage::s3
