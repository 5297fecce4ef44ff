#include "storage/s3/s3_target.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <vector>

#include "storage/s3/s3_errors.h"
#include "storage/s3/s3_reader.h"
#include "storage/s3/s3_upload.h"

namespace stacksnap::storage::s3 {

Result<std::unique_ptr<S3Target>> S3Target::create(S3Config config) {
  auto client = TRY(S3Client::create(std::move(config)));
  return std::unique_ptr<S3Target>(new S3Target(std::move(client)));
}

Result<std::unique_ptr<Upload>> S3Target::put(const std::string& key, uint64_t size_hint) {
  TRY(validate_key(key));
  return std::unique_ptr<Upload>(new S3Upload(client_, client_->full_key(key), size_hint));
}

namespace {

// SHA-256 of the first `size` bytes of `fd`, for callers of put_file() that do not know it.
Result<std::string> sha256_of_file(int fd, uint64_t size) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return internal_error("SHA-256 init failed");
  std::vector<unsigned char> buf(1 << 20);
  uint64_t off = 0;
  while (off < size) {
    ssize_t n = ::pread(fd, buf.data(), static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off)), static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read the file to upload", errno);
    if (n == 0) return data_loss("the file to upload is shorter than the " + std::to_string(size) + " bytes announced");
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    off += static_cast<uint64_t>(n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace

Status S3Target::put_file(const std::string& key, int fd, uint64_t size, const PutFileOptions& opts) {
  TRY(validate_key(key));
  const uint64_t threshold = std::min(client_->config().multipart_threshold, kMaxSinglePut);
  if (threshold == 0 || size > threshold) return Target::put_file(key, fd, size, opts);  // multipart
  std::string sha = opts.sha256;
  if (sha.empty()) sha = TRY_CTX(sha256_of_file(fd, size), "upload " + key);
  std::optional<Error> stopped;
  uint64_t reported = 0;
  std::function<bool(uint64_t)> progress;
  if (opts.progress) {
    progress = [&](uint64_t sent) {
      if (sent <= reported) return true;  // a retry catching up
      reported = sent;
      Status st = opts.progress(sent);
      if (st.ok()) return true;
      stopped = std::move(st).error();
      return false;
    };
  }
  std::atomic<bool> cancel{false};
  std::stop_callback on_stop(opts.stop, [&cancel] { cancel.store(true); });
  auto r = client_->put_object_from_file(client_->full_key(key), fd, size, sha, std::move(progress), &cancel);
  if (stopped) return *stopped;
  if (opts.stop.stop_requested()) return cancelled("upload of " + key + " cancelled");
  if (!r.ok()) return std::move(r).error();
  return {};
}

Result<std::unique_ptr<Reader>> S3Target::get(const std::string& key, GetRange range) {
  TRY(validate_key(key));
  return S3ObjectReader::open(client_, client_->full_key(key), range);
}

Result<ObjectInfo> S3Target::stat(const std::string& key) {
  TRY(validate_key(key));
  HeadResult h = TRY(client_->head_object(client_->full_key(key)));
  return ObjectInfo{key, h.size, h.modified};
}

Result<std::optional<SystemTime>> S3Target::check_once() {
  S3Request req{.method = "GET", .query = {{"list-type", "2"}, {"max-keys", "1"}, {"prefix", client_->prefix()}}};
  S3Response r = TRY(client_->call_once(req));
  if (r.status >= 300) return map_http_error(req.method, client_->what(req), r.status, r.body, client_->config().bucket);
  auto date = parse_http_date(r.header("date"));
  return date.ok() ? std::optional<SystemTime>(*date) : std::nullopt;
}

Status S3Target::list(const std::string& prefix, const std::function<Status(const ObjectInfo&)>& fn) {
  const std::string& ours = client_->prefix();
  std::string token;
  do {
    ListObjectsPage page = TRY(client_->list_objects(ours + prefix, token));
    for (const auto& o : page.objects) {
      if (o.key.compare(0, ours.size(), ours) != 0) continue;  // a server ignoring the prefix
      TRY(fn(ObjectInfo{o.key.substr(ours.size()), o.size, o.modified}));
    }
    token = page.truncated ? page.next_continuation_token : std::string();
  } while (!token.empty());
  return {};
}

Status S3Target::remove(const std::string& key) {
  TRY(validate_key(key));
  return client_->delete_object(client_->full_key(key));
}

Result<int> S3Target::cleanup_stale(std::chrono::seconds older_than) {
  auto cutoff = std::chrono::system_clock::now() - older_than;
  int aborted = 0;
  std::string key_marker, id_marker;
  for (;;) {
    auto page = client_->list_uploads(client_->prefix(), key_marker, id_marker);
    if (!page.ok()) {
      Code c = page.error().code();
      // Servers without ListMultipartUploads (some S3 clones) answer NotImplemented or
      // treat "?uploads" as unknown; there is then nothing we can clean.
      if (c == Code::kUnimplemented || (c == Code::kInvalidArgument && aborted == 0 && key_marker.empty())) {
        spdlog::info("{}: the server cannot list multipart uploads ({}); stale uploads are not cleaned",
                     describe(), page.error().message());
        return 0;
      }
      return std::move(page).error();
    }
    for (const auto& u : page->uploads) {
      if (u.initiated > cutoff) continue;
      Status st = client_->abort_multipart(u.key, u.upload_id);
      if (!st.ok()) return std::move(st).error().with_context("clean stale upload of " + u.key);
      ++aborted;
    }
    if (!page->truncated) break;
    key_marker = page->next_key_marker;
    id_marker = page->next_upload_id_marker;
  }
  return aborted;
}

}  // namespace stacksnap::storage::s3
