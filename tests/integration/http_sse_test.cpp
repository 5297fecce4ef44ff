// Server-sent events over real loopback HTTP: ids, heartbeats, Last-Event-ID replay,
// finished topics, slow clients, job events from the catalog, dashboard events.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "job/run.h"
#include "http_test_support.h"

namespace stacksnap::http::testing {
namespace {

using namespace std::chrono_literals;

// An in-memory event log per topic: the "persisted" events replay() serves.
class EventLog {
 public:
  void append(const std::string& topic, SseHub& hub, std::string type, std::string data) {
    SseEvent e;
    {
      std::lock_guard lk(mu_);
      auto& v = events_[topic];
      e = {.id = static_cast<int64_t>(v.size()) + 1, .type = std::move(type), .data = std::move(data)};
      v.push_back(e);
    }
    hub.publish(topic, e);  // only after it is replayable
  }
  void finish(const std::string& topic, SseHub& hub) {
    {
      std::lock_guard lk(mu_);
      finished_.insert(topic);
    }
    hub.close_topic(topic);
  }
  SseSource source(const std::string& topic) {
    return {.topic = topic,
            .replay = [this, topic](int64_t after) -> Result<std::vector<SseEvent>> {
              std::lock_guard lk(mu_);
              std::vector<SseEvent> out;
              for (const auto& e : events_[topic]) {
                if (e.id > after && out.size() < 100) out.push_back(e);
              }
              return out;
            },
            .is_finished = [this, topic] {
              std::lock_guard lk(mu_);
              return finished_.count(topic) > 0;
            }};
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<SseEvent>> events_;
  std::set<std::string> finished_;
};

class HttpSse : public ::testing::Test {
 protected:
  void SetUp() override { make_server({}); }

  void make_server(SseLimits limits, ServerOptions opt = {.sse_heartbeat = 200ms}) {
    ts_ = std::make_unique<TestServer>(limits);
    ts_->router->sse("/api/test/topics/{name}", [this](Request& req) -> Result<SseSource> {
      return log_.source("test:" + req.param("name"));
    });
    ASSERT_TRUE(ts_->start(opt).ok());
    token_ = ts_->token();
  }
  std::vector<std::string> auth() { return {"Authorization: Bearer " + token_}; }
  void publish(const std::string& name, int n, size_t size = 20) {
    for (int i = 0; i < n; ++i) log_.append("test:" + name, ts_->hub, "progress", Json{{"pad", std::string(size, 'x')}}.dump());
  }
  static std::vector<int64_t> range(int64_t from, int64_t to) {
    std::vector<int64_t> v;
    for (int64_t i = from; i <= to; ++i) v.push_back(i);
    return v;
  }
  static auto has_ids(size_t n) {
    return [n](const std::vector<Frame>& f) {
      size_t c = 0;
      for (const auto& x : f) c += x.id > 0;
      return c >= n;
    };
  }

