#include "storage/s3/s3_client.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "storage/s3/s3_errors.h"
#include "base/text.h"

namespace stacksnap::storage::s3 {
namespace {

// Idle handles kept for reuse (their connections stay open).
constexpr size_t kMaxPooledHandles = kMaxParallelParts + 4;
constexpr long kMaxRedirects = 0;  // S3 answers 301/307 with an XML body we report instead

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) { return std::string(trim_space(s)); }

struct CallState {
  Bytes body;
  int fd = -1;             // file body (S3Request::body_fd) instead of `body`
  uint64_t body_size = 0;  // of either
  uint64_t sent = 0;
  S3Response response;
  bool overflow = false;
  std::optional<Error> read_error;  // the file could not be read (not retried)
  const std::atomic<bool>* cancel = nullptr;
  const std::function<bool(uint64_t)>* on_progress = nullptr;
};

size_t read_cb(char* buf, size_t size, size_t n, void* p) {
  auto* st = static_cast<CallState*>(p);
  size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, st->body_size - st->sent));
  if (want == 0) return 0;
  if (st->fd < 0) {
    std::memcpy(buf, st->body.data() + st->sent, want);
    st->sent += want;
    return want;
  }
  for (;;) {
    ssize_t k = ::pread(st->fd, buf, want, static_cast<off_t>(st->sent));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      st->read_error = errno_error("read the file being uploaded at offset " + std::to_string(st->sent), errno);
      return CURL_READFUNC_ABORT;
    }
    if (k == 0) {  // the file is shorter than announced: it changed under us
      st->read_error = data_loss("the file being uploaded ended at " + std::to_string(st->sent) + " bytes, " +
                                 std::to_string(st->body_size) + " were announced (was it changed meanwhile?)");
      return CURL_READFUNC_ABORT;
    }
    st->sent += static_cast<uint64_t>(k);
    return static_cast<size_t>(k);
  }
}

int seek_cb(void* p, curl_off_t offset, int origin) {
  auto* st = static_cast<CallState*>(p);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > st->body_size) return CURL_SEEKFUNC_FAIL;
  st->sent = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t write_cb(char* data, size_t size, size_t n, void* p) {
  auto* st = static_cast<CallState*>(p);
  size_t k = size * n;
  if (st->response.body.size() + k > kMaxSmallBody) {
    st->overflow = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  st->response.body.append(data, k);
  return k;
}

size_t header_cb(char* data, size_t size, size_t n, void* p) {
  auto* st = static_cast<CallState*>(p);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    st->response.headers.clear();  // a new (final or interim) response begins
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    st->response.headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  return size * n;
}

int progress_cb(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t ulnow) {
  const auto* st = static_cast<const CallState*>(p);
  if (st->cancel != nullptr && st->cancel->load()) return 1;
  if (st->on_progress != nullptr && !(*st->on_progress)(static_cast<uint64_t>(std::max<curl_off_t>(ulnow, 0)))) return 1;
  return 0;
}

}  // namespace

std::string S3Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

Result<std::shared_ptr<S3Client>> S3Client::create(S3Config c) {
  if (c.region.empty()) c.region = "us-east-1";
  auto ep = TRY_CTX(parse_endpoint(c.endpoint, c.region), "s3 target");
  TRY_CTX(validate_bucket_name(c.bucket), "s3 target");
  if (c.access_key.empty() || c.secret_key.empty()) {
    return unauthenticated("s3 target " + ep.to_string() + "/" + c.bucket +
                           ": no credentials (access key and secret key are both needed)");
  }
  if (c.part_size < kMinPartSize || c.part_size > kMaxPartSize) {
    return invalid_argument("s3 part size must be between 5 MiB and 5 GiB, not " + std::to_string(c.part_size));
  }
  if (c.multipart_threshold > kMaxSinglePut) {
    return invalid_argument("s3 multipart threshold must be at most 5 GiB (S3's limit for one PUT), not " +
                            std::to_string(c.multipart_threshold));
  }
  if (c.parallel_parts < 1 || c.parallel_parts > kMaxParallelParts) {
    return invalid_argument("s3 parallel parts must be between 1 and " + std::to_string(kMaxParallelParts));
  }
  if (c.retry.max_attempts < 1) c.retry.max_attempts = 1;
  std::string prefix = c.prefix;
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  AddressingStyle style = resolve_addressing(c.addressing, ep, c.bucket);
  ensure_curl_initialized();
  return std::shared_ptr<S3Client>(new S3Client(std::move(c), std::move(ep), style, std::move(prefix)));
}

std::string S3Client::describe() const {
  std::string d = "s3 " + endpoint_.to_string() + "/" + config_.bucket;
  if (!prefix_.empty()) d += "/" + prefix_.substr(0, prefix_.size() - 1);
  return d;
}

std::string S3Client::what(const S3Request& req) const {
  return req.key.empty() ? "bucket " + config_.bucket : req.key;
}

Result<CurlHandle> S3Client::acquire_handle() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      CurlHandle h = std::move(pool_.back());
      pool_.pop_back();
      return h;
    }
  }
  return CurlHandle::create();
}

