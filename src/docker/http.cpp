#include "docker/http.h"
#include "base/text.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace stacksnap::docker::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool contains_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    auto comma = list.find(',');
    if (iequals(trim_space(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& h : items_) {
    if (iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

Result<ResponseHead> parse_response_head(std::string_view text) {
  ResponseHead head;
  auto eol = text.find('\n');
  if (eol == std::string_view::npos) return invalid_argument("malformed HTTP response: no status line");
  std::string_view status_line = trim_space(text.substr(0, eol));
  text.remove_prefix(eol + 1);
  if (!status_line.starts_with("HTTP/1.")) {
    return invalid_argument("malformed HTTP response: status line \"" + std::string(status_line.substr(0, 80)) + "\"");
  }
  auto sp = status_line.find(' ');
  if (sp == std::string_view::npos || status_line.size() < sp + 4) {
    return invalid_argument("malformed HTTP status line \"" + std::string(status_line) + "\"");
  }
  std::string_view code = status_line.substr(sp + 1, 3);
  auto [ptr, ec] = std::from_chars(code.data(), code.data() + 3, head.status);
  if (ec != std::errc() || ptr != code.data() + 3 || head.status < 100 || head.status > 999) {
    return invalid_argument("malformed HTTP status line \"" + std::string(status_line) + "\"");
  }
  if (status_line.size() > sp + 5) head.reason = std::string(status_line.substr(sp + 5));
  while (!text.empty()) {
    eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return invalid_argument("malformed HTTP header line \"" + std::string(line.substr(0, 80)) + "\"");
    }
    head.headers.add(std::string(trim_space(line.substr(0, colon))), std::string(trim_space(line.substr(colon + 1))));
  }
  return head;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// ---- chunked decoding --------------------------------------------------------

Status ChunkedDecoder::finish_size_line() {
  std::string_view line = line_;
  if (auto semi = line.find(';'); semi != std::string_view::npos) line = line.substr(0, semi);
  line = trim_space(line);
  uint64_t size = 0;
  auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
  if (line.empty() || ec != std::errc() || ptr != line.data() + line.size()) {
    return data_loss("malformed chunk size line \"" + line_.substr(0, 40) + "\"");
  }
  line_.clear();
  remaining_ = size;
  state_ = size == 0 ? State::kTrailer : State::kData;
  return {};
}

Result<ChunkedDecoder::Step> ChunkedDecoder::step(std::string_view in, size_t max_payload) {
  Step st;
  size_t i = 0;
  while (i < in.size() && state_ != State::kDone) {
    char c = in[i];
    switch (state_) {
      case State::kSize:
        ++i;
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          TRY(finish_size_line());
        } else {
          if (line_.size() >= kMaxChunkLine) return data_loss("chunk size line too long");
          line_.push_back(c);
        }
        break;
      case State::kSizeLf:
        if (c != '\n') return data_loss("malformed chunk size line: CR without LF");
        ++i;
        TRY(finish_size_line());
        break;
      case State::kData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>({remaining_, in.size() - i, max_payload}));
        st.payload_offset = i;
        st.payload_size = n;
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataCr;
        st.consumed = i;
        return st;
      }
      case State::kDataCr:
        ++i;
        if (c == '\r') state_ = State::kDataLf;
        else if (c == '\n') state_ = State::kSize;
        else return data_loss("malformed chunked body: missing CRLF after chunk data");
        break;
      case State::kDataLf:
        if (c != '\n') return data_loss("malformed chunked body: missing LF after chunk data");
        ++i;
        state_ = State::kSize;
        break;
      case State::kTrailer:
        ++i;
        if (c == '\n') {
          if (line_.empty()) state_ = State::kDone;
          line_.clear();
        } else if (c != '\r') {
          if (line_.size() >= kMaxChunkLine) return data_loss("chunked trailer line too long");
          line_.push_back(c);
        }
        break;
      case State::kTrailerLf:
      case State::kDone:
        break;
    }
  }
  st.consumed = i;
  return st;
}

// ---- Connection --------------------------------------------------------------

Connection::Connection(UniqueFd fd, ConnectionOptions options)
    : fd_(std::move(fd)), options_(std::move(options)), buf_(new char[kReadBuffer]) {}

Connection::~Connection() {
  stop_cb_.reset();  // before the fd closes: the callback must not shut down a reused fd number
}

void Connection::bind_stop(const StopToken& token) {
  stop_ = token;
  if (token.stop_possible()) {
    int fd = fd_.get();
    stop_cb_ = std::make_unique<std::stop_callback<std::function<void()>>>(
        token, std::function<void()>([fd] { ::shutdown(fd, SHUT_RDWR); }));
  }
}

Error Connection::io_error(std::string_view what, int err) const {
  if (stop_.stop_requested()) return cancelled("cancelled");
  std::string msg = "connection to the Docker Engine at " + options_.peer + " " + std::string(what);
  if (err != 0) msg += ": " + std::string(std::strerror(err));
  return unavailable(std::move(msg));
}

Status Connection::wait_for(short events) {
  if (options_.io_timeout.count() <= 0) return {};
  pollfd p{fd_.get(), events, 0};
  for (;;) {
    int rc = ::poll(&p, 1, static_cast<int>(options_.io_timeout.count()));
    if (rc > 0) return {};
    if (rc == 0) {
      return deadline_exceeded("no progress from the Docker Engine at " + options_.peer + " within " +
                               std::to_string(options_.io_timeout.count() / 1000.0).substr(0, 5) + " s");
    }
    if (errno != EINTR) return io_error("failed", errno);
  }
}

Status Connection::send_all(Bytes data) {
  while (!data.empty()) {
    TRY(wait_for(POLLOUT));
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("lost while sending", errno);
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  if (stop_.stop_requested()) return cancelled("cancelled");
  return {};
}

Status Connection::shutdown_write() {
  if (::shutdown(fd_.get(), SHUT_WR) != 0 && errno != ENOTCONN) return io_error("half-close failed", errno);
  return {};
}

void Connection::abort() { ::shutdown(fd_.get(), SHUT_RDWR); }

Result<size_t> Connection::recv_raw(char* data, size_t size) {
  for (;;) {
    TRY(wait_for(POLLIN));
    ssize_t n = ::recv(fd_.get(), data, size, 0);
    if (n > 0) return static_cast<size_t>(n);
    if (n == 0) {
      if (stop_.stop_requested()) return cancelled("cancelled");
      return size_t{0};
    }
    if (errno == EINTR) continue;
    return io_error("lost", errno);
  }
}

Result<size_t> Connection::recv_some(MutableBytes buf) {
  if (buf.empty()) return size_t{0};
  if (pos_ < end_) {
    size_t n = std::min(buf.size(), end_ - pos_);
    std::memcpy(buf.data(), buf_.get() + pos_, n);
    pos_ += n;
    return n;
  }
  return recv_raw(reinterpret_cast<char*>(buf.data()), buf.size());
}

Result<std::string_view> Connection::peek() {
  if (pos_ == end_) {
    pos_ = end_ = 0;
    end_ = TRY(recv_raw(buf_.get(), kReadBuffer));
  }
  return std::string_view(buf_.get() + pos_, end_ - pos_);
}

Result<ResponseHead> Connection::read_head() {
  // The head is collected in the receive buffer; it must fit (kMaxHeadBytes ≤ kReadBuffer).
  static_assert(kMaxHeadBytes <= kReadBuffer);
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  size_t scanned = 0;
  for (;;) {
    std::string_view have(buf_.get(), end_);
    auto term = have.find("\r\n\r\n", scanned > 3 ? scanned - 3 : 0);
    size_t term_len = 4;
    if (term == std::string_view::npos) {
      term = have.find("\n\n", scanned > 1 ? scanned - 1 : 0);
      term_len = 2;
    }
    if (term != std::string_view::npos) {
      auto head = parse_response_head(have.substr(0, term + term_len));
      if (!head.ok()) return data_loss("bad response from the Docker Engine at " + options_.peer + ": " + head.error().message());
      pos_ = term + term_len;
      return head;
    }
    scanned = end_;
    if (end_ >= kMaxHeadBytes) return data_loss("response head from the Docker Engine is too large");
    size_t n = TRY(recv_raw(buf_.get() + end_, kMaxHeadBytes - end_));
    if (n == 0) {
      return unavailable("connection to the Docker Engine at " + options_.peer + " closed before a response arrived");
    }
    end_ += n;
  }
}

Result<bool> Connection::wait_readable(std::chrono::milliseconds timeout) {
  if (pos_ < end_) return true;
  pollfd p{fd_.get(), POLLIN, 0};
  for (;;) {
    int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc >= 0) return rc > 0;
    if (errno != EINTR) return io_error("failed", errno);
  }
}

// ---- bodies ------------------------------------------------------------------

BodyKind body_kind(const ResponseHead& head, std::string_view method, uint64_t* length) {
  if (method == "HEAD" || head.status == 204 || head.status == 304 || head.status < 200) return BodyKind::kNone;
  if (auto te = head.headers.get("Transfer-Encoding"); te && contains_token(*te, "chunked")) return BodyKind::kChunked;
  if (auto cl = head.headers.get("Content-Length")) {
    uint64_t n = 0;
    auto v = trim_space(*cl);
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && ptr == v.data() + v.size()) {
      if (length) *length = n;
      return n == 0 ? BodyKind::kNone : BodyKind::kLength;
    }
  }
  return BodyKind::kUntilClose;
}

