#include "storage/s3/s3_reader.h"

#include <algorithm>
#include <cstring>

#include "storage/s3/s3_errors.h"
#include "base/text.h"

namespace stacksnap::storage::s3 {
namespace {

constexpr int kPollTimeoutMs = 1000;

std::string trim(std::string_view s) { return std::string(trim_space(s)); }

bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<Reader>> S3ObjectReader::open(std::shared_ptr<S3Client> client, std::string key,
                                                     GetRange range) {
  std::optional<uint64_t> end;
  if (range.length) end = range.offset + *range.length;
  std::unique_ptr<S3ObjectReader> r(new S3ObjectReader(std::move(client), std::move(key), range.offset, end));
  if (end && *end == range.offset) {  // an empty range: only say whether the object exists
    TRY(r->client_->head_object(r->key_));
    r->eof_ = true;
    return std::unique_ptr<Reader>(std::move(r));
  }
  r->multi_.emplace(TRY(CurlMulti::create()));
  TRY(r->open_transfer());
  return std::unique_ptr<Reader>(std::move(r));
}

S3ObjectReader::~S3ObjectReader() { finish_transfer(); }

Status S3ObjectReader::open_transfer() {
  return client_->retrier().run([&](int) -> Status { return start_once(); });
}

void S3ObjectReader::finish_transfer() {
  if (!easy_) return;
  curl_multi_remove_handle(multi_->get(), easy_.get());
  if (done_ && result_ == CURLE_OK) {
    client_->release_handle(std::move(easy_));  // its connection is reusable
  } else {
    easy_.reset();
  }
  headers_ = CurlSlist();
}

Status S3ObjectReader::start_once() {
  finish_transfer();
  status_ = 0;
  headers_done_ = done_ = paused_ = false;
  result_ = CURLE_OK;
  errbuf_[0] = '\0';
  error_body_.clear();
  content_length_.clear();
  response_etag_.clear();

  const uint64_t from = next_;  // data may arrive with the headers and move next_
  S3Request req{.method = "GET", .key = key_, .data_transfer = true};
  if (next_ > 0 || end_) {
    req.headers.emplace_back("range", "bytes=" + std::to_string(next_) + "-" + (end_ ? std::to_string(*end_ - 1) : ""));
  }
  if (!etag_.empty()) req.headers.emplace_back("if-match", etag_);
  easy_ = TRY(client_->acquire_handle());
  TRY(client_->prepare(easy_.get(), req, headers_));
  CURL* h = easy_.get();
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &S3ObjectReader::on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &S3ObjectReader::on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
  if (curl_multi_add_handle(multi_->get(), h) != CURLM_OK) return internal_error("curl_multi_add_handle failed");

  while (!headers_done_ && !done_) TRY(pump());
  if (headers_done_ && status_ >= 200 && status_ < 300) {
    // Pin the version now: a retry of this very request must not mix in another one.
    if (etag_.empty()) etag_ = response_etag_;
    if (!end_ && !content_length_.empty()) end_ = from + std::strtoull(content_length_.c_str(), nullptr, 10);
  }
  if (done_ && result_ != CURLE_OK) return transfer_error();
  if (status_ == 416 && from == start_) {  // the range starts at or past the end: nothing to read
    while (!done_) TRY(pump());
    end_ = next_;
    eof_ = true;
    return {};
  }
  if (status_ < 200 || status_ >= 300) {
    while (!done_) TRY(pump());
    if (status_ == 412) return aborted("s3 GET " + key_ + ": the object changed while it was being read");
    return map_http_error("GET", key_, status_, error_body_, client_->config().bucket);
  }
  if (status_ == 200 && from > 0) {
    return failed_precondition("s3 GET " + key_ + ": the server ignored the Range header");
  }
  if (!end_) return unavailable("s3 GET " + key_ + ": answer has no Content-Length");
  return {};
}

Status S3ObjectReader::pump() {
  int running = 0;
  if (CURLMcode mc = curl_multi_perform(multi_->get(), &running); mc != CURLM_OK) {
    return internal_error(std::string("curl_multi_perform: ") + curl_multi_strerror(mc));
  }
  int queued = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_->get(), &queued)) {
    if (m->msg == CURLMSG_DONE) {
      done_ = true;
      result_ = m->data.result;
    }
  }
  if (done_ || pending_.size() > pending_pos_) return {};
  if (CURLMcode mc = curl_multi_poll(multi_->get(), nullptr, 0, kPollTimeoutMs, nullptr); mc != CURLM_OK) {
    return internal_error(std::string("curl_multi_poll: ") + curl_multi_strerror(mc));
  }
  return {};
}

