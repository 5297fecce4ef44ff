// What handlers see and return: Request, Response, and the SSE source a streaming
// route hands to the server. Independent of Boost.Beast, so handlers and the router
// are testable without sockets.
//
// Errors go out as {"code":"NotFound","message":"…"} with the status from
// http_status_for() (http/status.h); messages are for users and never carry secrets.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/cancel.h"
#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::http {

using Json = nlohmann::json;

// Request bodies above this are refused with 413 unless a route sets its own limit.
inline constexpr size_t kDefaultBodyLimit = 1 << 20;

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };
std::string_view method_name(Method m);
Method parse_method(std::string_view name);
// POST, PUT, PATCH, DELETE: these need a CSRF token when authenticated by a session cookie.
bool is_mutating(Method m);

// Compact JSON text; invalid UTF-8 in strings is replaced, never thrown.
std::string json_text(const Json& j);

enum class AuthVia { kSession, kToken };

// Who made an authenticated request.
struct Principal {
  std::string user;          // "admin"
  AuthVia via = AuthVia::kSession;
  std::string session_key;   // kSession: SHA-256 of the cookie's token (the sessions row key)
  std::string csrf_token;    // kSession: the token mutating requests must echo in X-CSRF-Token
  int64_t token_id = 0;      // kToken: api_tokens.id
};

struct Header {
  std::string name;  // lower-case in a Request; as written in a Response
  std::string value;
};

struct Request {
  Method method = Method::kGet;
  std::string target;                          // raw request target, "/api/x?y=1"
  std::string path;                            // raw path part, "/api/x"
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> params;   // path parameters from the route pattern, decoded
  std::vector<Header> headers;                 // names lower-case
  std::string body;
  std::string remote_ip;                       // peer address, "127.0.0.1" / "::1"
  std::string client_ip;                       // remote_ip, or the X-Forwarded-For client of a trusted proxy
  bool tls = false;                            // arrived over TLS
  std::optional<Principal> principal;          // set by the router before a non-public handler runs
  StopToken stop;                              // requested when the server stops

  // First header with this (lower-case) name.
  std::optional<std::string_view> header(std::string_view lower_name) const;
  // Path parameter; "" when absent (a route only gets the params its pattern names).
  std::string param(std::string_view name) const;
  std::optional<std::string> query_param(std::string_view name) const;
  // The body as a JSON object. InvalidArgument when the Content-Type is not
  // application/json (this also keeps cross-site HTML forms out), the body is not JSON,
  // or it is not an object.
  Result<Json> json_body() const;
};

// Helpers for JSON request fields; errors are InvalidArgument naming the field.
Result<std::string> json_string(const Json& obj, std::string_view key, size_t max_len = 4096);
Result<int64_t> json_int(const Json& obj, std::string_view key);

// One server-sent event. Wire form (sse.h): "id: <id>\nevent: <type>\ndata: <data>\n\n".
struct SseEvent {
  int64_t id = 0;    // > 0: sent as "id:" (the client's Last-Event-ID); 0: see SseHub::publish
  std::string type;  // "event:" line; empty: no line (the client sees "message")
  std::string data;  // usually one line of JSON; embedded newlines become several data: lines
};

// What an SSE route's handler returns; the server subscribes, replays and streams.
struct SseSource {
  std::string topic;  // "job:42", "dashboard"
  // Events with id > after, ascending. May return a page: the server calls again with the
  // last id it got until the result is empty. Runs on the worker pool (may use SQLite).
  // Contract for gap-free handoff: the producer publishes an event only after replay()
  // can return it. Empty: the topic has no stored events (live only, or the hub's history).
  std::function<Result<std::vector<SseEvent>>(int64_t after)> replay;
  // true when nothing more will be published (a finished job): the stream replays and
  // closes. Called after subscribing. Empty: never finished.
  std::function<bool()> is_finished;
};

struct Response {
  int status = 200;
  std::string content_type;
  std::vector<Header> headers;  // extra headers (Set-Cookie, Retry-After, Cache-Control, …)
  std::string body;
  // Instead of `body`: bytes that live as long as the program (embedded dashboard
  // files), sent without a copy.
  std::string_view static_body;
  // Instead of `body`, a pull-style stream sent with chunked encoding (or with a
  // Content-Length when `stream_length` is known). read() runs on the worker pool, one
  // fixed-size chunk at a time; an error mid-stream aborts the connection.
  std::unique_ptr<Reader> stream;
  std::optional<uint64_t> stream_length;
  // Instead of `body`, a server-sent event stream (text/event-stream).
  std::shared_ptr<SseSource> sse;

  static Response json(int status, const Json& body);
  // {"code","message"} with the status from the one table.
  static Response error(const Error& e);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response no_content();
  static Response streaming(std::unique_ptr<Reader> reader, std::string content_type,
                            std::optional<uint64_t> length = std::nullopt);
  static Response event_stream(SseSource source);

  Response& with_header(std::string name, std::string value) &;
  Response&& with_header(std::string name, std::string value) &&;
  // First header with this name (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;
};

}  // namespace stacksnap::http
