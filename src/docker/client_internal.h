// Internal to src/docker: the request description and the open exchange the
// EngineClient's per-area files (containers.cpp, exec.cpp…) build on. Not for other areas.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "docker/engine_client.h"
#include "docker/http.h"

namespace stacksnap::docker {

using Query = std::vector<std::pair<std::string, std::string>>;

struct Call {
  std::string method = "GET";
  std::string path;  // without the version prefix: "/containers/json"
  Query query;
  std::optional<std::string> json_body;  // sent as application/json with Content-Length
  Reader* body_stream = nullptr;         // sent chunked, with Expect: 100-continue
  std::string body_content_type = "application/x-tar";
  bool upgrade = false;     // Connection: Upgrade / Upgrade: tcp (exec start)
  bool versioned = true;    // false for /_ping and /version
  bool streaming = false;   // no call timeout: the peer may be silent for long
  std::vector<int> accept;  // extra statuses that are not errors (e.g. 304)
  std::string op;           // "inspect container shop_db_1", the error context
};

// One request in flight: its connection, response head and body.
class Exchange {
 public:
  Exchange(UniqueFd fd, http::ConnectionOptions options) : conn_(std::move(fd), std::move(options)) {}
  http::Connection& conn() { return conn_; }
  const http::ResponseHead& head() const { return head_; }
  int status() const { return head_.status; }
  // The body as a Reader (created after the head was read).
  Reader& body() { return *body_; }

 private:
  friend class EngineClient;
  http::Connection conn_;
  http::ResponseHead head_;
  std::unique_ptr<http::BodyReader> body_;
};

// HTTP status → Error with the operation and the Engine's message.
Error engine_error(int status, std::string_view body, std::string_view op);

// A container reference for a path: IDs and names are URL-encoded.
inline std::string path_arg(std::string_view s) { return http::url_encode(s); }

Result<nlohmann::json> read_json(Exchange& ex, std::string_view op);

}  // namespace stacksnap::docker
