// The notifier over real HTTP (libcurl) against a receiver on a loopback port: what the
// generic webhook, the ntfy-style and the healthchecks-style channels send, retries, and
// the background Dispatcher.
#include "notify/notifier.h"

#include <gtest/gtest.h>

#include <atomic>

#include "common/loopback_receiver.h"

namespace stacksnap::notify {
namespace {

using namespace std::chrono_literals;
using stacksnap::testing::LoopbackReceiver;
using stacksnap::testing::ReceivedRequest;

const RetryPolicy kFast{.attempts = 3, .backoff = {10ms, 20ms}};

Message finished(const std::string& result) {
  Message m;
  m.event = "job_finished";
  m.result = result;
  m.title = "StackSnap: backup of shop " + result;
  m.text = "backup of shop " + result + " (job 7 on host)";
  m.payload =
      Json{{"event", "job_finished"}, {"result", result}, {"kind", "backup"}, {"project", "shop"}, {"job_id", 7}};
  return m;
}

Message started() {
  Message m;
  m.event = "job_started";
  m.result = "started";
  m.title = "StackSnap: backup of shop started";
  m.text = "backup of shop started (job 7 on host)";
  m.payload = Json{{"event", "job_started"}, {"result", "started"}};
  return m;
}

TEST(NotifierHttp, NtfyMessageCarriesTitlePriorityTagsAndText) {
  LoopbackReceiver rx;
  ASSERT_TRUE(rx.ok());
  const Channel ch{Kind::kNtfy, rx.url("/stacksnap-alerts")};

  Delivery d = deliver(ch, finished("failed"), curl_post, kFast);
  EXPECT_TRUE(d.ok) << d.message;
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(d.attempts, 1);
  d = deliver(ch, finished("succeeded"), curl_post, kFast);
  EXPECT_TRUE(d.ok) << d.message;
  // ntfy gets nothing when a job starts.
  d = deliver(ch, started(), curl_post, kFast);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.attempts, 0);

  auto got = rx.requests();
  ASSERT_EQ(got.size(), 2u);
  const ReceivedRequest& fail = got[0];
  EXPECT_EQ(fail.method, "POST");
  EXPECT_EQ(fail.path, "/stacksnap-alerts");
  EXPECT_EQ(fail.header("title"), "StackSnap: backup of shop failed");
  EXPECT_EQ(fail.header("priority"), "high");
  EXPECT_EQ(fail.header("tags"), "warning");
  EXPECT_EQ(fail.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(fail.header("content-length"), std::to_string(fail.body.size()));
  EXPECT_FALSE(fail.header("expect").has_value()) << "no 100-continue round trip";
  EXPECT_EQ(fail.body, "backup of shop failed (job 7 on host)");

  const ReceivedRequest& ok = got[1];
  EXPECT_EQ(ok.method, "POST");
  EXPECT_EQ(ok.header("title"), "StackSnap: backup of shop succeeded");
  EXPECT_EQ(ok.header("priority"), "default");
  EXPECT_EQ(ok.header("tags"), "white_check_mark");
  EXPECT_EQ(ok.body, "backup of shop succeeded (job 7 on host)");
}

TEST(NotifierHttp, HealthchecksPingsStartSuccessAndFailUrls) {
  LoopbackReceiver rx;
  ASSERT_TRUE(rx.ok());
  // A trailing slash in the configured URL does not end up in the ping URLs.
  const Channel ch{Kind::kHealthchecks, rx.url("/ping/0f3c-uuid/")};
  EXPECT_TRUE(deliver(ch, started(), curl_post, kFast).ok);
  EXPECT_TRUE(deliver(ch, finished("succeeded"), curl_post, kFast).ok);
  EXPECT_TRUE(deliver(ch, started(), curl_post, kFast).ok);
  EXPECT_TRUE(deliver(ch, finished("failed"), curl_post, kFast).ok);
  // A cancelled job is neither success nor failure: no ping.
  Delivery c = deliver(ch, finished("cancelled"), curl_post, kFast);
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.attempts, 0);

  auto got = rx.requests();
  ASSERT_EQ(got.size(), 4u);
  std::vector<std::string> paths;
  for (const auto& r : got) {
    paths.push_back(r.path);
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.header("content-type"), "text/plain; charset=utf-8");
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/ping/0f3c-uuid/start", "/ping/0f3c-uuid", "/ping/0f3c-uuid/start",
                                             "/ping/0f3c-uuid/fail"}));
  // The body is the human text (healthchecks shows it as the ping's log).
  EXPECT_EQ(got[3].body, "backup of shop failed (job 7 on host)");
  EXPECT_EQ(got[0].body, "backup of shop started (job 7 on host)");
}

