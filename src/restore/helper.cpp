#include "restore/helper.h"

#include <unistd.h>

#include <array>
#include <vector>

#include "archive/tar_io.h"
#include "backup/capture.h"
#include "restore/apply.h"
#include "seal/crypto.h"

namespace stacksnap::restore {

Result<std::unique_ptr<Helper>> Helper::create(docker::Client& docker, const std::string& project,
                                               const std::string& image, docker::MountSpec::Type type,
                                               const std::vector<std::string>& sources, const std::string& root,
                                               bool read_only) {
  std::array<uint8_t, 4> tag{};
  (void)seal::random_bytes(MutableBytes(reinterpret_cast<std::byte*>(tag.data()), tag.size()));
  docker::CreateContainerOptions o;
  o.name = "stacksnap-restore-" + project + "-" + seal::hex_encode(tag);
  o.image = image;
  o.cmd = {"/stacksnap-helper-never-started"};
  o.entrypoint = std::vector<std::string>{};
  o.labels = {{backup::kHelperLabel, "restore"}, {backup::kHelperPidLabel, std::to_string(::getpid())}};
  o.network_mode = "none";
  for (size_t i = 0; i < sources.size(); ++i) {
    o.mounts.push_back({.type = type,
                        .source = sources[i],
                        .target = root + "/" + std::to_string(i),
                        .read_only = read_only,
                        .no_copy = type == docker::MountSpec::Type::kVolume});
  }
  auto id = TRY_CTX(docker.create_container(o), "create a restore helper container from " + image);
  return std::unique_ptr<Helper>(new Helper(docker, std::move(id)));
}

Helper::~Helper() {
  if (!removed_) (void)docker_.remove_container(id_, {.force = true});
}

Status Helper::remove() {
  auto st = docker_.remove_container(id_, {.force = true});
  if (st.ok()) removed_ = true;
  return st;
}

Result<TreeDigest> read_back(docker::Client& docker, const std::string& container, const std::string& path,
                             const StopToken& stop, FileMap* files) {
  auto stream = TRY(docker.open_archive(container, path + "/.", stop));
  auto tar = TRY(archive::TarReader::open(*stream));
  TreeDigest d;
  archive::EntryMeta m;
  std::vector<std::byte> buf(kCopyBuffer);
  for (;;) {
    bool more = TRY(tar->next(m));
    if (!more) break;
    if (m.type != archive::EntryType::kFile) continue;
    auto rel = archive::normalize_archive_path(m.path);
    if (!rel.ok()) return data_loss("read back " + path + ": odd path " + m.path);
    archive::TarEntryReader content(*tar, m.size);
    seal::Sha256 h;
    for (;;) {
      size_t n = TRY(content.read(buf));
      if (n == 0) break;
      h.update(Bytes(buf.data(), n));
    }
    const std::string sha = seal::hex_encode(h.finish());
    d.add(*rel, sha, m.size, m.mode, m.uid, m.gid);
    if (files) (*files)[*rel] = {sha, m.size, m.mode & 07777, m.uid, m.gid};
  }
  return d;
}

}  // namespace stacksnap::restore
