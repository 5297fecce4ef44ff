#include "repo/repo.h"

#include <fcntl.h>

#include <sys/stat.h>

#include <array>
#include <vector>

#include "base/base64.h"
#include "base/fd.h"
#include "base/stream.h"
#include "catalog/record_json.h"
#include "seal/crypto.h"
#include "seal/stream.h"
#include "storage/local/local_target.h"
#include "storage/s3/credentials.h"
#include "storage/s3/s3_target.h"

namespace stacksnap::repo {

using Json = nlohmann::json;

namespace {
std::string backup_base(const std::string& backup_id, const std::string& project_dir) {
  return project_dir.empty() ? kBackupsPrefix + backup_id : kBackupsPrefix + project_dir + "/" + backup_id;
}
}  // namespace

std::string blob_key(const std::string& backup_id, const std::string& project_dir) {
  return backup_base(backup_id, project_dir) + ".stsnap";
}
std::string sidecar_key(const std::string& backup_id, const std::string& project_dir) {
  return backup_base(backup_id, project_dir) + ".json";
}

std::string spool_dir(const std::string& data_dir) { return data_dir + "/spool"; }

bool readable_names(const catalog::TargetRecord& rec) {
  const auto it = rec.config.find("readable_names");
  return it != rec.config.end() && it->is_boolean() && it->get<bool>();
}

bool stores_repository(const catalog::TargetRecord& rec) {
  return rec.config.is_object() && rec.config.value("format", "") == "repository";
}

Result<std::unique_ptr<storage::Target>> open_target(const catalog::TargetRecord& rec) {
  const Json& c = rec.config;
  try {
    if (rec.kind == "local") {
      auto t = TRY_CTX(storage::LocalTarget::create(c.at("path").get<std::string>()), "target " + rec.name);
      return std::unique_ptr<storage::Target>(std::move(t));
    }
    if (rec.kind == "s3") {
      storage::s3::S3Config cfg;
      cfg.endpoint = c.value("endpoint", "");
      cfg.bucket = c.at("bucket").get<std::string>();
      cfg.prefix = c.value("prefix", "");
      std::string addressing = c.value("addressing", "auto");
      cfg.addressing = addressing == "path"      ? storage::s3::AddressingStyle::kPath
                       : addressing == "virtual" ? storage::s3::AddressingStyle::kVirtualHosted
                                                 : storage::s3::AddressingStyle::kAuto;
      cfg.ca_file = c.value("ca_file", "");
      if (c.contains("part_size")) cfg.part_size = c["part_size"].get<uint64_t>();
      if (c.contains("parallel_parts")) cfg.parallel_parts = c["parallel_parts"].get<int>();
      if (c.contains("multipart_threshold")) cfg.multipart_threshold = c["multipart_threshold"].get<uint64_t>();
      storage::s3::CredentialFlags flags;
      flags.access_key = c.value("access_key", "");
      flags.access_key_file = c.value("access_key_file", "");
      flags.secret_key_file = c.value("secret_key_file", "");
      flags.session_token_file = c.value("session_token_file", "");
      flags.region = c.value("region", "");
      auto creds = TRY_CTX(storage::s3::resolve_credentials(flags), "target " + rec.name);
      cfg.access_key = creds.access_key;
      cfg.secret_key = creds.secret_key;
      cfg.session_token = creds.session_token;
      cfg.region = creds.region;
      auto t = TRY_CTX(storage::s3::S3Target::create(std::move(cfg)), "target " + rec.name);
      return std::unique_ptr<storage::Target>(std::move(t));
    }
  } catch (const std::exception& e) {
    return invalid_argument("target " + rec.name + ": bad configuration: " + e.what());
  }
  return invalid_argument("target " + rec.name + ": unknown kind \"" + rec.kind + "\"");
}

Result<std::string> make_sidecar(const catalog::BackupRecord& b, const catalog::CopyRecord& copy,
                                 const seal::MasterKey& key) {
  std::string plain = catalog::to_json(b, {.copies = false}).dump();
  StringWriter sealed;
  auto sw = TRY(seal::SealWriter::create(sealed, key));
  TRY(sw->write(as_bytes(plain)));
  TRY(sw->close());
  Json j = {{"format", "stacksnap.sidecar/v1"},
            {"archive_format", 1},
            {"id", b.id},
            {"blob", copy.key},
            {"size", copy.size},
            {"sha256", copy.sha256},
            {"created", b.created_at},
            {"meta", base64_encode(sealed.str())}};
  return j.dump(2) + "\n";
}

Result<Sidecar> parse_sidecar(std::string_view text) {
  try {
    Json j = Json::parse(text);
    if (j.value("format", "") != "stacksnap.sidecar/v1") return data_loss("not a StackSnap sidecar (format)");
    Sidecar s;
    s.id = j.at("id").get<std::string>();
    s.blob = j.at("blob").get<std::string>();
    s.size = j.at("size").get<uint64_t>();
    s.sha256 = j.at("sha256").get<std::string>();
    s.created = j.value("created", int64_t{0});
    s.sealed_meta = j.at("meta").get<std::string>();
    return s;
  } catch (const std::exception& e) {
    return data_loss(std::string("sidecar is malformed: ") + e.what());
  }
}

Result<catalog::BackupRecord> open_sidecar_meta(const Sidecar& s, const seal::KeySource& keys) {
  auto decoded = base64_decode(s.sealed_meta);
  if (!decoded.ok()) return data_loss("sidecar " + s.id + ": sealed metadata is not valid base64");
  std::string sealed = std::move(*decoded);
  MemoryReader in(sealed);
  auto sr = TRY_CTX(seal::SealReader::open(in, keys), "sidecar " + s.id);
  std::string plain = TRY_CTX(read_all(*sr, 16 << 20), "sidecar " + s.id);
  Json j;
  try {
    j = Json::parse(plain);
  } catch (const std::exception&) {
    return data_loss("sidecar " + s.id + ": metadata is not JSON");
  }
  auto rec = TRY(catalog::backup_from_json(j));
  if (rec.id != s.id) return data_loss("sidecar " + s.id + ": sealed metadata names another backup (" + rec.id + ")");
  return rec;
}

}  // namespace stacksnap::repo
