// Client: networks (what a failed copy restore or a drill created is removed by label).
#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "docker/client_internal.h"
#include "docker/parse.h"

namespace stacksnap::docker {

using nlohmann::json;

Result<std::vector<NetworkSummary>> Client::list_networks(const std::vector<std::string>& label_filters) {
  Call call{.method = "GET", .path = "/networks", .op = "list networks"};
  if (!label_filters.empty()) call.query.emplace_back("filters", encode_filters({{"label", label_filters}}));
  auto ex = TRY(open(call));
  auto j = TRY(read_json(*ex, call.op));
  std::vector<NetworkSummary> out;
  if (!j.is_array()) return out;
  for (const auto& n : j) {
    if (!n.is_object()) continue;
    NetworkSummary s{.id = n.value("Id", ""), .name = n.value("Name", "")};
    if (n.contains("Labels") && n["Labels"].is_object()) {
      for (const auto& [k, v] : n["Labels"].items()) {
        if (v.is_string()) s.labels[k] = v.get<std::string>();
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

Status Client::remove_network(std::string_view id) {
  Call call{.method = "DELETE", .path = "/networks/" + path_arg(id), .op = "remove network " + std::string(id)};
  TRY(request(call));
  return {};
}

}  // namespace stacksnap::docker
