// The SSE hub and one client's stream state machine, without sockets: wire format,
// bounded queues and overflow, topic close, the subscribe → replay → live handoff.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "http/job_stream.h"
#include "http/sse.h"

namespace stacksnap::http {
namespace {

SseEvent ev(int64_t id, std::string type = "progress") {
  return {.id = id, .type = std::move(type), .data = "{\"n\":" + std::to_string(id) + "}"};
}

// Events a producer has "persisted"; replay serves them in pages.
class Store {
 public:
  void add(SseEvent e) {
    std::lock_guard lk(mu_);
    events_.push_back(std::move(e));
  }
  SseSource source(std::string topic, size_t page = 1000) {
    return SseSource{.topic = std::move(topic),
                     .replay = [this, page](int64_t after) -> Result<std::vector<SseEvent>> {
                       std::lock_guard lk(mu_);
                       ++replays;
                       if (fail_replay) return unavailable("database is locked");
                       std::vector<SseEvent> out;
                       for (const auto& e : events_) {
                         if (e.id > after && out.size() < page) out.push_back(e);
                       }
                       return out;
                     },
                     .is_finished = [this] { return finished.load(); }};
  }
  std::atomic<bool> finished{false};
  bool fail_replay = false;
  int replays = 0;

 private:
  std::mutex mu_;
  std::vector<SseEvent> events_;
};

// Parsed "id:" values (and event types) from a stream's bytes.
struct Parsed {
  std::vector<int64_t> ids;
  std::vector<std::string> types;
};
Parsed parse(const std::string& text) {
  Parsed p;
  size_t pos = 0;
  while (true) {
    size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) break;
    std::string frame = text.substr(pos, end - pos);
    pos = end + 2;
    int64_t id = 0;
    std::string type;
    size_t lp = 0;
    while (lp <= frame.size()) {
      size_t nl = frame.find('\n', lp);
      std::string line = frame.substr(lp, nl == std::string::npos ? std::string::npos : nl - lp);
      if (line.starts_with("id: ")) id = std::stoll(line.substr(4));
      if (line.starts_with("event: ")) type = line.substr(7);
      if (nl == std::string::npos) break;
      lp = nl + 1;
    }
    if (!type.empty() || id > 0) {
      p.ids.push_back(id);
      p.types.push_back(type);
    }
  }
  return p;
}

// Drives a stream like the connection does, until it waits or closes.
struct Driver {
  std::string out;
  bool closed = false;
  void run(SseStream& s) {
    for (int guard = 0; guard < 100000; ++guard) {
      auto step = s.poll(4096);
      switch (step.next) {
        case SseStream::Next::kWrite: out += step.bytes; break;
        case SseStream::Next::kFetch: s.fetch(); break;
        case SseStream::Next::kWait: return;
        case SseStream::Next::kClose: closed = true; return;
      }
    }
    FAIL() << "stream did not settle";
  }
};

std::vector<int64_t> range(int64_t from, int64_t to) {
  std::vector<int64_t> v;
  for (int64_t i = from; i <= to; ++i) v.push_back(i);
  return v;
}

TEST(HttpSseFormat, WireForm) {
  EXPECT_EQ(format_sse({.id = 42, .type = "progress", .data = "{\"a\":1}"}),
            "id: 42\nevent: progress\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(format_sse({.id = 0, .type = "", .data = "x"}), "data: x\n\n");
  EXPECT_EQ(format_sse({.id = 1, .type = "t\nid: 9", .data = "a\r\nb"}), "id: 1\nevent: tid: 9\ndata: a\ndata: b\n\n");
  EXPECT_EQ(sse_comment("ping"), ": ping\n\n");
  EXPECT_TRUE(sse_reload_frame("x").starts_with("event: reload\ndata: {\"reason\":\"x\"}"));
  job::Event je{.seq = 7, .ts_ms = 1'700'000'000'123, .type = "log", .data = {{"message", "hi"}}};
  SseEvent se = to_sse(je);
  EXPECT_EQ(se.id, 7);
  EXPECT_EQ(se.type, "log");
  EXPECT_EQ(Json::parse(se.data)["seq"], 7);
  EXPECT_EQ(Json::parse(se.data)["message"], "hi");
  EXPECT_EQ(job_topic(12), "job:12");
}

TEST(HttpSseHub, DeliversToSubscribersAndWakesOnlyWhenEmpty) {
  SseHub hub;
  int wakes = 0;
  auto a = hub.subscribe("job:1", [&] { ++wakes; });
  auto b = hub.subscribe("job:2", [] {});
  EXPECT_EQ(hub.subscriber_count(), 2u);
  hub.publish("job:1", ev(1));
  hub.publish("job:1", ev(2));
  EXPECT_EQ(wakes, 1);
  auto items = a->take(1 << 20);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].id, 1);
  EXPECT_TRUE(b->empty());
  hub.publish("job:1", ev(3));
  EXPECT_EQ(wakes, 2);
  // take() respects the byte budget but always returns at least one frame.
  hub.publish("job:1", ev(4));
  EXPECT_EQ(a->take(1).size(), 1u);
  b.reset();
  EXPECT_EQ(hub.subscriber_count(), 1u);
  EXPECT_EQ(hub.publish("nobody:listens", ev(5)), 5);
}

