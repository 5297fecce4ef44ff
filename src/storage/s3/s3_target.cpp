#include "storage/s3/s3_target.h"

#include <spdlog/spdlog.h>

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

Result<std::unique_ptr<Reader>> S3Target::get(const std::string& key, GetRange range) {
  TRY(validate_key(key));
  return S3ObjectReader::open(client_, client_->full_key(key), range);
}

Result<ObjectInfo> S3Target::stat(const std::string& key) {
  TRY(validate_key(key));
  HeadResult h = TRY(client_->head_object(client_->full_key(key)));
  return ObjectInfo{key, h.size, h.modified};
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
