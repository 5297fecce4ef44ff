#include "http/sse.h"

#include <algorithm>

namespace stacksnap::http {

std::string format_sse(const SseEvent& e) {
  std::string out;
  out.reserve(e.data.size() + e.type.size() + 40);
  if (e.id > 0) out += "id: " + std::to_string(e.id) + "\n";
  if (!e.type.empty()) {
    out += "event: ";
    for (char c : e.type) {
      if (c != '\n' && c != '\r') out.push_back(c);
    }
    out += "\n";
  }
  std::string_view data = e.data;
  while (true) {
    size_t nl = data.find('\n');
    out += "data: ";
    for (char c : data.substr(0, nl)) {
      if (c != '\r') out.push_back(c);
    }
    out += "\n";
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  out += "\n";
  return out;
}

std::string sse_comment(std::string_view text) { return ": " + std::string(text) + "\n\n"; }

std::string sse_reload_frame(std::string_view reason) {
  return format_sse({.type = "reload", .data = json_text(Json{{"reason", std::string(reason)}})});
}

// ---- subscription ------------------------------------------------------------------

SseSubscription::~SseSubscription() { hub_->remove(this); }

bool SseSubscription::push(Item item) {
  std::lock_guard lk(mu_);
  if (end_ != End::kOpen) return false;
  bool was_empty = queue_.empty();
  size_t size = item.frame->size();
  if (queue_.size() >= limits_.max_queued_events || bytes_ + size > limits_.max_queued_bytes) {
    queue_.clear();
    auto reload = std::make_shared<const std::string>(sse_reload_frame(
        "this client fell more than " + std::to_string(limits_.max_queued_events) +
        " events behind; reload to get the current state"));
    bytes_ = reload->size();
    queue_.push_back({0, std::move(reload)});
    end_ = End::kOverflow;
    hub_->overflows_.fetch_add(1);
    return true;  // wake even if the consumer thinks frames are pending: it ends soon
  }
  bytes_ += size;
  queue_.push_back(std::move(item));
  return was_empty;
}

bool SseSubscription::finish() {
  std::lock_guard lk(mu_);
  if (end_ != End::kOpen) return false;
  end_ = End::kFinished;
  return queue_.empty();
}

std::vector<SseSubscription::Item> SseSubscription::take(size_t max_bytes) {
  std::lock_guard lk(mu_);
  std::vector<Item> out;
  size_t taken = 0;
  while (!queue_.empty()) {
    size_t size = queue_.front().frame->size();
    if (!out.empty() && taken + size > max_bytes) break;
    taken += size;
    bytes_ -= size;
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return out;
}

SseSubscription::End SseSubscription::end() const {
  std::lock_guard lk(mu_);
  return end_;
}

bool SseSubscription::empty() const {
  std::lock_guard lk(mu_);
  return queue_.empty();
}

// ---- hub -------------------------------------------------------------------------------

SseHub::~SseHub() = default;

int64_t SseHub::publish(const std::string& topic, SseEvent e) {
  std::lock_guard lk(mu_);
  if (closed_.count(topic)) return 0;
  auto it = topics_.find(topic);
  if (it == topics_.end()) return std::max<int64_t>(e.id, 0);  // nobody listens, nothing is kept
  Topic& t = it->second;
  if (e.id <= 0) e.id = t.history_cap > 0 ? t.last_id + 1 : 0;
  t.last_id = std::max(t.last_id, e.id);
  auto frame = std::make_shared<const std::string>(format_sse(e));
  for (SseSubscription* s : t.subs) {
    if (s->push({e.id, frame}) && s->wake_) s->wake_();
  }
  int64_t id = e.id;
  if (t.history_cap > 0) {
    t.history.push_back(std::move(e));
    while (t.history.size() > t.history_cap) t.history.pop_front();
  }
  return id;
}

void SseHub::close_topic(const std::string& topic) {
  std::lock_guard lk(mu_);
  auto it = topics_.find(topic);
  if (it != topics_.end()) {
    for (SseSubscription* s : it->second.subs) {
      if (s->finish() && s->wake_) s->wake_();
      s->detached_ = true;  // its destructor need not find the topic
    }
    topics_.erase(it);
  }
  if (closed_.insert(topic).second) {
    closed_order_.push_back(topic);
    while (closed_order_.size() > kRememberClosed) {
      closed_.erase(closed_order_.front());
      closed_order_.pop_front();
    }
  }
}

void SseHub::keep_history(const std::string& topic, size_t n) {
  std::lock_guard lk(mu_);
  Topic& t = topics_[topic];
  t.history_cap = n;
  while (t.history.size() > n) t.history.pop_front();
}

std::unique_ptr<SseSubscription> SseHub::subscribe(const std::string& topic, std::function<void()> wake) {
  std::unique_ptr<SseSubscription> s(new SseSubscription(this, topic, limits_, std::move(wake)));
  std::lock_guard lk(mu_);
  if (closed_.count(topic)) {
    s->end_ = SseSubscription::End::kFinished;
    s->detached_ = true;
    return s;
  }
  topics_[topic].subs.push_back(s.get());
  return s;
}

void SseHub::remove(SseSubscription* s) {
  std::lock_guard lk(mu_);
  if (s->detached_) return;  // close_topic already dropped it
  auto it = topics_.find(s->topic_);
  if (it == topics_.end()) return;
  auto& subs = it->second.subs;
  subs.erase(std::remove(subs.begin(), subs.end(), s), subs.end());
  if (subs.empty() && it->second.history_cap == 0) topics_.erase(it);
}

std::optional<std::vector<SseEvent>> SseHub::history_after(const std::string& topic, int64_t after) const {
  std::lock_guard lk(mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end() || it->second.history_cap == 0) return std::nullopt;
  const Topic& t = it->second;
  if (after > t.last_id || after < 0) return std::nullopt;
  std::vector<SseEvent> out;
  if (after == t.last_id) return out;
  if (t.history.empty() || t.history.front().id > after + 1) return std::nullopt;
  for (const auto& e : t.history) {
    if (e.id > after) out.push_back(e);
  }
  return out;
}

size_t SseHub::subscriber_count() const {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (const auto& [name, t] : topics_) n += t.subs.size();
  return n;
}

// ---- one client's stream ------------------------------------------------------------

SseStream::SseStream(SseHub& hub, std::shared_ptr<const SseSource> source, std::optional<int64_t> last_event_id)
    : hub_(hub), source_(std::move(source)), last_event_id_(last_event_id), cursor_(last_event_id.value_or(0)) {}

Status SseStream::open(std::function<void()> wake) {
  // Subscribe before looking at stored events: whatever is published from now on is
  // queued, whatever was published before is replayable. Overlap is dropped by id.
  sub_ = hub_.subscribe(source_->topic, std::move(wake));
  finished_ = source_->is_finished ? source_->is_finished() : false;
  if (source_->replay) {
    auto page = source_->replay(cursor_);
    if (!page.ok()) return std::move(page).error().with_context("replay events of " + source_->topic);
    page_ = std::move(*page);
    replay_exhausted_ = page_.empty() || page_.back().id <= cursor_;
  } else if (last_event_id_) {
    auto missed = hub_.history_after(source_->topic, *last_event_id_);
    if (!missed) {
      final_frame_ = sse_reload_frame("events since the last one received are no longer available");
      phase_ = Phase::kEnding;
    } else {
      page_ = std::move(*missed);
    }
    replay_exhausted_ = true;
  } else {
    replay_exhausted_ = true;
  }
  return {};
}

void SseStream::fetch() {
  int64_t after = cursor_;
  auto page = source_->replay(after);
  page_pos_ = 0;
  if (!page.ok()) {
    page_.clear();
    final_frame_ = format_sse({.type = "error",
                               .data = json_text(Json{{"code", std::string(code_name(page.error().code()))},
                                                      {"message", page.error().message()}})});
    phase_ = Phase::kEnding;
    return;
  }
  page_ = std::move(*page);
  replay_exhausted_ = page_.empty() || page_.back().id <= after;
}

void SseStream::append(std::string& out, int64_t id, std::string_view frame) {
  if (id > 0 && id <= cursor_) return;  // already sent (replay/live overlap) or older than Last-Event-ID
  out.append(frame);
  if (id > 0) cursor_ = id;
}

SseStream::Step SseStream::poll(size_t max_bytes) {
  Step step;
  std::string& out = step.bytes;
  if (preamble_) {
    out += "retry: " + std::to_string(kRetryMs) + "\n\n";
    preamble_ = false;
  }
  if (phase_ == Phase::kReplay) {
    while (page_pos_ < page_.size() && out.size() < max_bytes) {
      const SseEvent& e = page_[page_pos_++];
      append(out, e.id, format_sse(e));
    }
    if (page_pos_ < page_.size()) {
      step.next = Next::kWrite;
      return step;
    }
    page_.clear();
    page_pos_ = 0;
    if (!replay_exhausted_) {
      step.next = out.empty() ? Next::kFetch : Next::kWrite;
      return step;
    }
    phase_ = finished_ ? Phase::kDone : Phase::kLive;
  }
  if (phase_ == Phase::kLive) {
    size_t room = out.size() < max_bytes ? max_bytes - out.size() : 1;
    for (auto& item : sub_->take(room)) append(out, item.id, *item.frame);
    if (out.empty() && sub_->end() != SseSubscription::End::kOpen && sub_->empty()) phase_ = Phase::kDone;
  }
  if (phase_ == Phase::kEnding) {
    out += final_frame_;
    final_frame_.clear();
    phase_ = Phase::kDone;
  }
  if (!out.empty()) {
    step.next = Next::kWrite;
  } else {
    step.next = phase_ == Phase::kDone ? Next::kClose : Next::kWait;
  }
  if (phase_ == Phase::kDone && step.next == Next::kClose) sub_.reset();
  return step;
}

}  // namespace stacksnap::http