TEST(HttpSseHub, SlowClientOverflowsAloneAndGetsReload) {
  SseHub hub({.max_queued_events = 8});
  auto slow = hub.subscribe("job:1", [] {});
  auto fast = hub.subscribe("job:1", [] {});
  std::vector<int64_t> fast_ids;
  for (int64_t i = 1; i <= 20; ++i) {
    hub.publish("job:1", ev(i));
    for (auto& it : fast->take(1 << 20)) fast_ids.push_back(it.id);
  }
  EXPECT_EQ(fast_ids, range(1, 20));
  EXPECT_EQ(fast->end(), SseSubscription::End::kOpen);
  EXPECT_EQ(slow->end(), SseSubscription::End::kOverflow);
  auto rest = slow->take(1 << 20);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_TRUE(rest[0].frame->starts_with("event: reload\n"));
  EXPECT_EQ(hub.overflow_count(), 1u);
}

TEST(HttpSseHub, ByteLimitAlsoOverflows) {
  SseHub hub({.max_queued_events = 1000, .max_queued_bytes = 1000});
  auto s = hub.subscribe("t", [] {});
  hub.publish("t", {.id = 1, .type = "big", .data = std::string(600, 'x')});
  EXPECT_EQ(s->end(), SseSubscription::End::kOpen);
  hub.publish("t", {.id = 2, .type = "big", .data = std::string(600, 'x')});
  EXPECT_EQ(s->end(), SseSubscription::End::kOverflow);
}

TEST(HttpSseHub, ClosedTopicsFinishSubscribers) {
  SseHub hub;
  int wakes = 0;
  auto s = hub.subscribe("job:9", [&] { ++wakes; });
  hub.publish("job:9", ev(1));
  hub.close_topic("job:9");
  EXPECT_EQ(s->end(), SseSubscription::End::kFinished);
  EXPECT_EQ(s->take(1 << 20).size(), 1u);  // what was queued is still delivered
  EXPECT_EQ(hub.publish("job:9", ev(2)), 0);
  auto late = hub.subscribe("job:9", [] {});
  EXPECT_EQ(late->end(), SseSubscription::End::kFinished);
  s.reset();
  late.reset();
  EXPECT_EQ(hub.subscriber_count(), 0u);
}

TEST(HttpSseHub, HistoryAssignsIdsAndServesReconnects) {
  SseHub hub;
  hub.keep_history("dashboard", 3);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(hub.publish("dashboard", {.type = "job_started", .data = "{}"}), i + 1);
  }
  auto missed = hub.history_after("dashboard", 3);
  ASSERT_TRUE(missed.has_value());
  ASSERT_EQ(missed->size(), 2u);
  EXPECT_EQ((*missed)[0].id, 4);
  EXPECT_TRUE(hub.history_after("dashboard", 5)->empty());
  EXPECT_TRUE(hub.history_after("dashboard", 2).has_value());   // 3, 4, 5 kept
  EXPECT_FALSE(hub.history_after("dashboard", 1).has_value());  // 2 is gone: reload
  EXPECT_FALSE(hub.history_after("dashboard", 9).has_value());  // from before a restart
  EXPECT_FALSE(hub.history_after("job:1", 0).has_value());
}

