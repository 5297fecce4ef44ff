// Client: networks (what a failed copy restore or a drill created is removed by label).
#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "docker/client_internal.h"
#include "docker/parse.h"

namespace stacksnap::docker {

using nlohmann::json;

namespace {

NetworkSummary to_summary(const json& n) {
  NetworkSummary s{.id = n.value("Id", ""), .name = n.value("Name", ""), .driver = n.value("Driver", "")};
  if (n.contains("Labels") && n["Labels"].is_object()) {
    for (const auto& [k, v] : n["Labels"].items()) {
      if (v.is_string()) s.labels[k] = v.get<std::string>();
    }
  }
  return s;
}

}  // namespace

Result<std::vector<NetworkSummary>> EngineClient::list_networks(const std::vector<std::string>& label_filters) {
  Call call{.method = "GET", .path = "/networks", .op = "list networks"};
  if (!label_filters.empty()) call.query.emplace_back("filters", encode_filters({{"label", label_filters}}));
  auto ex = TRY(open(call));
  auto j = TRY(read_json(*ex, call.op));
  std::vector<NetworkSummary> out;
  if (!j.is_array()) return out;
  for (const auto& n : j) {
    if (n.is_object()) out.push_back(to_summary(n));
  }
  return out;
}

Result<NetworkSummary> EngineClient::inspect_network(std::string_view name) {
  Call call{.method = "GET", .path = "/networks/" + path_arg(name), .op = "inspect network " + std::string(name)};
  auto ex = TRY(open(call));
  auto j = TRY(read_json(*ex, call.op));
  if (!j.is_object()) return internal_error(call.op + ": not a JSON object");
  return to_summary(j);
}

Result<std::string> EngineClient::create_network(const CreateNetworkOptions& options) {
  json body = {{"Name", options.name}, {"CheckDuplicate", true}, {"Labels", options.labels}};
  if (!options.driver.empty()) body["Driver"] = options.driver;
  Call call{.method = "POST", .path = "/networks/create", .json_body = body.dump(),
            .op = "create network " + options.name};
  auto ex = TRY(open(call));
  auto j = TRY(read_json(*ex, call.op));
  return j.is_object() ? j.value("Id", std::string()) : std::string();
}

Status EngineClient::remove_network(std::string_view id) {
  Call call{.method = "DELETE", .path = "/networks/" + path_arg(id), .op = "remove network " + std::string(id)};
  TRY(request(call));
  return {};
}

}  // namespace stacksnap::docker