TEST(NotifierHttp, WebhookPostsThePayloadAsJsonOnFinishOnly) {
  LoopbackReceiver rx;
  ASSERT_TRUE(rx.ok());
  const Channel ch{Kind::kWebhook, rx.url("/hooks/stacksnap?token=abc")};
  Delivery s = deliver(ch, started(), curl_post, kFast);
  EXPECT_TRUE(s.ok);
  EXPECT_EQ(s.attempts, 0);
  EXPECT_TRUE(deliver(ch, finished("failed"), curl_post, kFast).ok);
  auto got = rx.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].path, "/hooks/stacksnap?token=abc");
  EXPECT_EQ(got[0].header("content-type"), "application/json");
  EXPECT_EQ(got[0].header("user-agent"), "stacksnap");
  EXPECT_EQ(Json::parse(got[0].body), finished("failed").payload);
}

TEST(NotifierHttp, RetriesServerErrorsAndStopsAtFinalClientErrors) {
  std::atomic<int> calls{0};
  LoopbackReceiver rx([&](const ReceivedRequest& r) {
    if (r.path == "/flaky") return ++calls < 3 ? 503 : 200;
    if (r.path == "/busy") return 429;
    if (r.path == "/gone/fail") return 404;  // healthchecks: the failure ping
    return 200;
  });
  ASSERT_TRUE(rx.ok());
  Delivery flaky = deliver({Kind::kNtfy, rx.url("/flaky")}, finished("failed"), curl_post, kFast);
  EXPECT_TRUE(flaky.ok) << flaky.message;
  EXPECT_EQ(flaky.attempts, 3);
  EXPECT_EQ(flaky.status, 200);

  Delivery busy = deliver({Kind::kNtfy, rx.url("/busy")}, finished("failed"), curl_post, kFast);
  EXPECT_FALSE(busy.ok);
  EXPECT_EQ(busy.attempts, 3) << "429 is retried";
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(busy.message, "the receiver answered HTTP 429");

  Delivery gone = deliver({Kind::kHealthchecks, rx.url("/gone")}, finished("failed"), curl_post, kFast);
  EXPECT_FALSE(gone.ok);
  EXPECT_EQ(gone.attempts, 1) << "404 is final";
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(rx.count(), 3u + 3u + 1u);
}

TEST(NotifierHttp, UnreachableReceiverIsRetriedThenReported) {
  // A port nothing listens on: bound, then closed.
  uint16_t port = 0;
  {
    LoopbackReceiver gone;
    ASSERT_TRUE(gone.ok());
    port = gone.port();
  }
  Delivery d = deliver({Kind::kWebhook, "http://127.0.0.1:" + std::to_string(port) + "/x"}, finished("failed"),
                       curl_post, kFast);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.status, 0);
  EXPECT_FALSE(d.message.empty());
}

TEST(NotifierHttp, DispatcherDeliversInOrderOffTheCallersThread) {
  LoopbackReceiver rx;
  ASSERT_TRUE(rx.ok());
  std::mutex mu;
  std::vector<Delivery> done;
  {
    Dispatcher dispatcher(curl_post, kFast);
    const Channel hc{Kind::kHealthchecks, rx.url("/ping/abc")};
    auto record = [&](const Delivery& d) {
      std::lock_guard lk(mu);
      done.push_back(d);
    };
    dispatcher.post(hc, started(), record);
    dispatcher.post(hc, finished("succeeded"), record);
    dispatcher.post({Kind::kNtfy, rx.url("/topic")}, finished("failed"), record);
    ASSERT_TRUE(rx.wait_for(1, 5s));
  }  // the destructor delivers what is still queued
  auto got = rx.requests();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].path, "/ping/abc/start");
  EXPECT_EQ(got[1].path, "/ping/abc");
  EXPECT_EQ(got[2].path, "/topic");
  EXPECT_EQ(got[2].header("priority"), "high");
  std::lock_guard lk(mu);
  ASSERT_EQ(done.size(), 3u);
  for (const auto& d : done) EXPECT_TRUE(d.ok) << d.message;
}

}  // namespace
}  // namespace stacksnap::notify