TEST(HttpSseStream, ReplaysEverythingThenGoesLive) {
  SseHub hub;
  Store store;
  for (int64_t i = 1; i <= 5; ++i) store.add(ev(i));
  auto src = std::make_shared<SseSource>(store.source("job:1"));
  SseStream s(hub, src, std::nullopt);
  int wakes = 0;
  ASSERT_TRUE(s.open([&] { ++wakes; }).ok());
  Driver d;
  d.run(s);
  EXPECT_TRUE(d.out.starts_with("retry: 3000\n\n"));
  EXPECT_EQ(parse(d.out).ids, range(1, 5));
  EXPECT_FALSE(d.closed);
  store.add(ev(6));
  hub.publish("job:1", ev(6));
  EXPECT_EQ(wakes, 1);
  d.run(s);
  EXPECT_EQ(parse(d.out).ids, range(1, 6));
  hub.close_topic("job:1");
  d.run(s);
  EXPECT_TRUE(d.closed);
}

TEST(HttpSseStream, LastEventIdGetsExactlyTheMissedEventsAcrossTheHandoff) {
  SseHub hub;
  Store store;
  for (int64_t i = 1; i <= 10; ++i) store.add(ev(i));
  auto src = std::make_shared<SseSource>(store.source("job:1", /*page=*/3));
  SseStream s(hub, src, int64_t{4});
  ASSERT_TRUE(s.open([] {}).ok());
  // Published after subscribing but before the replay is written: arrives both in the
  // store (replay) and live; must be sent once.
  for (int64_t i = 11; i <= 12; ++i) {
    store.add(ev(i));
    hub.publish("job:1", ev(i));
  }
  Driver d;
  d.run(s);
  for (int64_t i = 13; i <= 14; ++i) {
    store.add(ev(i));
    hub.publish("job:1", ev(i));
  }
  d.run(s);
  EXPECT_EQ(parse(d.out).ids, range(5, 14));
  EXPECT_EQ(s.last_id(), 14);
  EXPECT_GE(store.replays, 4);  // paged: 5-7, 8-10, 11-12 (+13-14 depending on timing), empty
}

TEST(HttpSseStream, FinishedTopicReplaysAndCloses) {
  SseHub hub;
  Store store;
  for (int64_t i = 1; i <= 7; ++i) store.add(ev(i));
  store.finished = true;
  auto src = std::make_shared<SseSource>(store.source("job:3", 2));
  SseStream s(hub, src, std::nullopt);
  ASSERT_TRUE(s.open([] {}).ok());
  Driver d;
  d.run(s);
  EXPECT_TRUE(d.closed);
  EXPECT_EQ(parse(d.out).ids, range(1, 7));

  SseStream again(hub, src, int64_t{7});  // a client that saw everything
  ASSERT_TRUE(again.open([] {}).ok());
  Driver d2;
  d2.run(again);
  EXPECT_TRUE(d2.closed);
  EXPECT_TRUE(parse(d2.out).ids.empty());
}

TEST(HttpSseStream, OverflowDuringLiveSendsReloadAndCloses) {
  SseHub hub({.max_queued_events = 4});
  Store store;
  auto src = std::make_shared<SseSource>(store.source("job:1"));
  SseStream s(hub, src, std::nullopt);
  ASSERT_TRUE(s.open([] {}).ok());
  Driver d;
  d.run(s);
  for (int64_t i = 1; i <= 10; ++i) hub.publish("job:1", ev(i));  // nobody drained
  d.run(s);
  EXPECT_TRUE(d.closed);
  auto p = parse(d.out);
  ASSERT_FALSE(p.types.empty());
  EXPECT_EQ(p.types.back(), "reload");
}

