#include "http/resource_routes.h"

#include <cctype>

#include "app/appliance.h"
#include "http/job_stream.h"
#include "catalog/record_json.h"
#include "http/route_params.h"

namespace stacksnap::http {

namespace resource {

Response accepted(const catalog::JobRecord& j) { return Response::json(202, Json{{"job_id", j.id}, {"job", catalog::to_json(j)}}); }

Result<int64_t> id_param(const Request& req, const char* name) {
  std::string v = req.param(name);
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
    return invalid_argument(std::string(name) + " must be a positive integer");
  }
  int64_t n = std::stoll(v);
  if (n <= 0) return invalid_argument(std::string(name) + " must be a positive integer");
  return n;
}

Result<int64_t> int_query(const Request& req, const char* name, int64_t def, int64_t lo, int64_t hi) {
  auto v = req.query_param(name);
  if (!v || v->empty()) return def;
  if (v->size() > 18 || v->find_first_not_of("0123456789") != std::string::npos) {
    return invalid_argument(std::string(name) + " must be an integer");
  }
  int64_t n = std::stoll(*v);
  if (n < lo || n > hi) {
    return invalid_argument(std::string(name) + " must be from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return n;
}

Status check_name(const std::string& what, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 63 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  if (!ok) return invalid_argument(what + " names are 1-63 characters: letters, digits, '.', '_', '-'");
  return {};
}

Result<bool> opt_bool(const Json& body, const char* key, bool def) {
  if (!body.contains(key) || body[key].is_null()) return def;
  if (!body[key].is_boolean()) return invalid_argument(std::string("'") + key + "' must be true or false");
  return body[key].get<bool>();
}

Result<std::string> opt_string(const Json& body, const char* key, const std::string& def, size_t max_len) {
  if (!body.contains(key) || body[key].is_null()) return def;
  return json_string(body, key, max_len);
}

}  // namespace resource

void register_resource_routes(Router& router, app::Appliance& app) {
  router.sse("/api/jobs/{id}/events", job_events_handler(app.cat));
  register_admin_routes(router, app);
  register_project_routes(router, app);
  register_target_routes(router, app);
  register_backup_routes(router, app);
}

}  // namespace stacksnap::http