Error S3ObjectReader::transfer_error() const {
  return map_curl_error("GET", key_, result_, errbuf_);
}

Result<size_t> S3ObjectReader::read(MutableBytes buf) {
  if (buf.empty()) return size_t{0};
  for (;;) {
    size_t avail = pending_.size() - pending_pos_;
    if (avail > 0) {
      size_t n = std::min(avail, buf.size());
      std::memcpy(buf.data(), pending_.data() + pending_pos_, n);
      pending_pos_ += n;
      if (pending_pos_ == pending_.size()) {
        pending_.clear();
        pending_pos_ = 0;
      }
      if (paused_ && pending_.size() - pending_pos_ < kGetBuffer) {
        paused_ = false;
        curl_easy_pause(easy_.get(), CURLPAUSE_CONT);
      }
      return n;
    }
    if (eof_) return size_t{0};
    if (done_) {
      if (result_ == CURLE_OK && end_ && next_ >= *end_) {
        eof_ = true;
        finish_transfer();
        return size_t{0};
      }
      // Broken mid-body: resume from the next byte.
      Error e = result_ != CURLE_OK
                    ? transfer_error()
                    : unavailable("s3 GET " + key_ + ": connection closed after " + std::to_string(next_ - start_) +
                                  " bytes");
      Retrier retrier = client_->retrier();
      if (!is_retryable(e) || ++failures_ >= retrier.max_attempts()) {
        if (failures_ > 1) e.with_context("gave up after " + std::to_string(failures_) + " attempts");
        return e;
      }
      TRY(retrier.backoff(failures_));
      TRY(open_transfer());
      continue;
    }
    if (paused_) {  // everything read: let data flow again
      paused_ = false;
      curl_easy_pause(easy_.get(), CURLPAUSE_CONT);
      continue;
    }
    TRY(pump());
  }
}

size_t S3ObjectReader::on_header(char* data, size_t size, size_t n, void* self) {
  auto* r = static_cast<S3ObjectReader*>(self);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    size_t sp = line.find(' ');
    r->status_ = sp == std::string_view::npos ? 0 : std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
    r->content_length_.clear();
    r->response_etag_.clear();
  } else if (line == "\r\n" || line == "\n") {
    if (r->status_ >= 200) r->headers_done_ = true;
  } else if (header_is(line, "content-length")) {
    r->content_length_ = trim(line.substr(15));
  } else if (header_is(line, "etag")) {
    r->response_etag_ = trim(line.substr(5));
  }
  return size * n;
}

size_t S3ObjectReader::on_data(char* data, size_t size, size_t n, void* self) {
  auto* r = static_cast<S3ObjectReader*>(self);
  size_t k = size * n;
  if (r->status_ < 200 || r->status_ >= 300) {
    r->error_body_.append(data, std::min(k, kMaxErrorBody - std::min(kMaxErrorBody, r->error_body_.size())));
    return k;
  }
  if (r->pending_.size() - r->pending_pos_ >= kGetBuffer) {
    r->paused_ = true;
    return CURL_WRITEFUNC_PAUSE;  // curl keeps this chunk and offers it again after CONT
  }
  if (r->pending_pos_ >= kGetBuffer) {
    r->pending_.erase(0, r->pending_pos_);
    r->pending_pos_ = 0;
  }
  r->pending_.append(data, k);
  r->next_ += k;
  r->failures_ = 0;
  return k;
}

}  // namespace stacksnap::storage::s3
