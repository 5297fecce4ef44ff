// A small HTTP/1.1 client over one connected stream socket, for the Docker Engine API.
//
// Why our own and not Beast: the Engine API needs hijacked connections (exec stdin
// and stdout on one socket, half-closed with shutdown(SHUT_WR)), poll()-driven
// uploads that watch for an early answer, and cancellation by shutting the socket
// down from another thread. A raw fd with a tiny parser does all of that directly,
// compiles fast, and its parsers are pure and unit-tested (chunked decoding, heads).
//
// Scope: one request per connection (the client opens a fresh connection per call),
// Content-Length / chunked / read-until-close bodies, chunked request bodies,
// Expect: 100-continue, 101 Switching Protocols. No TLS, no compression (we never
// send Accept-Encoding), no pipelining.
//
// Thread-safety: a Connection is used by one thread, except abort() (any thread)
// and, for hijacked exec streams, one reader thread plus one writer thread
// (send_all()/shutdown_write() on the writer side, receive on the reader side).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/cancel.h"
#include "base/error.h"
#include "base/fd.h"
#include "base/stream.h"

namespace stacksnap::docker::http {

inline constexpr size_t kReadBuffer = 64 * 1024;      // socket receive buffer of a Connection
inline constexpr size_t kMaxHeadBytes = 64 * 1024;    // status line + headers
inline constexpr size_t kMaxChunkLine = 4096;         // chunk-size line with extensions

struct Header {
  std::string name;
  std::string value;
};

class Headers {
 public:
  void add(std::string name, std::string value) { items_.push_back({std::move(name), std::move(value)}); }
  // First value of a header, matched case-insensitively.
  std::optional<std::string_view> get(std::string_view name) const;
  const std::vector<Header>& items() const { return items_; }

 private:
  std::vector<Header> items_;
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  Headers headers;
};

// Parses "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n" (the terminating blank line
// included in `text`). InvalidArgument on malformed input.
Result<ResponseHead> parse_response_head(std::string_view text);

// Percent-encodes a query component (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view s);

// Decodes a chunked body incrementally, without copying payload bytes.
// step() looks at `in`, consumes framing bytes and at most one run of payload
// (limited to `max_payload`), and returns what it consumed and where the payload is.
class ChunkedDecoder {
 public:
  struct Step {
    size_t consumed = 0;        // bytes of `in` used (framing + payload)
    size_t payload_offset = 0;  // payload slice inside `in`
    size_t payload_size = 0;
  };
  Result<Step> step(std::string_view in, size_t max_payload);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kTrailerLf, kDone };
  Status finish_size_line();
  State state_ = State::kSize;
  std::string line_;
  uint64_t remaining_ = 0;
};

// Options of one Connection.
struct ConnectionOptions {
  // Each blocking wait (receive, or send when the socket is full) gives up after this long
  // with DeadlineExceeded; zero waits forever (streams whose peer may be silent for long).
  std::chrono::milliseconds io_timeout{0};
  std::string peer;  // "unix:///var/run/docker.sock", for messages
};

class Connection {
 public:
  Connection(UniqueFd fd, ConnectionOptions options);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  int fd() const { return fd_.get(); }
  const std::string& peer() const { return options_.peer; }
  void set_io_timeout(std::chrono::milliseconds t) { options_.io_timeout = t; }

  // A stop request shuts the socket down (both directions) so blocked calls return;
  // they then report Cancelled. Call once, before the transfer.
  void bind_stop(const StopToken& token);
  bool stop_requested() const { return stop_.stop_requested(); }

  Status send_all(Bytes data);
  // Half-close: the peer reads EOF, we can still receive.
  Status shutdown_write();
  // Shuts down both directions (any thread); blocked calls return.
  void abort();

  // Up to buf.size() bytes: buffered bytes first, else one recv(). 0 at EOF.
  Result<size_t> recv_some(MutableBytes buf);
  // The buffered bytes, refilled by one recv() when empty; empty view at EOF.
  Result<std::string_view> peek();
  void consume(size_t n) { pos_ += n; }
  size_t buffered() const { return end_ - pos_; }

  // Reads a response head; surplus bytes stay buffered for the body.
  Result<ResponseHead> read_head();
  // Waits until the socket is readable (true) or `timeout` passed (false).
  Result<bool> wait_readable(std::chrono::milliseconds timeout);

  // Errors on this connection, phrased for users: "connection to the Docker Engine at X lost: ..."
  Error io_error(std::string_view what, int err) const;

 private:
  Result<size_t> recv_raw(char* data, size_t size);
  Status wait_for(short events);

  UniqueFd fd_;
  ConnectionOptions options_;
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  StopToken stop_;
  std::unique_ptr<std::stop_callback<std::function<void()>>> stop_cb_;
};

// How a response body is delimited.
enum class BodyKind { kNone, kLength, kChunked, kUntilClose };
BodyKind body_kind(const ResponseHead& head, std::string_view method, uint64_t* length);

// Reads one response body from a Connection (which it borrows).
class BodyReader final : public Reader {
 public:
  BodyReader(Connection& conn, const ResponseHead& head, std::string_view method);
  Result<size_t> read(MutableBytes buf) override;

 private:
  Connection& conn_;
  BodyKind kind_ = BodyKind::kNone;
  uint64_t remaining_ = 0;
  ChunkedDecoder chunked_;
  bool eof_ = false;
};

}  // namespace stacksnap::docker::http
