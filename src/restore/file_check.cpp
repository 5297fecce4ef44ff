#include "restore/file_check.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <functional>

#include "archive/reader.h"
#include "base/fd.h"
#include "restore/helper.h"
#include "seal/crypto.h"

namespace stacksnap::restore {

namespace {

constexpr const char* kBindCheckRoot = "/stacksnap-check";

std::string octal(uint32_t mode) {
  char b[8];
  std::snprintf(b, sizeof b, "%04o", mode & 07777);
  return b;
}

// The archive's facts of every regular file under `archive_dir`: one more pass over the
// (authenticated) archive, only when a tree differs.
Result<FileMap> archive_files(const archive::SourceOpener& open, const std::string& archive_dir) {
  auto reader = TRY(open());
  const std::string prefix = archive_dir + "/";
  FileMap out;
  for (;;) {
    const archive::Entry* e = TRY(reader->next());
    if (e == nullptr) break;
    const auto& m = e->meta;
    if (m.type != archive::EntryType::kFile || e->is_stream) continue;
    std::string rel;
    if (m.path == archive_dir) rel = "";
    else if (m.path.compare(0, prefix.size(), prefix) == 0) rel = m.path.substr(prefix.size());
    else continue;
    out[rel] = {TRY(reader->file_sha256()), m.size, m.mode & 07777, m.uid, m.gid};
  }
  return out;
}

// A bind mount that is a single file: hashed where it lies.
Result<TreeDigest> host_file_digest(const std::string& path, FileMap* files) {
  auto fd = TRY(open_file(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path, errno);
  FdReader in(fd.get(), path);
  seal::Sha256 h;
  std::vector<std::byte> buf(kCopyBuffer);
  for (;;) {
    size_t n = TRY(in.read(buf));
    if (n == 0) break;
    h.update(Bytes(buf.data(), n));
  }
  const std::string sha = seal::hex_encode(h.finish());
  TreeDigest d;
  const auto size = static_cast<uint64_t>(st.st_size);
  d.add("", sha, size, st.st_mode, st.st_uid, st.st_gid);
  if (files) (*files)[""] = {sha, size, st.st_mode & 07777, st.st_uid, st.st_gid};
  return d;
}

struct Tree {
  std::string what;         // "volume shop_appdata" / "bind /srv/x"
  std::string archive_dir;  // "volumes/shop_appdata" / "binds/2"
  TreeDigest want, got;
  // Reads the restored tree again, file by file.
  std::function<Result<FileMap>()> restored_files;
};

}  // namespace

std::vector<std::string> describe_file_differences(const FileMap& archive, const FileMap& restored, size_t limit) {
  std::vector<std::string> out;
  size_t total = 0;
  auto add = [&](std::string line) {
    if (++total <= limit) out.push_back(std::move(line));
  };
  auto name = [](const std::string& rel) { return rel.empty() ? std::string("(the file itself)") : rel; };
  for (const auto& [path, want] : archive) {
    auto it = restored.find(path);
    if (it == restored.end()) {
      add(name(path) + ": missing");
      continue;
    }
    const FileFacts& got = it->second;
    if (got.sha256 != want.sha256 || got.size != want.size) {
      add(name(path) + ": content differs (sha256 " + got.sha256.substr(0, 12) + "…, archive " +
          want.sha256.substr(0, 12) + "…)");
    }
    if (got.mode != want.mode) add(name(path) + ": mode " + octal(got.mode) + ", archive " + octal(want.mode));
    if (got.uid != want.uid || got.gid != want.gid) {
      add(name(path) + ": owner " + std::to_string(got.uid) + ":" + std::to_string(got.gid) + ", archive " +
          std::to_string(want.uid) + ":" + std::to_string(want.gid));
    }
  }
  for (const auto& [path, facts] : restored) {
    if (!archive.count(path)) add(name(path) + ": not in the archive");
  }
  if (total > limit) out.push_back("… and " + std::to_string(total - limit) + " more difference(s)");
  return out;
}

namespace {

// The volumes as the apply read them back; their files, when needed, through a helper.
std::vector<Tree> volume_trees(docker::Client& docker, const Placement& placement, const ApplySummary& sum,
                               const std::string& helper_image, job::Context& ctx) {
  std::vector<Tree> trees;
  for (size_t i = 0; i < placement.volumes.size(); ++i) {
    const auto& v = placement.volumes[i];
    auto want = sum.volume_digests.find(v.name);
    auto got = sum.volume_readback.find(v.name);
    trees.push_back({"volume " + v.name, v.archive_dir, want == sum.volume_digests.end() ? TreeDigest{} : want->second,
                     got == sum.volume_readback.end() ? TreeDigest{} : got->second, nullptr});
    trees.back().restored_files = [&docker, &placement, &helper_image, &ctx, i]() -> Result<FileMap> {
      auto h = TRY(mount_helper(docker, placement.project, helper_image, docker::MountSpec::Type::kVolume,
                                {placement.volumes[i].name}, kBindCheckRoot, MountMode::kReadOnly));
      FileMap files;
      TRY(read_back(docker, h->id(), std::string(kBindCheckRoot) + "/0", ctx.stop(), &files));
      return files;
    };
  }
  return trees;
}

// The bind mounts read back now: directories through one helper (`helper`, kept for
// naming differences later), single files hashed here. Each one's facts go into out.binds.
Result<std::vector<Tree>> bind_trees(docker::Client& docker, const Placement& placement, const ApplySummary& sum,
                                     const std::string& helper_image, job::Context& ctx,
                                     std::unique_ptr<docker::HelperContainer>& helper, FileCheck& out) {
  std::vector<const BindTarget*> dirs;
  std::vector<std::string> sources;
  for (const auto& b : placement.binds) {
    struct stat st {};
    if (::lstat(b.host_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      dirs.push_back(&b);
      sources.push_back(b.host_path);
    }
  }
  if (!sources.empty()) {
    helper = TRY(mount_helper(docker, placement.project, helper_image, docker::MountSpec::Type::kBind, sources,
                              kBindCheckRoot, MountMode::kReadOnly));
  }
  std::vector<Tree> trees;
  for (const auto& b : placement.binds) {
    auto want = sum.bind_digests.find(b.index);
    Tree t{"bind " + b.host_path, b.archive_dir, want == sum.bind_digests.end() ? TreeDigest{} : want->second, {},
           nullptr};
    size_t slot = 0;
    while (slot < dirs.size() && dirs[slot] != &b) ++slot;
    if (slot < dirs.size()) {
      const std::string path = std::string(kBindCheckRoot) + "/" + std::to_string(slot);
      t.got = TRY_CTX(read_back(docker, helper->id(), path, ctx.stop()), "read back bind mount " + b.host_path);
      t.restored_files = [&docker, &helper, &ctx, path]() -> Result<FileMap> {
        FileMap files;
        TRY(read_back(docker, helper->id(), path, ctx.stop(), &files));
        return files;
      };
    } else {
      const std::string host = b.host_path;
      auto d = host_file_digest(host, nullptr);
      if (d.ok()) t.got = *d;
      t.restored_files = [host]() -> Result<FileMap> {
        FileMap files;
        auto read = host_file_digest(host, &files);
        if (!read.ok() && read.error().code() != Code::kNotFound) return std::move(read).error();
        return files;
      };
    }
    out.binds.push_back({{"index", b.index}, {"host_path", b.host_path}, {"files", t.got.files},
                         {"digest", t.got.hex()}, {"matches", t.got == t.want}});
    trees.push_back(std::move(t));
  }
  return trees;
}

// A tree whose digest differs: its differences file by file, as problems.
void name_differences(const Tree& t, const archive::SourceOpener& open, FileCheck& out,
                      job::Context& ctx) {
  ctx.warn(t.what + ": the restored files differ from the archive; naming them", "check-files");
  auto archive = archive_files(open, t.archive_dir);
  auto restored = t.restored_files();
  if (!archive.ok() || !restored.ok()) {
    out.problems.push_back(t.what + ": " + std::to_string(t.got.files) + " files restored, the archive has " +
                           std::to_string(t.want.files) + " (digests differ)");
    return;
  }
  auto lines = describe_file_differences(*archive, *restored, kNamedDifferencesPerTree);
  if (lines.empty()) lines.push_back("the digests differ, every file compares equal");  // cannot happen
  for (auto& line : lines) out.problems.push_back(t.what + ": " + line);
}

}  // namespace

Result<FileCheck> check_restored_files(docker::Client& docker, const Placement& placement, const ApplySummary& sum,
                                       const archive::SourceOpener& open,
                                       const std::string& helper_image, job::Context& ctx) {
  FileCheck out;
  std::unique_ptr<docker::HelperContainer> helper;  // the bind mounts' read-back
  std::vector<Tree> trees = volume_trees(docker, placement, sum, helper_image, ctx);
  for (auto& t : TRY(bind_trees(docker, placement, sum, helper_image, ctx, helper, out))) trees.push_back(std::move(t));
  for (const auto& t : trees) {
    if (t.got != t.want) name_differences(t, open, out, ctx);
  }
  if (helper) TRY_CTX(helper->remove(), "remove the check helper container");
  return out;
}

}  // namespace stacksnap::restore