void S3Client::release_handle(CurlHandle h) {
  if (!h) return;
  curl_easy_reset(h.get());  // keeps the connection cache
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < kMaxPooledHandles) pool_.push_back(std::move(h));
}

Status S3Client::prepare(CURL* h, const S3Request& req, CurlSlist& headers) const {
  RequestTarget t = build_target(endpoint_, style_, config_.bucket, req.key, req.query);
  std::string date = amz_date(std::chrono::system_clock::now());
  if (req.body_fd >= 0 && req.payload_hash.empty()) {
    return internal_error("s3 " + req.method + " " + what(req) + ": a file body needs its SHA-256");
  }
  std::string hash = req.payload_hash.empty() ? sha256_hex(req.body) : req.payload_hash;
  SignRequest s{.method = req.method, .canonical_uri = t.canonical_uri, .canonical_query = t.query,
                .headers = {{"host", t.host_header}, {"x-amz-content-sha256", hash}, {"x-amz-date", date}},
                .payload_hash = hash, .amz_date = date};
  if (!config_.session_token.empty()) s.headers.emplace_back("x-amz-security-token", config_.session_token);
  for (const auto& kv : req.headers) s.headers.push_back(kv);
  std::string auth = authorization_header(
      s, SigningCredentials{config_.access_key, config_.secret_key, config_.session_token}, config_.region);
  for (const auto& [k, v] : s.headers) TRY(headers.append(k + ": " + v));
  TRY(headers.append("Authorization: " + auth));
  // No 100-continue round trip for bodies in memory (parts, small objects) or small files
  // (a repository's packs, 16 MiB: one round trip each would add up). A large file body
  // (up to 5 GiB) waits for it, as aws-cli does: a refused request (wrong key, missing
  // bucket) is answered before the body is sent.
  if (req.body_fd < 0 || req.body_size <= (64u << 20)) TRY(headers.append("Expect:"));
  if (req.method == "POST" && std::none_of(req.headers.begin(), req.headers.end(), [](const auto& kv) {
        return lower(kv.first) == "content-type";
      })) {
    TRY(headers.append("Content-Type:"));  // curl's form default would be wrong
  }

  curl_easy_setopt(h, CURLOPT_URL, t.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, kMaxRedirects);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.timeouts.connect.count()));
  if (!config_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
  if (req.data_transfer) {
    long stall_s = std::max<long>(1, static_cast<long>((config_.timeouts.stall.count() + 999) / 1000));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_s);
  } else {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeouts.small_request.count()));
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    const bool file = req.body_fd >= 0;
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(file ? req.body_size : req.body.size()));
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, file ? kFileUploadBufferSize : kUploadBufferSize);
  } else if (req.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.empty() ? "" : reinterpret_cast<const char*>(req.body.data()));
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, kDownloadBufferSize);
  return {};
}

