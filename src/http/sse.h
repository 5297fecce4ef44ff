// Server-sent events: a hub of topics with bounded per-client queues, and the
// socket-independent state machine of one client's stream (replay, then live).
//
// Wire format of one event (text/event-stream):
//   id: 42\nevent: progress\ndata: {"seq":42,…}\n\n
// A heartbeat is the comment ": ping\n\n". A client that falls too far behind gets
//   event: reload\ndata: {"reason":"…"}\n\n
// and its connection is closed: it should re-fetch state instead of resuming.
//
// Topics: "job:<id>" (job events, id = the event's seq, replayed from the catalog) and
// "dashboard" (job started/finished, backup added; ids assigned by the hub, the last few
// kept in memory for reconnects).
//
// Publishing never waits for a socket: each subscription has a bounded queue (events and
// bytes); frames are formatted once per publish and shared between subscribers.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "http/message.h"

namespace stacksnap::http {

struct SseLimits {
  size_t max_queued_events = 1024;       // per client, beyond this: reload + disconnect
  size_t max_queued_bytes = 4u << 20;    // per client (frames are shared, this bounds the worst case)
};

// The wire form of `e` (see above); data lines are split at '\n', '\r' is dropped.
std::string format_sse(const SseEvent& e);
// A comment frame, ": <text>\n\n" (heartbeats).
std::string sse_comment(std::string_view text);
// The final frame sent to a client that must reload.
std::string sse_reload_frame(std::string_view reason);

class SseHub;

// One client's bounded queue on one topic. Created by SseHub::subscribe; unsubscribes
// when destroyed. take()/end()/empty() are thread-safe.
class SseSubscription {
 public:
  struct Item {
    int64_t id = 0;
    std::shared_ptr<const std::string> frame;
  };
  enum class End {
    kOpen,      // live
    kFinished,  // the topic was closed: after the queued frames, the stream ends
    kOverflow,  // the client fell behind: the queue holds only the reload frame
  };

  ~SseSubscription();
  SseSubscription(const SseSubscription&) = delete;
  SseSubscription& operator=(const SseSubscription&) = delete;

  // Removes and returns queued frames, oldest first, up to about `max_bytes` (at least
  // one frame when any is queued).
  std::vector<Item> take(size_t max_bytes);
  End end() const;
  bool empty() const;
  const std::string& topic() const { return topic_; }

 private:
  friend class SseHub;
  SseSubscription(SseHub* hub, std::string topic, SseLimits limits, std::function<void()> wake)
      : hub_(hub), topic_(std::move(topic)), limits_(limits), wake_(std::move(wake)) {}
  // Called by the hub (under its lock). Return true when wake_ should be called.
  bool push(Item item);
  bool finish();

  SseHub* hub_;
  std::string topic_;
  SseLimits limits_;
  std::function<void()> wake_;
  mutable std::mutex mu_;
  std::deque<Item> queue_;
  size_t bytes_ = 0;
  End end_ = End::kOpen;
  bool detached_ = false;  // guarded by the hub's lock: no longer in a topic's list
};

class SseHub {
 public:
  explicit SseHub(SseLimits limits = {}) : limits_(limits) {}
  // Every subscription must have been destroyed first (the server owns them).
  ~SseHub();
  SseHub(const SseHub&) = delete;
  SseHub& operator=(const SseHub&) = delete;

  // Delivers `e` to every subscriber of `topic`; never blocks on a client. On a topic
  // with history (keep_history), e.id == 0 gets the topic's next id; elsewhere an event
  // with id 0 is sent without an id line. Returns the id used (0: none, or the topic is
  // closed and nothing was delivered). Thread-safe.
  // Callers publish one topic's events in id order, and only once they are replayable.
  int64_t publish(const std::string& topic, SseEvent e);
  // Nothing more will be published on `topic` (a finished job): subscribers receive
  // what is queued, then their streams end; later subscribers find it finished.
  // The hub remembers the last kRememberClosed closed topics.
  void close_topic(const std::string& topic);
  // Keeps the last `n` events of `topic` in memory for clients that reconnect with a
  // Last-Event-ID when their SseSource has no replay callback (the dashboard).
  void keep_history(const std::string& topic, size_t n);

  // A new subscription. `wake` is called (from publishing threads, without hub or queue
  // locks held by the caller's side) when frames or the end arrive on an empty queue;
  // it must only schedule work (e.g. post to a strand), never block.
  std::unique_ptr<SseSubscription> subscribe(const std::string& topic, std::function<void()> wake);

  // History events of `topic` with id > after. nullopt when events after `after` are no
  // longer (or never were) in the history, or `after` is ahead of the topic (a restart):
  // the client must reload.
  std::optional<std::vector<SseEvent>> history_after(const std::string& topic, int64_t after) const;

  size_t subscriber_count() const;
  uint64_t overflow_count() const { return overflows_.load(); }

  static constexpr size_t kRememberClosed = 4096;

 private:
  friend class SseSubscription;
  struct Topic {
    std::vector<SseSubscription*> subs;
    int64_t last_id = 0;
    size_t history_cap = 0;
    std::deque<SseEvent> history;
  };
  void remove(SseSubscription* s);

  SseLimits limits_;
  mutable std::mutex mu_;
  std::map<std::string, Topic> topics_;
  std::set<std::string> closed_;
  std::deque<std::string> closed_order_;
  std::atomic<uint64_t> overflows_{0};
};

// One client's stream: subscribe first, then replay stored events after Last-Event-ID,
// then live frames, dropping any live event whose id was already sent. Gap-free as long
// as producers publish only events that replay() can already return.
//
// Not thread-safe: the connection sequences the calls (open/fetch on the worker pool,
// poll on its strand), never two at once.
class SseStream {
 public:
  enum class Next {
    kWrite,  // write `bytes`, then poll again
    kFetch,  // call fetch() off the io thread, then poll again
    kWait,   // nothing to send: wait for the wake callback (or a heartbeat)
    kClose,  // the stream is complete: close the connection
  };
  struct Step {
    Next next = Next::kWait;
    std::string bytes;
  };

  SseStream(SseHub& hub, std::shared_ptr<const SseSource> source, std::optional<int64_t> last_event_id);

  // Subscribes (see SseHub::subscribe for `wake`), asks is_finished(), fetches the first
  // replay page. An error here can still be sent as an HTTP error.
  Status open(std::function<void()> wake);
  // The next replay page (after poll() said kFetch). A failure ends the stream with an
  // "error" event.
  void fetch();
  // What to do next; `max_bytes` bounds one write (at least one frame is returned).
  Step poll(size_t max_bytes);

  int64_t last_id() const { return cursor_; }

  static constexpr int kRetryMs = 3000;  // sent as "retry:" so clients reconnect promptly

 private:
  enum class Phase { kReplay, kLive, kEnding, kDone };
  void append(std::string& out, int64_t id, std::string_view frame);

  SseHub& hub_;
  std::shared_ptr<const SseSource> source_;
  std::optional<int64_t> last_event_id_;
  std::unique_ptr<SseSubscription> sub_;
  Phase phase_ = Phase::kReplay;
  bool preamble_ = true;
  bool finished_ = false;
  bool replay_exhausted_ = false;
  std::vector<SseEvent> page_;
  size_t page_pos_ = 0;
  int64_t cursor_ = 0;  // the highest id sent (or the client's Last-Event-ID)
  std::string final_frame_;
};

}  // namespace stacksnap::http
