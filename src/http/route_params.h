// What the resource_routes_*.cpp files share: request parameter parsing and the 202 reply
// of a submitted job. Internal to src/http. (Records become JSON by catalog/record_json.h.)
#pragma once

#include <string>

#include "catalog/catalog.h"
#include "http/message.h"

namespace stacksnap::http::resource {

inline constexpr RouteOptions kBlocking{.access = Access::kUser, .exec = Exec::kBlocking};

// 202 {"job_id", "job"}
Response accepted(const catalog::JobRecord& j);

// A positive integer path parameter: InvalidArgument naming it.
Result<int64_t> id_param(const Request& req, const char* name);
// An integer query parameter in [lo, hi], or `def` when absent.
Result<int64_t> int_query(const Request& req, const char* name, int64_t def, int64_t lo, int64_t hi);
// Names of targets and notifications: 1–63 of [A-Za-z0-9._-], starting alphanumeric.
Status check_name(const std::string& what, const std::string& name);
// Optional typed fields of a JSON body (InvalidArgument naming the field when mistyped).
Result<bool> opt_bool(const Json& body, const char* key, bool def);
Result<std::string> opt_string(const Json& body, const char* key, const std::string& def, size_t max_len = 4096);

}  // namespace stacksnap::http::resource
