#include "restore/helper.h"

#include <array>
#include <vector>

#include "archive/tar_io.h"
#include "restore/apply.h"
#include "seal/crypto.h"

namespace stacksnap::restore {

Result<std::unique_ptr<docker::HelperContainer>> mount_helper(docker::Client& docker, const std::string& project,
                                                              const std::string& image, docker::MountSpec::Type type,
                                                              const std::vector<std::string>& sources,
                                                              const std::string& root, MountMode mode) {
  std::array<uint8_t, 4> tag{};
  (void)seal::random_bytes(MutableBytes(reinterpret_cast<std::byte*>(tag.data()), tag.size()));
  docker::HelperSpec spec{.image = image, .purpose = "restore", .name = "stacksnap-restore-" + project + "-" + seal::hex_encode(tag)};
  for (size_t i = 0; i < sources.size(); ++i) {
    spec.mounts.push_back({.type = type,
                           .source = sources[i],
                           .target = root + "/" + std::to_string(i),
                           .read_only = mode == MountMode::kReadOnly,
                           .no_copy = type == docker::MountSpec::Type::kVolume});
  }
  return TRY_CTX(docker::HelperContainer::create(docker, spec), "create a restore helper container from " + image);
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
