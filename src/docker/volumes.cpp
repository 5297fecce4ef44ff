// Client: volumes.
#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "docker/client_internal.h"
#include "docker/parse.h"

namespace stacksnap::docker {

using nlohmann::json;

Result<std::vector<VolumeInfo>> EngineClient::list_volumes(const std::vector<std::string>& label_filters) {
  Call call{.method = "GET", .path = "/volumes", .op = "list volumes"};
  if (!label_filters.empty()) call.query.emplace_back("filters", encode_filters({{"label", label_filters}}));
  auto ex = TRY(open(call));
  auto j = TRY(read_json(*ex, call.op));
  std::vector<VolumeInfo> out;
  if (j.is_object() && j.contains("Volumes") && j["Volumes"].is_array()) {  // null when there are none
    for (const auto& v : j["Volumes"]) out.push_back(parse_volume(v));
  }
  return out;
}

Result<VolumeInfo> EngineClient::inspect_volume(std::string_view name) {
  Call call{.method = "GET", .path = "/volumes/" + path_arg(name), .op = "inspect volume " + std::string(name)};
  auto ex = TRY(open(call));
  return parse_volume(TRY(read_json(*ex, call.op)));
}

Result<VolumeInfo> EngineClient::create_volume(const CreateVolumeOptions& o) {
  json body = {{"Name", o.name}, {"Driver", o.driver.empty() ? std::string("local") : o.driver},
               {"DriverOpts", o.driver_opts}, {"Labels", o.labels}};
  Call call{.method = "POST", .path = "/volumes/create", .json_body = body.dump(),
            .op = "create volume " + o.name};
  auto ex = TRY(open(call));
  return parse_volume(TRY(read_json(*ex, call.op)));
}

Status EngineClient::remove_volume(std::string_view name, bool force) {
  Call call{.method = "DELETE", .path = "/volumes/" + path_arg(name), .op = "remove volume " + std::string(name)};
  if (force) call.query.emplace_back("force", "1");
  TRY(request(call));
  return {};
}

}  // namespace stacksnap::docker