TEST(HttpSseStream, ReplayErrorsBeforeAndDuringTheStream) {
  SseHub hub;
  Store store;
  store.fail_replay = true;
  auto src = std::make_shared<SseSource>(store.source("job:1"));
  SseStream s(hub, src, std::nullopt);
  auto st = s.open([] {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kUnavailable);  // still answerable as an HTTP error

  Store paged;
  for (int64_t i = 1; i <= 4; ++i) paged.add(ev(i));
  auto src2 = std::make_shared<SseSource>(paged.source("job:2", 2));
  SseStream s2(hub, src2, std::nullopt);
  ASSERT_TRUE(s2.open([] {}).ok());
  paged.fail_replay = true;
  Driver d;
  d.run(s2);
  EXPECT_TRUE(d.closed);
  auto p = parse(d.out);
  EXPECT_EQ(p.types.back(), "error");
}

TEST(HttpSseStream, HistoryTopicsReplayFromMemoryOrAskForReload) {
  SseHub hub;
  hub.keep_history("dashboard", 2);
  for (int i = 0; i < 4; ++i) hub.publish("dashboard", {.type = "backup_added", .data = "{}"});
  auto src = std::make_shared<SseSource>(SseSource{.topic = "dashboard"});

  SseStream fresh(hub, src, std::nullopt);  // no Last-Event-ID: live only
  ASSERT_TRUE(fresh.open([] {}).ok());
  Driver d1;
  d1.run(fresh);
  EXPECT_TRUE(parse(d1.out).ids.empty());
  hub.publish("dashboard", {.type = "job_started", .data = "{}"});
  d1.run(fresh);
  EXPECT_EQ(parse(d1.out).ids, std::vector<int64_t>{5});

  SseStream resumed(hub, src, int64_t{3});
  ASSERT_TRUE(resumed.open([] {}).ok());
  Driver d2;
  d2.run(resumed);
  EXPECT_EQ(parse(d2.out).ids, range(4, 5));
  EXPECT_FALSE(d2.closed);

  SseStream stale(hub, src, int64_t{1});
  ASSERT_TRUE(stale.open([] {}).ok());
  Driver d3;
  d3.run(stale);
  EXPECT_TRUE(d3.closed);
  EXPECT_EQ(parse(d3.out).types.back(), "reload");
}

TEST(HttpSseStream, ConcurrentPublisherNeverLosesOrDuplicates) {
  SseHub hub({.max_queued_events = 1 << 20, .max_queued_bytes = 1u << 30});  // no overflow here
  Store store;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> published{0};
  std::thread producer([&] {
    for (int64_t i = 1; i <= 3000; ++i) {
      store.add(ev(i));  // persisted first …
      hub.publish("job:1", ev(i));  // … then published
      published = i;
      if (i % 100 == 0) std::this_thread::yield();
    }
  });
  // Clients joining at different moments with different Last-Event-IDs.
  std::vector<std::thread> clients;
  std::vector<std::vector<int64_t>> got(6);
  std::vector<int64_t> from(6);
  for (int c = 0; c < 6; ++c) {
    while (published.load() < c * 400) std::this_thread::yield();
    from[c] = c * 100;
    clients.emplace_back([&, c] {
      auto src = std::make_shared<SseSource>(store.source("job:1", 250));
      SseStream s(hub, src, from[c] > 0 ? std::optional<int64_t>(from[c]) : std::nullopt);
      if (!s.open([] {}).ok()) return;
      std::string out;
      while (s.last_id() < 3000) {
        auto step = s.poll(8192);
        if (step.next == SseStream::Next::kWrite) out += step.bytes;
        if (step.next == SseStream::Next::kFetch) s.fetch();
        if (step.next == SseStream::Next::kWait) std::this_thread::yield();
        if (step.next == SseStream::Next::kClose) break;
      }
      got[c] = parse(out).ids;
    });
  }
  producer.join();
  for (auto& t : clients) t.join();
  stop = true;
  for (int c = 0; c < 6; ++c) EXPECT_EQ(got[c], range(from[c] + 1, 3000)) << "client " << c;
}

}  // namespace
}  // namespace stacksnap::http