Result<S3Response> S3Client::call_once(const S3Request& req, const std::atomic<bool>* cancel) {
  CurlHandle h = TRY(acquire_handle());
  CurlSlist headers;
  TRY(prepare(h.get(), req, headers));
  CallState st{.body = req.body, .fd = req.body_fd, .body_size = req.body_fd >= 0 ? req.body_size : req.body.size(),
               .cancel = cancel, .on_progress = req.on_upload_progress ? &req.on_upload_progress : nullptr};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h.get(), CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(h.get(), CURLOPT_READDATA, &st);
  curl_easy_setopt(h.get(), CURLOPT_SEEKFUNCTION, seek_cb);
  curl_easy_setopt(h.get(), CURLOPT_SEEKDATA, &st);
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(h.get(), CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(h.get(), CURLOPT_HEADERDATA, &st);
  if (cancel != nullptr || st.on_progress != nullptr) {
    curl_easy_setopt(h.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h.get(), CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(h.get(), CURLOPT_XFERINFODATA, &st);
  }
  CURLcode rc = curl_easy_perform(h.get());
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &st.response.status);
  release_handle(std::move(h));
  if (st.read_error) return std::move(*st.read_error).with_context("s3 " + req.method + " " + what(req));
  if (st.overflow) return unavailable("s3 " + req.method + " " + what(req) + ": answer larger than expected");
  if (rc != CURLE_OK) return map_curl_error(req.method, what(req), rc, errbuf);
  return std::move(st.response);
}

Result<S3Response> S3Client::call(const S3Request& req, const std::atomic<bool>* cancel) {
  return retrier(cancel).run([&](int) -> Result<S3Response> {
    S3Response r = TRY(call_once(req, cancel));
    if (r.status < 200 || r.status >= 300) {
      return map_http_error(req.method, what(req), r.status, r.body, config_.bucket);
    }
    return r;
  });
}

Result<std::string> S3Client::put_object(const std::string& key, Bytes body, const std::string& sha256,
                                         const std::atomic<bool>* cancel) {
  S3Request req{.method = "PUT", .key = key, .headers = {{"content-type", "application/octet-stream"}},
                .body = body, .payload_hash = sha256, .data_transfer = true};
  S3Response r = TRY(call(req, cancel));
  return r.header("etag");  // passed back to S3 as received, quotes included
}

Result<std::string> S3Client::put_object_from_file(const std::string& key, int fd, uint64_t size,
                                                   const std::string& sha256, std::function<bool(uint64_t)> progress,
                                                   const std::atomic<bool>* cancel) {
  if (size > kMaxSinglePut) {
    return invalid_argument("s3 PUT " + key + ": " + std::to_string(size) + " bytes is more than one PutObject takes (5 GiB)");
  }
  S3Request req{.method = "PUT", .key = key, .headers = {{"content-type", "application/octet-stream"}},
                .body_fd = fd, .body_size = size, .payload_hash = sha256, .data_transfer = true,
                .on_upload_progress = std::move(progress)};
  S3Response r = TRY(call(req, cancel));
  return r.header("etag");
}

Result<std::string> S3Client::create_multipart(const std::string& key) {
  S3Request req{.method = "POST", .key = key, .query = {{"uploads", ""}},
                .headers = {{"content-type", "application/octet-stream"}}};
  S3Response r = TRY(call(req));
  return TRY_CTX(parse_initiate_multipart(r.body), "s3 POST " + key + "?uploads");
}

Result<std::string> S3Client::upload_part(const std::string& key, const std::string& upload_id, uint32_t part,
                                          Bytes body, const std::string& sha256, const std::atomic<bool>* cancel) {
  S3Request req{.method = "PUT", .key = key,
                .query = {{"partNumber", std::to_string(part)}, {"uploadId", upload_id}},
                .body = body, .payload_hash = sha256, .data_transfer = true};
  S3Response r = TRY(call(req, cancel));
  std::string etag = r.header("etag");
  if (etag.empty()) return unavailable("s3 PUT " + key + " part " + std::to_string(part) + ": answer has no ETag");
  return etag;
}

Status S3Client::complete_multipart(const std::string& key, const std::string& upload_id,
                                    const std::vector<std::string>& etags) {
  std::string xml = build_complete_multipart(etags);
  S3Request req{.method = "POST", .key = key, .query = {{"uploadId", upload_id}},
                .headers = {{"content-type", "application/xml"}}, .body = as_bytes(xml)};
  return retrier().run([&](int attempt) -> Status {
    S3Response r = TRY(call_once(req));
    // S3 may answer 200 and still fail: the error is then in the body.
    auto err = parse_error_body(r.body);
    if (r.status >= 300 || err) {
      Error e = map_http_error("POST", key, r.status >= 300 ? r.status : 500, r.body, config_.bucket);
      // A retry after a lost answer finds the upload gone: done if the object is there.
      if (attempt > 1 && err && err->code == "NoSuchUpload" && head_object(key).ok()) return {};
      return e;
    }
    return {};
  });
}

Status S3Client::abort_multipart(const std::string& key, const std::string& upload_id) {
  S3Request req{.method = "DELETE", .key = key, .query = {{"uploadId", upload_id}}};
  auto r = call(req);
  if (!r.ok() && r.error().code() == Code::kNotFound) return {};  // already gone
  if (!r.ok()) return std::move(r).error();
  return {};
}

Result<HeadResult> S3Client::head_object(const std::string& key) {
  S3Request req{.method = "HEAD", .key = key};
  S3Response r = TRY(call(req));
  HeadResult h;
  std::string len = r.header("content-length");
  h.size = len.empty() ? 0 : std::strtoull(len.c_str(), nullptr, 10);
  h.etag = r.header("etag");
  auto mod = parse_http_date(r.header("last-modified"));
  if (mod.ok()) h.modified = *mod;
  return h;
}

Status S3Client::delete_object(const std::string& key) {
  S3Request req{.method = "DELETE", .key = key};
  auto r = call(req);
  if (!r.ok() && r.error().code() == Code::kNotFound && r.error().message().find("NoSuchBucket") == std::string::npos) {
    return {};  // some servers answer 404 for an absent key; S3 answers 204
  }
  if (!r.ok()) return std::move(r).error();
  return {};
}

Result<ListObjectsPage> S3Client::list_objects(const std::string& prefix, const std::string& token) {
  S3Request req{.method = "GET", .query = {{"list-type", "2"}, {"prefix", prefix}}};
  if (!token.empty()) req.query.emplace_back("continuation-token", token);
  S3Response r = TRY(call(req));
  return TRY_CTX(parse_list_objects_v2(r.body), "s3 list " + prefix);
}

Result<ListUploadsPage> S3Client::list_uploads(const std::string& prefix, const std::string& key_marker,
                                               const std::string& upload_id_marker) {
  S3Request req{.method = "GET", .query = {{"uploads", ""}, {"prefix", prefix}}};
  if (!key_marker.empty()) req.query.emplace_back("key-marker", key_marker);
  if (!upload_id_marker.empty()) req.query.emplace_back("upload-id-marker", upload_id_marker);
  S3Response r = TRY(call(req));
  return TRY_CTX(parse_list_multipart_uploads(r.body), "s3 list multipart uploads under '" + prefix + "'");
}

}  // namespace stacksnap::storage::s3
