// One HTTP/1.1 connection: read a request (header first, then the body within the
// route's limit), run the route inline or on the worker pool, write the response, repeat
// while keep-alive. A response may instead be a streamed body (chunks read on the worker
// pool, one fixed buffer) or a server-sent event stream (SseStream), which ends the
// connection when it ends.
//
// Everything in a Connection runs on its strand, except the work explicitly posted to the
// worker pool (handler, SSE open/fetch, Reader::read), during which the strand touches
// none of the state that work uses.
#include "http/connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>
#include <vector>

#include "base/process.h"
#include "http/credential_watch.h"
#include "http/static_files.h"
#include "http/url.h"

namespace stacksnap::http::detail {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

constexpr size_t kReadBufferLimit = 64 * 1024;  // unparsed bytes held per connection
constexpr size_t kStreamChunk = 64 * 1024;      // one chunk of a streamed body
constexpr size_t kSseWriteBytes = 64 * 1024;    // at most this much SSE text per write
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(3);
constexpr auto kLingerTimeout = std::chrono::seconds(2);  // drain a refused body at most this long
constexpr size_t kLingerBytes = 4u << 20;                 // … and at most this much
// After refusing a request at header time (not allowed, not authenticated) its body is
// never read: the connection half-closes and waits this long for the client to read the
// answer, then closes (what the client still sends is dropped by the kernel).
constexpr auto kRefusalGrace = std::chrono::seconds(1);
constexpr int kPasswordThreadNice = 10;  // the password pool yields the CPU to requests

std::optional<int64_t> parse_event_id(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// Headers every response carries; Response headers come first so a handler may override
// the CSP or Cache-Control.
void apply_headers(bhttp::fields& f, const Response& r, bool hsts) {
  if (!r.content_type.empty()) f.set(bhttp::field::content_type, r.content_type);
  for (const auto& h : r.headers) f.insert(h.name, h.value);
  f.set("X-Content-Type-Options", "nosniff");
  f.set("X-Frame-Options", "DENY");
  f.set("Referrer-Policy", "no-referrer");
  if (!r.header("Content-Security-Policy")) f.set("Content-Security-Policy", kContentSecurityPolicy);
  if (!r.header("Cache-Control")) f.set(bhttp::field::cache_control, "no-store");
  if (hsts) f.set(bhttp::field::strict_transport_security, "max-age=31536000");
}

Response password_pool_busy() {
  return Response::error(unavailable("too many password checks are in progress; try again in a second"))
      .with_header("Retry-After", "1");
}

bool is_http_parse_error(const beast::error_code& ec) {
  return &ec.category() == &bhttp::make_error_code(bhttp::error::bad_target).category();
}

template <class Stream>
class Connection final : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Connection(ServerCore& core, Stream stream, std::string remote_ip)
      : core_(core),
        stream_(std::move(stream)),
        buffer_(kReadBufferLimit),
        remote_ip_(std::move(remote_ip)),
        timer_(stream_.get_executor()) {}

  ~Connection() override { core_.remove(this); }

  void run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->state_ = State::kReading;
        self->lowest().expires_after(self->core_.opt.read_timeout);
        self->stream_.async_handshake(net::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return self->abort();
          self->do_read();
        });
      } else {
        self->do_read();
      }
    });
  }

  void shutdown() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->closing_ = true;
      if (self->state_ == State::kReading) {
        self->lowest().cancel();  // the pending read completes with operation_aborted
      } else if (self->state_ == State::kSse) {
        self->do_close();
      }  // handling, writing, streaming: closes after the current response
    });
  }

 private:
  enum class State { kReading, kHandling, kWriting, kStreaming, kSse, kClosed };

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  auto executor() { return stream_.get_executor(); }
  std::shared_ptr<Connection> self() { return this->shared_from_this(); }

  // ---- reading ---------------------------------------------------------------------

  void do_read() {
    if (closing_) return do_close();
    state_ = State::kReading;
    req_ = Request{};
    match_ = Router::Match{};
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(core_.opt.header_limit));
    // The route's limit is applied once the header names the route (on_header); Beast
    // would otherwise refuse a Content-Length above its default before we know the route.
    // (Not boost::none: Beast 1.74 compares a Content-Length against an empty optional
    // as "greater" and refuses every body.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    lowest().expires_after(requests_ == 0 ? core_.opt.first_request_timeout : core_.opt.idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = self(), before = buffer_.size()](beast::error_code ec, size_t n) {
                               self->count_received(before, n);
                               self->on_header(ec);
                             });
  }

  // Bytes a read took from the socket: what the parser consumed, plus what it left in
  // the buffer beyond what was there before.
  void count_received(size_t buffered_before, size_t consumed) {
    size_t got = consumed + buffer_.size() - std::min(buffered_before, consumed + buffer_.size());
    core_.bytes_received.fetch_add(got, std::memory_order_relaxed);
  }

  void on_header(beast::error_code ec) {
    if (ec) return read_failed(ec);
    const auto& h = parser_->get();
    version_ = h.version();
    keep_alive_ = h.keep_alive();
    req_ = Request{};
    req_.method = parse_method(std::string_view(h.method_string().data(), h.method_string().size()));
    req_.target = std::string(h.target().data(), h.target().size());
    if (req_.target.empty() || req_.target.front() != '/') {
      keep_alive_ = false;
      unread_body_ = true;
      return write_plain(Response::error(invalid_argument("the request target must be a path")));
    }
    Target t = split_target(req_.target);
    req_.path = std::string(t.path);
    req_.query = parse_query(t.query);
    for (const auto& f : h) {
      auto name = f.name_string();
      auto value = f.value();
      req_.headers.push_back({to_lower(std::string_view(name.data(), name.size())), std::string(value.data(), value.size())});
    }
    req_.remote_ip = remote_ip_;
    req_.tls = kTls;
    req_.stop = core_.stop.get_token();
    ++requests_;
    if (auto refusal = core_.gate.screen(req_)) return refuse(std::move(*refusal));
    match_ = core_.router.match(req_.method, req_.path);
    if (auto refusal = core_.router.authorize(match_, req_)) return refuse(std::move(*refusal));
    const uint64_t limit = match_.route ? match_.options().body_limit : kDefaultBodyLimit;
    if (auto length = parser_->content_length(); length && *length > limit) {
      return read_failed(bhttp::error::body_limit);  // refused before reading it
    }
    parser_->body_limit(limit);  // chunked bodies: enforced while reading
    if (parser_->is_done()) return dispatch();

    auto expect = req_.header("expect");
    if (expect && to_lower(*expect) == "100-continue") {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, version_);
      lowest().expires_after(core_.opt.write_timeout);
      bhttp::async_write(stream_, *cont, [self = self(), cont](beast::error_code wec, size_t) {
        if (wec) return self->abort();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    lowest().expires_after(core_.opt.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_, [self = self(), before = buffer_.size()](beast::error_code ec, size_t n) {
      self->count_received(before, n);
      if (ec) return self->read_failed(ec);
      self->req_.body = std::move(self->parser_->get().body());
      self->dispatch();
    });
  }

  void read_failed(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      keep_alive_ = false;
      unread_body_ = true;
      Response r = Response::error(invalid_argument("the request body is larger than this route accepts (" +
                                                    std::to_string(match_.options().body_limit) + " bytes)"));
      r.status = 413;
      return write_plain(std::move(r));
    }
    if (ec == bhttp::error::header_limit) {
      keep_alive_ = false;
      unread_body_ = true;
      Response r = Response::error(invalid_argument("the request header is too large"));
      r.status = 431;
      return write_plain(std::move(r));
    }
    if (is_http_parse_error(ec) && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      keep_alive_ = false;
      unread_body_ = true;
      return write_plain(Response::error(invalid_argument("malformed HTTP request")));
    }
    // The client closed, timed out, reset, or shutdown() cancelled the read: nothing to answer.
    if (ec == bhttp::error::end_of_stream) return do_close();
    abort();
  }

  // ---- handling -----------------------------------------------------------------------

  // Answers at header time; a body the client announced is never read from the socket.
  // (A small body that already arrived with the header is dropped from the buffer, and the
  // connection stays usable.)
  void refuse(Response r) {
    if (!parser_->is_done()) {
      auto remaining = parser_->content_length_remaining();
      if (remaining && *remaining <= buffer_.size()) {
        buffer_.consume(static_cast<size_t>(*remaining));
      } else {
        keep_alive_ = false;
        refused_body_ = true;
      }
    }
    state_ = State::kHandling;
    core_.requests_total.fetch_add(1, std::memory_order_relaxed);
    lowest().expires_never();
    send(std::move(r));
  }

  void dispatch() {
    state_ = State::kHandling;
    core_.requests_total.fetch_add(1, std::memory_order_relaxed);
    lowest().expires_never();
    if (!match_.route) return send(Router::unmatched(match_));
    switch (match_.options().exec) {
      case Exec::kInline: return send(core_.router.invoke(match_, req_));
      case Exec::kBlocking: return invoke_on(*core_.workers, false);
      case Exec::kPasswordHash:
        if (core_.password_jobs.fetch_add(1) >= core_.password_limit) {
          core_.password_jobs.fetch_sub(1);
          return send(password_pool_busy());
        }
        return invoke_on(*core_.password_pool, true);
    }
  }

  // Runs the route on `pool`; req_ and match_ belong to it until it posts the response back.
  void invoke_on(net::thread_pool& pool, bool password) {
    net::post(pool, [self = self(), password] {
      ServerCore& core = self->core_;
      if (password) {
        thread_local bool lowered = false;
        if (!std::exchange(lowered, true)) lower_this_thread_priority(kPasswordThreadNice);
      }
      auto res = std::make_shared<Response>(core.stop.stop_requested() && password
                                                ? password_pool_busy()
                                                : core.router.invoke(self->match_, self->req_));
      if (password) core.password_jobs.fetch_sub(1);
      net::post(self->executor(), [self, res] { self->send(std::move(*res)); });
    });
  }

  void send(Response r) {
    int cls = r.status / 100;
    if (cls >= 1 && cls <= 5) core_.responses_by_class[static_cast<size_t>(cls)].fetch_add(1, std::memory_order_relaxed);
    if (r.sse && req_.method == Method::kGet) return start_sse(std::move(r.sse));
    if (r.stream) return start_stream(std::move(r));
    write_plain(std::move(r));
  }

  // ---- plain responses -------------------------------------------------------------------

  bool keep() const { return keep_alive_ && !closing_; }

  void write_plain(Response r) {
    bool head = req_.method == Method::kHead;
    bool no_body = r.status == 204 || r.status == 304 || r.status < 200;
    if (r.static_body.data() != nullptr) {
      auto res = std::make_shared<bhttp::response<bhttp::span_body<const char>>>(
          static_cast<bhttp::status>(r.status), version_);
      apply_headers(*res, r, core_.hsts);
      res->keep_alive(keep());
      if (!head) res->body() = {r.static_body.data(), r.static_body.size()};
      res->content_length(r.static_body.size());
      return write_message(std::move(res));
    }
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(r.status), version_);
    apply_headers(*res, r, core_.hsts);
    res->keep_alive(keep());
    if (!no_body) {
      res->content_length(r.body.size());
      if (!head) res->body() = std::move(r.body);
    }
    write_message(std::move(res));
  }

  template <class Message>
  void write_message(std::shared_ptr<Message> msg) {
    state_ = State::kWriting;
    lowest().expires_after(core_.opt.write_timeout);
    bhttp::async_write(stream_, *msg, [self = self(), msg](beast::error_code ec, size_t) {
      self->on_written(ec, !msg->keep_alive());
    });
  }

  void on_written(beast::error_code ec, bool close) {
    if (ec) return abort();
    if (close || closing_) return do_close();
    do_read();
  }

  // ---- streamed bodies -------------------------------------------------------------------

  void start_stream(Response r) {
    auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(static_cast<bhttp::status>(r.status), version_);
    apply_headers(*res, r, core_.hsts);
    res->keep_alive(keep());
    if (r.stream_length) {
      res->content_length(*r.stream_length);
    } else {
      res->chunked(true);
    }
    if (req_.method == Method::kHead) return write_message(std::move(res));
    state_ = State::kStreaming;
    reader_ = std::move(r.stream);
    stream_length_ = r.stream_length;
    stream_sent_ = 0;
    stream_keep_ = res->keep_alive();
    chunk_.resize(kStreamChunk);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*res);
    lowest().expires_after(core_.opt.write_timeout);
    bhttp::async_write_header(stream_, *sr, [self = self(), res, sr](beast::error_code ec, size_t) {
      if (ec) return self->abort();
      self->read_chunk();
    });
  }

  void read_chunk() {
    lowest().expires_never();
    net::post(*core_.workers, [self = self()] {
      auto n = std::make_shared<Result<size_t>>(
          self->reader_->read(MutableBytes(reinterpret_cast<std::byte*>(self->chunk_.data()), self->chunk_.size())));
      net::post(self->executor(), [self, n] { self->on_chunk(std::move(*n)); });
    });
  }

  void on_chunk(Result<size_t> n) {
    if (state_ != State::kStreaming) return;
    if (!n.ok()) {
      spdlog::warn("http: {} {}: streaming the body failed: {}", method_name(req_.method), req_.path,
                   n.error().message());
      return abort();  // the client sees a truncated body, never a silently short one
    }
    lowest().expires_after(core_.opt.write_timeout);
    if (*n == 0) {
      reader_.reset();
      chunk_ = {};
      if (stream_length_) {
        if (stream_sent_ != *stream_length_) {
          spdlog::warn("http: {}: the body ended after {} of {} announced bytes", req_.path, stream_sent_,
                       *stream_length_);
          return abort();
        }
        return on_written({}, !stream_keep_);
      }
      net::async_write(stream_, bhttp::make_chunk_last(),
                       [self = self()](beast::error_code ec, size_t) { self->on_written(ec, !self->stream_keep_); });
      return;
    }
    stream_sent_ += *n;
    if (stream_length_ && stream_sent_ > *stream_length_) return abort();
    auto next = [self = self()](beast::error_code ec, size_t) {
      if (ec) return self->abort();
      self->read_chunk();
    };
    if (stream_length_) {
      net::async_write(stream_, net::buffer(chunk_.data(), *n), std::move(next));
    } else {
      net::async_write(stream_, bhttp::make_chunk(net::buffer(chunk_.data(), *n)), std::move(next));
    }
  }

  // ---- server-sent events ------------------------------------------------------------------

  void start_sse(std::shared_ptr<SseSource> source) {
    state_ = State::kSse;
    core_.sse_streams_total.fetch_add(1, std::memory_order_relaxed);
    std::optional<int64_t> last;
    if (auto h = req_.header("last-event-id")) {
      last = parse_event_id(*h);
    } else if (auto q = req_.query_param("last_event_id")) {
      last = parse_event_id(*q);
    }
    sse_ = std::make_unique<SseStream>(core_.hub, std::move(source), last);
    // The wake callback runs on publishing threads under the hub's lock: it only posts,
    // and holds no strong reference (the last one must never drop there).
    std::weak_ptr<Connection> weak = self();
    watch_credentials(weak);
    auto wake = [ex = executor(), weak] {
      net::post(ex, [weak] {
        if (auto s = weak.lock()) s->sse_pump();
      });
    };
    sse_busy_ = true;
    net::post(*core_.workers, [self = self(), wake = std::move(wake)] {
      auto st = std::make_shared<Status>(self->sse_->open(wake));
      net::post(self->executor(), [self, st] { self->on_sse_open(std::move(*st)); });
    });
  }

  // At each heartbeat: credentials ended elsewhere (expiry, `stacksnap admin
  // reset-password` in another process) end the stream too. A check that cannot run now
  // (the state database is busy) keeps it.
  bool credentials_still_valid() {
    Authenticator* auth = core_.router.authenticator();
    if (!auth || !req_.principal) return true;
    auto found = auth->authenticate(req_);
    return !found.ok() || found->has_value();
  }

  // The stream ends as soon as the session or token it was opened with ends.
  void watch_credentials(const std::weak_ptr<Connection>& weak) {
    Authenticator* auth = core_.router.authenticator();
    CredentialWatch* watch = auth ? auth->credential_watch() : nullptr;
    if (!watch || !req_.principal) return;
    credentials_ = watch->watch(*req_.principal, [ex = executor(), weak] {
      net::post(ex, [weak] {
        if (auto s = weak.lock(); s && s->state_ == State::kSse) s->do_close();
      });
    });
  }

  void on_sse_open(Status st) {
    sse_busy_ = false;
    if (state_ != State::kSse) return;  // closed meanwhile
    if (!st.ok()) {
      keep_alive_ = false;
      return write_plain(Response::error(st.error()));
    }
    auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, version_);
    Response meta;
    meta.content_type = "text/event-stream; charset=utf-8";
    meta.headers.push_back({"X-Accel-Buffering", "no"});  // reverse proxies: do not buffer
    apply_headers(*res, meta, core_.hsts);
    res->keep_alive(false);  // the event stream ends with the connection
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*res);
    sse_busy_ = true;
    lowest().expires_after(core_.opt.write_timeout);
    bhttp::async_write_header(stream_, *sr, [self = self(), res, sr](beast::error_code ec, size_t) {
      self->sse_busy_ = false;
      if (ec) return self->abort();
      self->lowest().expires_never();
      self->sse_ready_ = true;
      self->arm_heartbeat();
      self->sse_pump();
    });
  }

  void sse_pump() {
    if (state_ != State::kSse || !sse_ready_ || sse_busy_) return;
    if (closing_) return do_close();
    SseStream::Step step = sse_->poll(kSseWriteBytes);
    switch (step.next) {
      case SseStream::Next::kWrite:
        sse_out_ = std::move(step.bytes);
        return sse_write();
      case SseStream::Next::kFetch:
        sse_busy_ = true;
        net::post(*core_.workers, [self = self()] {
          self->sse_->fetch();
          net::post(self->executor(), [self] {
            self->sse_busy_ = false;
            self->sse_pump();
          });
        });
        return;
      case SseStream::Next::kWait: return;
      case SseStream::Next::kClose: return do_close();
    }
  }

  void sse_write() {
    sse_busy_ = true;
    lowest().expires_after(core_.opt.write_timeout);
    net::async_write(stream_, net::buffer(sse_out_), [self = self()](beast::error_code ec, size_t) {
      self->sse_busy_ = false;
      if (ec) return self->abort();  // a client that stopped reading hits write_timeout
      self->lowest().expires_never();
      self->sse_pump();
    });
  }

  void arm_heartbeat() {
    timer_.expires_after(core_.opt.sse_heartbeat);
    timer_.async_wait([self = self()](beast::error_code ec) {
      if (ec || self->state_ != State::kSse) return;
      if (!self->credentials_still_valid()) return self->do_close();
      if (!self->sse_busy_) {
        self->sse_out_ = sse_comment("ping");
        self->sse_write();
      }
      self->arm_heartbeat();
    });
  }

  // ---- closing -------------------------------------------------------------------------

  void do_close() {
    if (state_ == State::kClosed) return;
    if (sse_busy_) return abort();  // a write may be in flight: no close_notify beside it
    state_ = State::kClosed;
    timer_.cancel();
    if (refused_body_) {
      // No TLS close_notify either: waiting for the client's would read its body.
      beast::error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      timer_.expires_after(kRefusalGrace);
      timer_.async_wait([self = self()](beast::error_code) { self->lowest().close(); });
      return;
    }
    if constexpr (kTls) {
      lowest().expires_after(kTlsShutdownTimeout);
      stream_.async_shutdown([self = self()](beast::error_code) { self->lowest().close(); });
    } else {
      beast::error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      if (!unread_body_) return lowest().close();
      // We answered without reading the body (413): read and drop what the client is
      // still sending for a moment, so closing does not reset the connection before it
      // has read our answer.
      chunk_.resize(4096);
      lowest().expires_after(kLingerTimeout);
      linger();
    }
  }

  void linger() {
    lowest().async_read_some(net::buffer(chunk_), [self = self()](beast::error_code ec, size_t n) {
      self->lingered_ += n;
      self->core_.bytes_received.fetch_add(n, std::memory_order_relaxed);
      if (ec || self->lingered_ > kLingerBytes) return self->lowest().close();
      self->linger();
    });
  }

  void abort() {
    state_ = State::kClosed;
    timer_.cancel();
    lowest().close();
  }

  ServerCore& core_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::string remote_ip_;
  net::steady_timer timer_;
  State state_ = State::kReading;
  bool closing_ = false;

  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  Request req_;
  Router::Match match_;

  std::unique_ptr<Reader> reader_;
  std::vector<char> chunk_;
  std::optional<uint64_t> stream_length_;
  uint64_t stream_sent_ = 0;
  bool stream_keep_ = false;
  bool unread_body_ = false;  // closing after refusing a request: linger
  bool refused_body_ = false; // refused at header time: close without reading the body
  size_t lingered_ = 0;
  uint64_t requests_ = 0;     // request headers read on this connection

  std::unique_ptr<SseStream> sse_;
  bool sse_ready_ = false;  // header written: frames may follow
  bool sse_busy_ = false;   // a write, open or fetch is in flight
  std::string sse_out_;
  std::unique_ptr<CredentialWatch::Registration> credentials_;
};

}  // namespace

std::string peer_address(const tcp::socket& s) {
  beast::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

void start_plain_connection(ServerCore& core, tcp::socket socket, std::string peer) {
  auto c = std::make_shared<Connection<beast::tcp_stream>>(core, beast::tcp_stream(std::move(socket)), peer);
  core.add(c, peer);
  c->run();
}

void start_tls_connection(ServerCore& core, tcp::socket socket, net::ssl::context& ctx, std::string peer) {
  using Tls = beast::ssl_stream<beast::tcp_stream>;
  auto c = std::make_shared<Connection<Tls>>(core, Tls(beast::tcp_stream(std::move(socket)), ctx), peer);
  core.add(c, peer);
  c->run();
}

}  // namespace stacksnap::http::detail
