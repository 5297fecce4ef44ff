// Notifications: a generic JSON webhook, an ntfy-style topic URL, a healthchecks-style
// ping URL. Deliveries are retried (3 attempts, backoff 1 s then 4 s; 2xx is success; a
// 4xx other than 408/429 is final) and run on the Dispatcher's own thread, so a slow
// receiver never delays a job.
//
// Thread-safety: deliver() is reentrant; Dispatcher::post from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace stacksnap::notify {

using Json = nlohmann::json;

enum class Kind { kWebhook, kNtfy, kHealthchecks };
Result<Kind> parse_kind(std::string_view s);  // "webhook" | "ntfy" | "healthchecks"
// InvalidArgument unless http:// or https:// with a host.
Status check_url(const std::string& url);
// The URL as shown to people and API clients: scheme, host and port only; user info
// dropped, and a path or query (where webhook, ntfy and healthchecks URLs carry their
// tokens) replaced by "/…". "https://hooks.example.com/T0/B1/xyz" → "https://hooks.example.com/…".
std::string masked_url(const std::string& url);

struct Channel {
  Kind kind = Kind::kWebhook;
  std::string url;
};

// What happened. `event` is "job_started" or "job_finished"; `result` "succeeded",
// "partial", "failed", "cancelled" (job_finished). `payload` is the webhook body.
struct Message {
  std::string event;
  std::string result;
  std::string title;   // one line: "StackSnap: backup of shop failed"
  std::string text;    // a few lines for humans (ntfy body, healthchecks body)
  Json payload;
};

struct Delivery {
  bool ok = false;
  long status = 0;  // last HTTP status (0: no answer)
  int attempts = 0;
  std::string message;  // why it failed
};

// The HTTP call, replaceable in tests. Returns the status or Unavailable/DeadlineExceeded.
struct HttpPost {
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  std::chrono::milliseconds timeout{10'000};
};
using Poster = std::function<Result<long>(const HttpPost&)>;
Result<long> curl_post(const HttpPost& p);

struct RetryPolicy {
  int attempts = 3;
  std::vector<std::chrono::milliseconds> backoff{std::chrono::seconds(1), std::chrono::seconds(4)};
};

// Whether a result is a failure to alert on: "failed" and "partial" (a backup missing
// from a target, a copy that could not be checked).
bool is_failure(std::string_view result);

// What a channel sends for a message, or nullopt when it sends nothing (healthchecks
// pings start/success/fail, partial being a fail; others ignore job_started).
std::optional<HttpPost> render(const Channel& ch, const Message& m);

Delivery deliver(const Channel& ch, const Message& m, const Poster& post = curl_post, const RetryPolicy& retry = {});

// A queue of deliveries on one background thread.
class Dispatcher {
 public:
  explicit Dispatcher(Poster post = curl_post, RetryPolicy retry = {});
  ~Dispatcher();  // delivers what is queued (bounded by each delivery's retries), then stops
  void post(Channel ch, Message m, std::function<void(const Delivery&)> done = {});
  void stop();

 private:
  struct Item {
    Channel ch;
    Message m;
    std::function<void(const Delivery&)> done;
  };
  Poster post_;
  RetryPolicy retry_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace stacksnap::notify
