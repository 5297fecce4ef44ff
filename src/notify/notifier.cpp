#include "notify/notifier.h"

#include <curl/curl.h>

#include <algorithm>
#include <optional>

namespace stacksnap::notify {

Result<Kind> parse_kind(std::string_view s) {
  if (s == "webhook") return Kind::kWebhook;
  if (s == "ntfy") return Kind::kNtfy;
  if (s == "healthchecks") return Kind::kHealthchecks;
  return invalid_argument("kind must be webhook, ntfy or healthchecks");
}

Status check_url(const std::string& url) {
  std::string_view u = url;
  size_t scheme = u.starts_with("https://") ? 8 : u.starts_with("http://") ? 7 : 0;
  if (scheme == 0) return invalid_argument("url must start with http:// or https://");
  if (u.size() <= scheme || u[scheme] == '/') return invalid_argument("url has no host");
  for (char c : u) {
    if (static_cast<unsigned char>(c) <= ' ') return invalid_argument("url contains spaces or control characters");
  }
  if (url.size() > 2048) return invalid_argument("url is longer than 2048 characters");
  return {};
}

bool is_failure(std::string_view result) { return result == "failed" || result == "partial"; }

std::string masked_url(const std::string& url) {
  std::string_view u = url;
  size_t scheme = u.find("://");
  if (scheme == std::string_view::npos) return "…";
  std::string_view rest = u.substr(scheme + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string out = std::string(u.substr(0, scheme + 3)) + std::string(authority);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (!tail.empty() && tail != "/") out += "/…";
  return out;
}

std::optional<HttpPost> render(const Channel& ch, const Message& m) {
  HttpPost p;
  switch (ch.kind) {
    case Kind::kWebhook:
      if (m.event != "job_finished") return std::nullopt;
      p.url = ch.url;
      p.body = m.payload.dump(-1, ' ', false, Json::error_handler_t::replace);
      p.headers = {"Content-Type: application/json", "User-Agent: stacksnap"};
      return p;
    case Kind::kNtfy:
      if (m.event != "job_finished") return std::nullopt;
      p.url = ch.url;
      p.body = m.text;
      p.headers = {"Content-Type: text/plain; charset=utf-8", "Title: " + m.title,
                   std::string("Priority: ") + (is_failure(m.result) ? "high" : "default"),
                   std::string("Tags: ") + (is_failure(m.result) ? "warning" : "white_check_mark")};
      return p;
    case Kind::kHealthchecks: {
      std::string base = ch.url;
      while (!base.empty() && base.back() == '/') base.pop_back();
      if (m.event == "job_started") p.url = base + "/start";
      else if (m.result == "succeeded") p.url = base;
      else if (is_failure(m.result)) p.url = base + "/fail";
      else return std::nullopt;
      p.body = m.text;
      p.headers = {"Content-Type: text/plain; charset=utf-8"};
      return p;
    }
  }
  return std::nullopt;
}

namespace {
size_t discard(char*, size_t n, size_t m, void*) { return n * m; }
}  // namespace

Result<long> curl_post(const HttpPost& p) {
  CURL* h = curl_easy_init();
  if (!h) return internal_error("curl_easy_init failed");
  curl_slist* list = nullptr;
  for (const auto& hd : p.headers) list = curl_slist_append(list, hd.c_str());
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, p.url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, p.body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(p.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(p.timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  if (rc == CURLE_OPERATION_TIMEDOUT) return deadline_exceeded("no answer within the timeout");
  if (rc != CURLE_OK) return unavailable(curl_easy_strerror(rc));
  return status;
}

Delivery deliver(const Channel& ch, const Message& m, const Poster& post, const RetryPolicy& retry) {
  Delivery d;
  auto req = render(ch, m);
  if (!req) {
    d.ok = true;
    d.message = "nothing to send for this event";
    return d;
  }
  for (int i = 0; i < retry.attempts; ++i) {
    if (i > 0 && !retry.backoff.empty()) {
      std::this_thread::sleep_for(retry.backoff[std::min<size_t>(static_cast<size_t>(i - 1), retry.backoff.size() - 1)]);
    }
    ++d.attempts;
    auto r = post(*req);
    if (!r.ok()) {
      d.status = 0;
      d.message = r.error().message();
      continue;
    }
    d.status = *r;
    if (*r >= 200 && *r < 300) {
      d.ok = true;
      d.message.clear();
      return d;
    }
    d.message = "the receiver answered HTTP " + std::to_string(*r);
    if (*r >= 400 && *r < 500 && *r != 408 && *r != 429) break;  // final
  }
  return d;
}

Dispatcher::Dispatcher(Poster post, RetryPolicy retry) : post_(std::move(post)), retry_(std::move(retry)) {
  thread_ = std::thread([this] {
    std::unique_lock lk(mu_);
    while (true) {
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      Item it = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      Delivery d = deliver(it.ch, it.m, post_, retry_);
      if (it.done) it.done(d);
      lk.lock();
    }
  });
}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::post(Channel ch, Message m, std::function<void(const Delivery&)> done) {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    queue_.push_back({std::move(ch), std::move(m), std::move(done)});
  }
  cv_.notify_one();
}

void Dispatcher::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace stacksnap::notify
