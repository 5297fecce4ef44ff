#include "docker/client.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "docker/client_internal.h"
#include "docker/parse.h"

namespace stacksnap::docker {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

std::string status_phrase(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not found";
    case 409: return "conflict";
    case 500: return "internal server error";
    case 503: return "service unavailable";
    default: return "HTTP status " + std::to_string(status);
  }
}

}  // namespace

Error engine_error(int status, std::string_view body, std::string_view op) {
  std::string message = engine_error_message(body);
  if (message.empty()) message = "the Docker Engine answered " + status_phrase(status);
  Code code = Code::kInternal;
  switch (status) {
    case 400: code = Code::kInvalidArgument; break;
    case 401:
    case 403: code = Code::kPermissionDenied; break;
    case 404: code = Code::kNotFound; break;
    case 409: code = Code::kFailedPrecondition; break;
    default: code = Code::kInternal; break;
  }
  return Error(code, std::move(message)).with_context(op);
}

Result<nlohmann::json> read_json(Exchange& ex, std::string_view op) {
  auto text = TRY_CTX(read_all(ex.body(), kMaxJsonBody), op);
  return TRY_CTX(parse_json(text, "the Docker Engine's answer"), op);
}

EngineClient::EngineClient(Endpoint endpoint, Options options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {}
EngineClient::~EngineClient() = default;

Result<std::unique_ptr<Client>> Client::connect(Options options) {
  Endpoint ep = options.docker_host.empty() ? TRY(endpoint_from_environment())
                                            : TRY(parse_docker_host(options.docker_host));
  auto c = std::make_unique<EngineClient>(std::move(ep), std::move(options));
  TRY(c->renegotiate());
  return std::unique_ptr<Client>(std::move(c));
}

VersionInfo EngineClient::engine_version() const {
  std::lock_guard lock(mu_);
  return version_;
}

ApiVersion EngineClient::api_version() const {
  std::lock_guard lock(mu_);
  return api_version_;
}

std::string EngineClient::versioned(std::string_view path) const {
  return "/v" + api_version().to_string() + std::string(path);
}

Result<VersionInfo> EngineClient::fetch_version() {
  Call call{.method = "GET", .path = "/version", .versioned = false, .op = "query the Docker Engine version"};
  auto ex = TRY(open(call));
  auto j = TRY(read_json(*ex, call.op));
  return parse_version(j);
}

Status EngineClient::renegotiate() {
  auto v = TRY(fetch_version());
  auto api = TRY_CTX(negotiate_api_version(v.api_version, v.min_api_version, v.version),
                     "the Docker Engine at " + endpoint_.uri);
  std::lock_guard lock(mu_);
  version_ = std::move(v);
  api_version_ = api;
  return {};
}

Status EngineClient::ping() {
  Call call{.method = "GET", .path = "/_ping", .versioned = false, .op = "ping the Docker Engine"};
  auto ex = TRY(open(call));
  TRY_CTX(read_all(ex->body(), 4096), call.op);
  return {};
}

Result<VersionInfo> EngineClient::version() { return fetch_version(); }

Result<std::string> EngineClient::request(const Call& call) {
  auto ex = TRY(open(call));
  return TRY_CTX(read_all(ex->body(), kMaxJsonBody), call.op);
}

Result<std::unique_ptr<Exchange>> EngineClient::open(const Call& call, const StopToken& stop) {
  for (int attempt = 0;; ++attempt) {
    auto fd = TRY(connect_endpoint(endpoint_));
    auto timeout = call.streaming ? std::chrono::milliseconds(0) : options_.call_timeout;
    auto ex = std::make_unique<Exchange>(std::move(fd), http::ConnectionOptions{timeout, endpoint_.uri});
    auto& conn = ex->conn_;
    conn.bind_stop(stop);

    std::string target = call.versioned ? versioned(call.path) : call.path;
    for (size_t i = 0; i < call.query.size(); ++i) {
      target += i == 0 ? '?' : '&';
      target += call.query[i].first + "=" + http::url_encode(call.query[i].second);
    }
    std::string head = call.method + " " + target + " HTTP/1.1\r\nHost: api.moby.localhost\r\n" +
                       "User-Agent: stacksnap/" STACKSNAP_VERSION "\r\n";
    head += call.upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n";
    if (call.json_body) {
      head += "Content-Type: application/json\r\nContent-Length: " + std::to_string(call.json_body->size()) + "\r\n";
    } else if (call.body_stream) {
      head += "Content-Type: " + call.body_content_type +
              "\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n";
    } else if (call.method == "POST" || call.method == "PUT") {
      head += "Content-Length: 0\r\n";
    }
    head += "\r\n";
    if (call.json_body) head += *call.json_body;
    TRY_CTX(conn.send_all(as_bytes(head)), call.op);

    uint64_t uploaded = 0;
    bool body_eof = false;
    http::ResponseHead resp = TRY_CTX(conn.read_head(), call.op);
    if (call.body_stream && resp.status == 100) {
      // Upload chunks while watching for an early final answer (notes §3.2).
      std::vector<std::byte> buf(kArchiveBuffer + 32);
      Status send_status;
      for (;;) {
        if (TRY_CTX(conn.wait_readable(std::chrono::milliseconds(0)), call.op)) break;  // answered early
        auto n = call.body_stream->read(MutableBytes(buf.data() + 16, kArchiveBuffer));
        if (!n.ok()) {
          conn.abort();
          return std::move(n).error();
        }
        char size_line[24];
        int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", *n);
        // Frame the chunk in place: size line before, CRLF after the payload.
        std::byte* start = buf.data() + 16 - len;
        std::memcpy(start, size_line, static_cast<size_t>(len));
        std::memcpy(buf.data() + 16 + *n, "\r\n", 2);
        size_t total = static_cast<size_t>(len) + *n + 2;
        if (*n == 0) {  // last chunk "0\r\n\r\n"
          body_eof = true;
          send_status = conn.send_all(Bytes(start, total));
          break;
        }
        send_status = conn.send_all(Bytes(start, total));
        if (!send_status.ok()) break;
        uploaded += *n;
      }
      if (!send_status.ok() && send_status.error().code() == Code::kCancelled) return std::move(send_status).error();
      // The answer: after the upload, or early (an error the Engine sent while we wrote).
      auto final_head = conn.read_head();
      if (!final_head.ok()) {
        if (!send_status.ok()) return std::move(send_status).error().with_context(call.op);
        return std::move(final_head).error().with_context(call.op);
      }
      resp = std::move(*final_head);
    }
    while (resp.status == 100 && !call.body_stream) resp = TRY_CTX(conn.read_head(), call.op);
    if (call.body_stream && !body_eof && resp.status >= 200 && resp.status < 300) {
      // The Engine stops reading at the tar's end-of-archive blocks and may answer before
      // the record padding was sent. Drain the rest, so a producer feeding the stream
      // never blocks on a reader nobody reads any more.
      std::vector<std::byte> sink(kArchiveBuffer);
      for (;;) {
        auto n = call.body_stream->read(sink);
        if (!n.ok()) return std::move(n).error().with_context(call.op);
        if (*n == 0) break;
      }
    }

    bool ok = (resp.status >= 200 && resp.status < 300) || (call.upgrade && resp.status == 101) ||
              std::find(call.accept.begin(), call.accept.end(), resp.status) != call.accept.end();
    ex->head_ = std::move(resp);
    ex->body_ = std::make_unique<http::BodyReader>(conn, ex->head_, call.method);
    if (ok) return ex;

    auto body = read_all(*ex->body_, kMaxErrorBody);
    std::string text = body.ok() ? *body : std::string();
    std::string message = engine_error_message(text);
    if (ex->head_.status == 400 && is_version_mismatch_message(message) && attempt == 0 && call.versioned &&
        uploaded == 0) {
      TRY_CTX(renegotiate(), call.op);
      continue;
    }
    return engine_error(ex->head_.status, text, call.op);
  }
}

}  // namespace stacksnap::docker
