#include "catalog/record_json.h"

namespace stacksnap::catalog {

namespace {

Json optional_time(const std::optional<int64_t>& t) { return t ? Json(*t) : Json(nullptr); }

}  // namespace

Json to_json(const CopyRecord& c) {
  return {{"target", c.target},
          {"key", c.key},
          {"size", c.size},
          {"sha256", c.sha256},
          {"uploaded_at", c.uploaded_at},
          {"verify_state", std::string(copy_state_name(c.verify_state))},
          {"verified_at", c.verified_at > 0 ? Json(c.verified_at) : Json(nullptr)},
          {"verify_detail", c.verify_detail}};
}

Json to_json(const JobRecord& r) {
  return Json{{"id", r.id},
              {"kind", r.kind},
              {"project", r.project},
              {"backup_id", r.backup_id},
              {"state", std::string(job_state_name(r.state))},
              {"created_at", r.created_at},
              {"started_at", r.started_at},
              {"finished_at", r.finished_at},
              {"error_code", r.error_code},
              {"error", r.error},
              {"summary", r.summary},
              {"params", r.params}};
}

Json to_json(const BackupRecord& b, BackupJsonOptions opts) {
  Json j{{"id", b.id},
         {"project", b.project},
         {"created_at", b.created_at},
         {"plaintext_bytes", b.plaintext_bytes},
         {"stored_bytes", b.stored_bytes},
         {"sha256", b.sha256},
         {"duration_ms", b.duration_ms},
         {"verified_at", optional_time(b.verified_at)},
         {"verify_result", b.verify_result},
         {"drill_at", optional_time(b.drill_at)},
         {"drill_result", b.drill_result}};
  if (opts.copies) {
    Json copies = Json::array();
    for (const auto& c : b.copies) copies.push_back(to_json(c));
    j["copies"] = std::move(copies);
  }
  if (opts.details) {
    j["summary"] = b.summary.is_null() ? Json::object() : b.summary;
    j["drill_details"] = b.drill_details;
  }
  return j;
}

Result<BackupRecord> backup_from_json(const Json& j) {
  const char* field = "id";
  try {
    BackupRecord b;
    b.id = j.at(field).get<std::string>();
    field = "project";
    b.project = j.at(field).get<std::string>();
    field = "created_at";
    b.created_at = j.at(field).get<int64_t>();
    field = "stored_bytes";
    b.stored_bytes = j.at(field).get<uint64_t>();
    field = "sha256";
    b.sha256 = j.at(field).get<std::string>();
    field = "plaintext_bytes";
    b.plaintext_bytes = j.value(field, uint64_t{0});
    field = "duration_ms";
    b.duration_ms = j.value(field, int64_t{0});
    field = "summary";
    if (j.contains(field) && j[field].is_object()) b.summary = j[field];
    else b.summary = Json::object();
    if (j.contains("verified_at") && j["verified_at"].is_number_integer()) b.verified_at = j["verified_at"].get<int64_t>();
    field = "verify_result";
    b.verify_result = j.value(field, std::string());
    return b;
  } catch (const std::exception& e) {
    return data_loss(std::string("backup record: field ") + field + " is missing or malformed (" + e.what() + ")");
  }
}

}  // namespace stacksnap::catalog
