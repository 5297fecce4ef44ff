// stacksnap verify FILE [--shallow]          authenticate + check every entry (deep), or size + SHA-256
// stacksnap extract FILE --out DIR [--stream] decrypt and unpack offline (no Docker, no catalog)
// stacksnap inspect FILE [--entries]         the header; with the key, the plan and the manifest
// stacksnap pack DIR --out FILE               (hidden) archive a directory: tests and benchmarks
// stacksnap snapshot DIR --repo REPO          (hidden) pack DIR into a spool, store it as a v2 snapshot
// stacksnap snapshot-restore REPO ID --out DIR (hidden) restore a snapshot as a restore reads it
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include "archive/extract.h"
#include "archive/fs_source.h"
#include "archive/reader.h"
#include "archive/verify.h"
#include "archive/writer.h"
#include "base/clock.h"
#include "base/fd.h"
#include "cli/globals.h"
#include "repo/repo.h"
#include "repo/snapshot.h"
#include "seal/key.h"
#include "seal/passphrase.h"

namespace stacksnap::cli {

namespace {

struct KeyArgs {
  std::string key_file;
};

enum class KeyUse { kRead, kSeal };

Result<seal::KeySource> resolve_keys(const Globals& g, const KeyArgs& k, KeyUse use = KeyUse::kRead) {
  seal::KeyFlags f{.key_file = k.key_file, .data_dir = g.data_dir, .check_record = use == KeyUse::kSeal};
  f.prompt = [](std::string_view prompt) { return seal::prompt_passphrase(prompt); };
  return seal::resolve_key_source(f);
}

class StdoutWriter final : public Writer {
 public:
  Status write(Bytes data) override {
    std::cout.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    return std::cout ? Status{} : unavailable("write to stdout failed");
  }
};

// ---- verify -----------------------------------------------------------------------

struct VerifyArgs {
  std::string file;
  bool shallow = false;
  std::string expect_sha256;
  int64_t expect_size = -1;
  KeyArgs key;
};

Outcome run_verify(const Globals& g, const VerifyArgs& a) {
  // Not a file but a backup ID from the catalog: verify the stored copy.
  if (::access(a.file.c_str(), F_OK) != 0 && a.file.find('/') == std::string::npos &&
      ::access((g.data_dir + "/state.db").c_str(), F_OK) == 0) {
    return verify_backup_id(g, a.file, a.shallow, a.key.key_file);
  }
  archive::VerifyOptions o;
  o.depth = a.shallow ? archive::VerifyDepth::kShallow : archive::VerifyDepth::kDeep;
  if (!a.expect_sha256.empty()) o.expected_sha256 = a.expect_sha256;
  if (a.expect_size >= 0) o.expected_size = static_cast<uint64_t>(a.expect_size);
  std::optional<seal::KeySource> keys;
  if (!a.shallow) keys.emplace(TRY(resolve_keys(g, a.key)));
  archive::VerifyReport rep;
  StringWriter text;
  TRY(archive::verify_archive_file(a.file, keys ? &*keys : nullptr, text, o, &rep));
  if (g.json) {
    nlohmann::json j = {{"file", a.file},         {"ok", true},
                        {"deep", rep.deep},        {"size", rep.sealed_bytes},
                        {"sha256", rep.sealed_sha256}, {"segments", rep.segments}};
    if (rep.deep) {
      j["key_fingerprint"] = rep.key_fingerprint;
      j["entries"] = rep.entries;
      j["files"] = rep.files;
      j["bytes"] = rep.content_bytes;
      j["manifest"] = rep.manifest.head_json();
    }
    std::cout << j.dump() << "\n";
  } else {
    std::cout << text.str();
  }
  return {};
}

// ---- extract ----------------------------------------------------------------------

struct ExtractArgs {
  std::string file, out;
  bool stream = false;
  KeyArgs key;
};

Status run_extract(const Globals& g, const ExtractArgs& a) {
  auto keys = TRY(resolve_keys(g, a.key));
  archive::ExtractOptions o;
  o.mode = a.stream ? archive::ExtractMode::kStream : archive::ExtractMode::kVerifyFirst;
  o.restore_owner = ::geteuid() == 0;
  Result<archive::ExtractSummary> sum = internal_error("unreached");
  if (a.file == "-") {
    if (!a.stream) return invalid_argument("reading the archive from stdin needs --stream");
    FdReader in(STDIN_FILENO, "stdin");
    sum = archive::extract_archive_stream(in, keys, a.out, o);
  } else {
    sum = archive::extract_archive_file(a.file, keys, a.out, o);
  }
  if (!sum.ok()) {
    if (a.stream) {
      std::cerr << "stacksnap: extraction failed part-way; " << a.out << " holds only what was written before\n";
    }
    return std::move(sum).error().with_context("extract " + a.file);
  }
  for (const auto& w : sum->warnings) std::cerr << "warning: " << w << "\n";
  if (g.json) {
    std::cout << nlohmann::json{{"out", a.out}, {"entries", sum->entries}, {"files", sum->files},
                                {"bytes", sum->bytes}, {"warnings", sum->warnings}}
                     .dump()
              << "\n";
  } else {
    std::cout << "extracted " << sum->entries << " entries (" << sum->files << " files, "
              << human_bytes(sum->bytes) << ") into " << a.out << "\n";
  }
  return {};
}

// ---- inspect ----------------------------------------------------------------------

struct InspectArgs {
  std::string file;
  bool entries = false;
  KeyArgs key;
};

Status run_inspect(const Globals& g, const InspectArgs& a) {
  auto fd = TRY(open_file(a.file, O_RDONLY));
  FdReader in(fd.get(), a.file);
  seal::HeaderBytes raw{};
  seal::Header h = TRY_CTX(seal::read_header(in, &raw), a.file);
  std::cout << "archive  " << a.file << "\n"
            << "header   " << archive::describe_header(h) << "\n";
  auto keys = resolve_keys(g, a.key);
  if (!keys.ok()) {
    std::cout << "(no key: " << keys.error().message() << "; the plan and manifest are sealed)\n";
    return {};
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return errno_error("seek " + a.file, errno);
  auto reader = TRY_CTX(archive::ArchiveReader::open(in, *keys), a.file);
  std::cout << "key      " << reader->key_fingerprint() << "\n"
            << "plan     " << reader->plan().dump(2) << "\n";
  if (a.entries) std::cout << "entries\n";
  for (;;) {
    const archive::Entry* e = TRY_CTX(reader->next(), a.file);
    if (e == nullptr) break;
    if (a.entries) {
      std::cout << "  " << archive::entry_type_name(e->meta.type) << "\t" << e->meta.size << "\t" << e->meta.path
                << (e->meta.link.empty() ? "" : " -> " + e->meta.link) << (e->is_stream ? "\t(stream)" : "") << "\n";
    }
  }
  std::cout << "manifest " << reader->manifest().head_json().dump(2) << "\n";
  (void)g;
  return {};
}

// ---- pack (hidden) ----------------------------------------------------------------

struct PackArgs {
  std::string dir, out, prefix = "binds/0";
  int level = codec::kDefaultZstdLevel, threads = 0;
  bool force = false;
  KeyArgs key;
};

Status run_pack(const Globals& g, const PackArgs& a) {
  auto keys = TRY(resolve_keys(g, a.key, KeyUse::kSeal));
  const seal::MasterKey* key = TRY(keys.key_for_writing());
  if (!a.force && std::filesystem::exists(a.out)) return already_exists(a.out + " exists (use --force)");
  const std::string tmp = a.out + ".partial";
  auto fd = TRY(open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  auto cleanup = [&] { ::unlink(tmp.c_str()); };
  FdWriter out(fd.get(), tmp);
  auto run = [&]() -> Result<archive::WriteSummary> {
    auto w = TRY(archive::ArchiveWriter::create(out, *key, {.zstd_level = a.level, .zstd_threads = a.threads}));
    SystemClock clock;
    TRY(w->add_plan({{"tool", "stacksnap pack"},
                     {"source", std::filesystem::absolute(a.dir).string()},
                     {"created", format_rfc3339(clock.now())},
                     {"expect", {{"trees", {a.prefix}}}}}));
    (void)TRY(archive::add_directory_tree(*w, a.dir, a.prefix));
    return w->finish();
  };
  auto sum = run();
  if (!sum.ok()) {
    cleanup();
    return std::move(sum).error().with_context("pack " + a.dir);
  }
  if (::fsync(fd.get()) != 0) {
    cleanup();
    return errno_error("fsync " + tmp, errno);
  }
  TRY(fd.close());
  if (::rename(tmp.c_str(), a.out.c_str()) != 0) {
    cleanup();
    return errno_error("rename " + tmp, errno);
  }
  std::string name = std::filesystem::path(a.out).filename().string();
  TRY(write_file_atomic(a.out + ".sha256", archive::sha256_sidecar_line(sum->sealed_sha256, name), 0644));
  std::cout << "packed " << sum->entries << " entries (" << human_bytes(sum->content_bytes) << " in "
            << sum->files << " files) into " << a.out << ": " << human_bytes(sum->sealed_bytes) << ", sha256 "
            << sum->sealed_sha256 << ", key " << sum->key_fingerprint << "\n";
  (void)g;
  return {};
}

// ---- snapshot / snapshot-restore (hidden) ------------------------------------------
// The v2 path of a backup and a restore on a local repository, for tests and benchmarks:
// DIR packed as `pack` does into an unnamed spool, ingested as a snapshot (under a shared
// lock, as the backup takes it); a snapshot exported to an unnamed file and extracted.

struct SnapshotArgs {
  std::string dir, repo, id, out;
  KeyArgs key;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Result<std::unique_ptr<storage::Target>> local_repo_target(const std::string& repo_dir) {
  return repo::open_target(
      catalog::TargetRecord{.name = "bench", .kind = "local", .config = {{"path", std::filesystem::absolute(repo_dir).string()}}});
}

// As a backup to a repository target stores a tree (backup/pipeline.cpp): the repository
// opened for a backup, the newest snapshot of "bench" as the files cache, the directory
// read into a SnapshotSink, the new packs read back, the commit under the lock.
Status run_snapshot(const Globals& g, const SnapshotArgs& a) {
  auto keys = TRY(resolve_keys(g, a.key, KeyUse::kSeal));
  const seal::MasterKey* key = TRY(keys.key_for_writing());
  const auto t0 = std::chrono::steady_clock::now();
  auto target = TRY(local_repo_target(a.repo));
  auto session = TRY(repo::open_for_backup(*target, *key, {.owner = "snapshot " + a.dir}, {}));
  std::optional<chunks::SnapshotInfo> parent;
  {
    auto all = TRY(session.repository->snapshots());
    int64_t newest = -1;
    for (auto& snap : all) {
      if (snap.doc.value("project", "") != "bench" || snap.doc.value("created", int64_t{0}) < newest) continue;
      newest = snap.doc.value("created", int64_t{0});
      parent = std::move(snap);
    }
  }
  const std::string spool = repo::spool_dir(g.data_dir);  // as a backup puts its packs together
  ::mkdir(spool.c_str(), 0700);
  auto sink = TRY(repo::SnapshotSink::create(*session.repository, std::move(parent), {}, {.spool_dir = spool}));
  const std::string created = format_rfc3339(SystemClock().now());
  TRY(sink->add_plan({{"tool", "stacksnap snapshot"},
                      {"source", std::filesystem::absolute(a.dir).string()},
                      {"created", created},
                      {"expect", {{"trees", {"binds/0"}}}}}));
  auto tree = TRY_CTX(archive::add_directory_tree(*sink, a.dir, "binds/0"), "read " + a.dir);
  TRY(sink->verify_uploaded());
  nlohmann::json doc = {{"backup_id", "snapshot"}, {"project", "bench"}, {"created", unix_seconds(SystemClock().now())}};
  auto snap = TRY(sink->commit(std::move(doc), created, [&] { return session.still_locked(); }));
  const auto& stats = sink->stats();
  nlohmann::json j = {{"seconds", seconds_since(t0)},          {"uploaded_bytes", stats.uploaded_bytes},
                      {"new_bytes", stats.new_bytes},          {"content_bytes", stats.content_bytes},
                      {"files", stats.files},                  {"unchanged_files", tree.unchanged_files},
                      {"unchanged_bytes", tree.unchanged_bytes}, {"snapshot", snap.id}};
  std::cout << (g.json ? j.dump() : j.dump(2)) << "\n";
  return {};
}

// As a restore reads a snapshot (restore.cpp, repo/verify_stored.cpp): opened in place
// under a shared lock, every chunk authenticated first (nothing is written before), then
// the entries written out.
Status run_snapshot_restore(const Globals& g, const SnapshotArgs& a) {
  auto keys = TRY(resolve_keys(g, a.key));
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<storage::Target> target = TRY(local_repo_target(a.repo));
  auto run = [&]() -> Result<archive::ExtractSummary> {
    auto snap = TRY_CTX(repo::OpenSnapshot::open(std::move(target), a.id, keys, {}), "open " + a.repo);
    TRY(snap->verify(archive::VerifyDepth::kAuthenticate, {}));
    auto src = TRY(snap->source({}));
    return archive::extract_source(*src, a.out, {.restore_owner = ::geteuid() == 0});
  };
  auto sum = run();
  if (!sum.ok()) return std::move(sum).error().with_context("restore snapshot " + a.id);
  nlohmann::json j = {{"seconds", seconds_since(t0)}, {"entries", sum->entries}, {"files", sum->files},
                      {"bytes", sum->bytes}};
  std::cout << (g.json ? j.dump() : j.dump(2)) << "\n";
  return {};
}

void add_key_option(CLI::App* cmd, KeyArgs& k) {
  cmd->add_option("--key-file", k.key_file,
                  "Key file (default: <data-dir>/key, or STACKSNAP_PASSPHRASE / <data-dir>/key.json)");
}

}  // namespace

void add_archive_commands(CLI::App& root, Globals& g) {
  auto va = std::make_shared<VerifyArgs>();
  auto* verify = root.add_subcommand("verify", "Check that an archive is complete and untampered (exit 3 if not)");
  verify->add_option("FILE_OR_ID", va->file, "Archive file, or the ID of a catalogued backup")->required();
  verify->add_flag("--shallow", va->shallow, "Only the stored size and SHA-256 (no key needed)");
  verify->add_option("--expect-sha256", va->expect_sha256, "SHA-256 the file must have (default: FILE.sha256)");
  verify->add_option("--expect-size", va->expect_size, "Size in bytes the file must have");
  add_key_option(verify, va->key);
  verify->callback([&g, va] { g.result = run_verify(g, *va); });

  auto ea = std::make_shared<ExtractArgs>();
  auto* extract = root.add_subcommand("extract", "Decrypt and unpack an archive offline (no Docker, no catalog)");
  extract->add_option("FILE", ea->file, "Archive file, or - for stdin (with --stream)")->required();
  extract->add_option("--out", ea->out, "Output directory (created; must be empty)")->required();
  extract->add_flag("--stream", ea->stream,
                    "Write while reading (one pass); default: authenticate the whole archive first");
  add_key_option(extract, ea->key);
  extract->callback([&g, ea] { g.result = run_extract(g, *ea); });

  auto ia = std::make_shared<InspectArgs>();
  auto* inspect = root.add_subcommand("inspect", "Print an archive's header and, with the key, its plan and manifest");
  inspect->add_option("FILE", ia->file, "Archive file")->required();
  inspect->add_flag("--entries", ia->entries, "List every entry");
  add_key_option(inspect, ia->key);
  inspect->callback([&g, ia] { g.result = run_inspect(g, *ia); });

  auto pa = std::make_shared<PackArgs>();
  auto* pack = root.add_subcommand("pack", "Archive a local directory (tests and benchmarks)");
  pack->group("");  // hidden
  pack->add_option("DIR", pa->dir, "Directory")->required();
  pack->add_option("--out", pa->out, "Archive file")->required();
  pack->add_option("--prefix", pa->prefix, "Archive path of DIR")->capture_default_str();
  pack->add_option("--level", pa->level, "zstd level")->capture_default_str();
  pack->add_option("--threads", pa->threads, "zstd workers (0 = one per CPU)")->capture_default_str();
  pack->add_flag("--force", pa->force, "Replace FILE");
  add_key_option(pack, pa->key);
  pack->callback([&g, pa] { g.result = run_pack(g, *pa); });

  auto sa = std::make_shared<SnapshotArgs>();
  auto* snapshot = root.add_subcommand("snapshot", "Store a local directory as a v2 snapshot (tests and benchmarks)");
  snapshot->group("");  // hidden
  snapshot->add_option("DIR", sa->dir, "Directory")->required();
  snapshot->add_option("--repo", sa->repo, "Repository directory (created when missing)")->required();
  snapshot->add_flag("--json", g.json, "One line of JSON (else indented)");
  add_key_option(snapshot, sa->key);
  snapshot->callback([&g, sa] { g.result = run_snapshot(g, *sa); });

  auto* snapshot_restore = root.add_subcommand("snapshot-restore", "Extract a v2 snapshot (tests and benchmarks)");
  snapshot_restore->group("");  // hidden
  snapshot_restore->add_option("REPO", sa->repo, "Repository directory")->required();
  snapshot_restore->add_option("SNAPSHOT_ID", sa->id, "Snapshot id")->required();
  snapshot_restore->add_option("--out", sa->out, "Output directory (created; must be empty)")->required();
  snapshot_restore->add_flag("--json", g.json, "One line of JSON (else indented)");
  add_key_option(snapshot_restore, sa->key);
  snapshot_restore->callback([&g, sa] { g.result = run_snapshot_restore(g, *sa); });
}

}  // namespace stacksnap::cli