  EventLog log_;
  std::unique_ptr<TestServer> ts_;
  std::string token_;
};

TEST_F(HttpSse, EventsArriveWithIdsAndHeartbeats) {
  SseClient c;
  ASSERT_TRUE(c.open(ts_->server->port(), "/api/test/topics/a", auth()));
  publish("a", 3);
  ASSERT_TRUE(c.read_until(has_ids(3)));
  EXPECT_EQ(c.status(), 200);
  EXPECT_NE(c.head().find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(c.head().find("Cache-Control: no-store"), std::string::npos);
  EXPECT_EQ(c.ids(), range(1, 3));
  EXPECT_EQ(c.frames()[1].event, "progress");
  EXPECT_EQ(Json::parse(c.frames()[1].data)["pad"], std::string(20, 'x'));
  ASSERT_TRUE(c.read_until([](const std::vector<Frame>& f) {
    for (const auto& x : f) {
      if (x.comment == "ping") return true;
    }
    return false;
  }, 2s));
}

TEST_F(HttpSse, StreamsNeedAuthentication) {
  SseClient c;
  ASSERT_TRUE(c.open(ts_->server->port(), "/api/test/topics/a"));
  EXPECT_EQ(c.read_status(), 401);
}

// Credentials that end outside this server's AuthService (expiry, `stacksnap admin
// reset-password` in another process) end the stream at its next heartbeat.
TEST_F(HttpSse, StreamsEndAtTheHeartbeatWhenTheirCredentialsEndedElsewhere) {
  SseClient c;
  ASSERT_TRUE(c.open(ts_->server->port(), "/api/test/topics/a", auth()));
  ASSERT_EQ(c.read_status(), 200);
  EXPECT_FALSE(c.read_to_eof(500ms)) << "valid credentials: the stream stays across heartbeats";
  ASSERT_TRUE(ts_->cat->db().exec("UPDATE api_tokens SET revoked_at = 1").ok());  // as another process would
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.read_to_eof(2s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "within a heartbeat (200 ms here)";
}

TEST_F(HttpSse, ReconnectWithLastEventIdGetsExactlyTheMissedEvents) {
  publish("r", 5);
  SseClient first;
  ASSERT_TRUE(first.open(ts_->server->port(), "/api/test/topics/r", auth()));
  ASSERT_TRUE(first.read_until(has_ids(5)));
  publish("r", 2);
  ASSERT_TRUE(first.read_until(has_ids(7)));
  EXPECT_EQ(first.ids(), range(1, 7));
  first.close();  // the client drops …
  publish("r", 4);  // … misses 8-11 …
  SseClient again;
  auto headers = auth();
  headers.push_back("Last-Event-ID: 7");
  ASSERT_TRUE(again.open(ts_->server->port(), "/api/test/topics/r", headers));
  ASSERT_TRUE(again.read_until(has_ids(4)));
  std::this_thread::sleep_for(100ms);
  publish("r", 2);  // … and continues live
  ASSERT_TRUE(again.read_until(has_ids(6)));
  std::this_thread::sleep_for(200ms);
  again.read_until([](const auto&) { return false; }, 200ms);
  EXPECT_EQ(again.ids(), range(8, 13));  // no gap, no duplicate

  SseClient polyfill;  // EventSource polyfills pass it in the query
  ASSERT_TRUE(polyfill.open(ts_->server->port(), "/api/test/topics/r?last_event_id=11", auth()));
  ASSERT_TRUE(polyfill.read_until(has_ids(2)));
  EXPECT_EQ(polyfill.ids(), range(12, 13));
}

TEST_F(HttpSse, FinishedTopicReplaysEverythingAndCloses) {
  publish("done", 250);
  log_.finish("test:done", ts_->hub);
  SseClient c;
  ASSERT_TRUE(c.open(ts_->server->port(), "/api/test/topics/done", auth()));
  EXPECT_TRUE(c.read_to_eof());
  EXPECT_EQ(c.ids(), range(1, 250));

  // Finishing while a client follows: it gets the rest, then EOF.
  publish("live", 3);
  SseClient f;
  ASSERT_TRUE(f.open(ts_->server->port(), "/api/test/topics/live", auth()));
  ASSERT_TRUE(f.read_until(has_ids(3)));
  publish("live", 2);
  log_.finish("test:live", ts_->hub);
  EXPECT_TRUE(f.read_to_eof());
  EXPECT_EQ(f.ids(), range(1, 5));
}

TEST_F(HttpSse, SlowClientIsToldToReloadWhileOthersKeepUp) {
  make_server({.max_queued_events = 16});
  SseClient slow;
  ASSERT_TRUE(slow.open(ts_->server->port(), "/api/test/topics/s", auth(), /*rcvbuf=*/4096));
  SseClient fast;
  ASSERT_TRUE(fast.open(ts_->server->port(), "/api/test/topics/s", auth()));
  std::this_thread::sleep_for(200ms);
  constexpr int kEvents = 600;
  std::thread producer([&] {  // ~10 MB, more than socket buffers hold, at a rate a reading client keeps up with
    for (int i = 0; i < kEvents; i += 4) {
      publish("s", 4, 16 * 1024);
      std::this_thread::sleep_for(2ms);
    }
  });
  ASSERT_TRUE(fast.read_until(has_ids(kEvents), 20s)) << fast.ids().size();
  producer.join();
  EXPECT_EQ(fast.ids(), range(1, kEvents));
  EXPECT_FALSE(fast.eof());

  EXPECT_TRUE(slow.read_to_eof(20s));  // now it reads: what was buffered, then reload, then EOF
  ASSERT_FALSE(slow.frames().empty());
  EXPECT_EQ(slow.frames().back().event, "reload");
  EXPECT_LT(slow.ids().size(), static_cast<size_t>(kEvents));
  EXPECT_GE(ts_->hub.overflow_count(), 1u);
}

TEST_F(HttpSse, JobEventsFromTheCatalogWithHandoff) {
  catalog::Catalog& cat = *ts_->cat;
  SsePublisher publisher(ts_->hub);
  job::PublishingSink live(publisher);
  std::atomic<int64_t> job_id{0};
  std::atomic<bool> go{false};
  std::thread runner([&] {
    job::run_job(cat, {.kind = "backup", .project = "shop"}, live, {},
                 [&](job::Context& ctx, int64_t) -> Result<Json> {
                   for (int i = 0; i < 5; ++i) ctx.info("before " + std::to_string(i));
                   while (!go) std::this_thread::sleep_for(5ms);
                   for (int i = 0; i < 5; ++i) ctx.info("after " + std::to_string(i));
                   return Json{{"backup_id", "b1"}};
                 },
                 [&](int64_t id) {
                   live.bind(id);
                   job_id = id;
                 });
    live.close();
  });
  while (job_id == 0) std::this_thread::sleep_for(5ms);
  std::string path = "/api/jobs/" + std::to_string(job_id.load()) + "/events";
  SseClient c;
  ASSERT_TRUE(c.open(ts_->server->port(), path, auth()));
  ASSERT_TRUE(c.read_until(has_ids(5)));
  go = true;
  EXPECT_TRUE(c.read_to_eof());
  runner.join();
  // 5 + 5 log events and the summary, in order, each once.
  ASSERT_EQ(c.ids(), range(1, 11));
  Json last = Json::parse(c.frames().back().data);
  EXPECT_EQ(last["type"], "summary");
  EXPECT_EQ(last["result"], "succeeded");

  // The finished job replays everything and closes; Last-Event-ID resumes.
  SseClient replay;
  auto headers = auth();
  headers.push_back("Last-Event-ID: 9");
  ASSERT_TRUE(replay.open(ts_->server->port(), path, headers));
  EXPECT_TRUE(replay.read_to_eof());
  EXPECT_EQ(replay.ids(), range(10, 11));

  SseClient missing;
  ASSERT_TRUE(missing.open(ts_->server->port(), "/api/jobs/999/events", auth()));
  EXPECT_EQ(missing.read_status(), 404);
}

TEST_F(HttpSse, DashboardEvents) {
  SseClient c;
  ASSERT_TRUE(c.open(ts_->server->port(), "/api/events", auth()));
  std::this_thread::sleep_for(150ms);
  publish_dashboard(ts_->hub, "job_started", {{"job_id", 1}});
  publish_dashboard(ts_->hub, "backup_added", {{"backup_id", "b1"}});
  ASSERT_TRUE(c.read_until(has_ids(2)));
  EXPECT_EQ(c.frames()[c.frames().size() - 2].event, "job_started");
  EXPECT_EQ(Json::parse(c.frames().back().data)["backup_id"], "b1");
  auto ids = c.ids();
  SseClient resumed;
  auto headers = auth();
  headers.push_back("Last-Event-ID: " + std::to_string(ids.front()));
  ASSERT_TRUE(resumed.open(ts_->server->port(), "/api/events", headers));
  ASSERT_TRUE(resumed.read_until(has_ids(1)));
  EXPECT_EQ(resumed.ids(), std::vector<int64_t>{ids.back()});
}

TEST_F(HttpSse, StopClosesStreams) {
  SseClient c;
  ASSERT_TRUE(c.open(ts_->server->port(), "/api/test/topics/x", auth()));
  std::this_thread::sleep_for(150ms);
  auto begin = std::chrono::steady_clock::now();
  ts_->server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 2s);
  EXPECT_TRUE(c.read_to_eof(3s));
}

}  // namespace
}  // namespace stacksnap::http::testing