BodyReader::BodyReader(Connection& conn, const ResponseHead& head, std::string_view method)
    : conn_(conn) {
  kind_ = body_kind(head, method, &remaining_);  // after remaining_'s initializer
  eof_ = kind_ == BodyKind::kNone;
}

Result<size_t> BodyReader::read(MutableBytes buf) {
  if (eof_ || buf.empty()) return size_t{0};
  switch (kind_) {
    case BodyKind::kNone:
      return size_t{0};
    case BodyKind::kLength: {
      size_t want = static_cast<size_t>(std::min<uint64_t>(remaining_, buf.size()));
      size_t n = TRY(conn_.recv_some(buf.first(want)));
      if (n == 0) return conn_.io_error("closed in the middle of a response body", 0);
      remaining_ -= n;
      if (remaining_ == 0) eof_ = true;
      return n;
    }
    case BodyKind::kUntilClose: {
      size_t n = TRY(conn_.recv_some(buf));
      if (n == 0) eof_ = true;
      return n;
    }
    case BodyKind::kChunked:
      for (;;) {
        std::string_view in = TRY(conn_.peek());
        if (in.empty()) return conn_.io_error("closed in the middle of a chunked response body", 0);
        auto st = TRY(chunked_.step(in, buf.size()));
        if (st.payload_size > 0) std::memcpy(buf.data(), in.data() + st.payload_offset, st.payload_size);
        conn_.consume(st.consumed);
        if (st.payload_size > 0) return st.payload_size;
        if (chunked_.done()) {
          eof_ = true;
          return size_t{0};
        }
      }
  }
  return size_t{0};
}

}  // namespace stacksnap::docker::http
