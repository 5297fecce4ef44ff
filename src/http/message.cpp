#include "http/message.h"

#include <strings.h>

#include "http/status.h"
#include "http/url.h"

namespace stacksnap::http {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kPatch: return "PATCH";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

Method parse_method(std::string_view name) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch, Method::kDelete,
                   Method::kOptions}) {
    if (method_name(m) == name) return m;
  }
  return Method::kOther;
}

bool is_mutating(Method m) {
  return m == Method::kPost || m == Method::kPut || m == Method::kPatch || m == Method::kDelete ||
         m == Method::kOther;
}

std::string json_text(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  for (const auto& h : headers) {
    if (h.name == lower_name) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::string Request::param(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? std::string() : it->second;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Result<Json> Request::json_body() const {
  auto ct = header("content-type");
  std::string type = ct ? to_lower(ct->substr(0, ct->find(';'))) : std::string();
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type != "application/json") return invalid_argument("expected a JSON body (Content-Type: application/json)");
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument("the request body is not valid JSON");
  if (!j.is_object()) return invalid_argument("the request body must be a JSON object");
  return j;
}

Result<std::string> json_string(const Json& obj, std::string_view key, size_t max_len) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return invalid_argument("field '" + std::string(key) + "' (a string) is required");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_len) {
    return invalid_argument("field '" + std::string(key) + "' is longer than " + std::to_string(max_len) + " bytes");
  }
  return s;
}

Result<int64_t> json_int(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) {
    return invalid_argument("field '" + std::string(key) + "' (an integer) is required");
  }
  return it->get<int64_t>();
}

Response Response::json(int status, const Json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = json_text(body);
  return r;
}

Response Response::error(const Error& e) {
  return json(http_status_for(e.code()), Json{{"code", std::string(code_name(e.code()))}, {"message", e.message()}});
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::no_content() {
  Response r;
  r.status = 204;
  return r;
}

Response Response::streaming(std::unique_ptr<Reader> reader, std::string content_type, std::optional<uint64_t> length) {
  Response r;
  r.content_type = std::move(content_type);
  r.stream = std::move(reader);
  r.stream_length = length;
  return r;
}

Response Response::event_stream(SseSource source) {
  Response r;
  r.content_type = "text/event-stream";
  r.sse = std::make_shared<SseSource>(std::move(source));
  return r;
}

Response& Response::with_header(std::string name, std::string value) & {
  headers.push_back({std::move(name), std::move(value)});
  return *this;
}

Response&& Response::with_header(std::string name, std::string value) && {
  headers.push_back({std::move(name), std::move(value)});
  return std::move(*this);
}

std::optional<std::string_view> Response::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return std::string_view(h.value);
    }
  }
  return std::nullopt;
}

}  // namespace stacksnap::http
