#include "repo/snapshot.h"

#include <ctime>
#include <optional>

#include <thread>

#include "base/clock.h"
#include "base/pipe.h"
#include "base/text.h"
#include "chunks/lock.h"
#include "seal/crypto.h"

namespace stacksnap::repo {

namespace {

using Json = nlohmann::json;
using chunks::BlobType;
using chunks::ChunkId;

constexpr size_t kListCut = 4u << 20;       // an entry list is cut at this many bytes at the latest
constexpr uint8_t kListCutBelow = 4;        // …or after a line whose id starts below this (1 in 64)
constexpr size_t kMaxListBytes = 64u << 20; // what a reader accepts for one list
// A file's chunk ids go on its line up to this many (≈ 2.7 MiB of line); the rest follow on
// continuation lines {"continued": true, "chunks": […]}, so no line, and no list, outgrows
// what a blob may hold (a 1 TiB dump has about a million chunks).
constexpr size_t kChunksPerLine = 40000;


// Text that JSON can hold as is, else as hex under "<key>_hex".
void put_text(Json& j, const char* key, const std::string& value) {
  if (is_valid_utf8(value)) j[key] = value;
  else j[std::string(key) + "_hex"] = seal::hex_encode(as_bytes(value));
}

Result<std::string> get_text(const Json& j, const char* key) {
  if (auto it = j.find(key); it != j.end() && it->is_string()) return it->get<std::string>();
  const std::string hex_key = std::string(key) + "_hex";
  if (auto it = j.find(hex_key); it != j.end() && it->is_string()) return seal::hex_decode(it->get<std::string>());
  return std::string();
}

// Content read through the chunker, hashed on the way; a stop request ends it.
class HashingReader final : public Reader {
 public:
  HashingReader(Reader& in, const StopToken& stop) : in_(in), stop_(stop) {}
  Result<size_t> read(MutableBytes buf) override {
    TRY(check_cancel(stop_, "store the snapshot"));
    const size_t n = TRY(in_.read(buf));
    hash_.update(Bytes(buf.data(), n));
    bytes_ += n;
    return n;
  }
  std::string hex() { return seal::hex_encode(hash_.finish()); }
  uint64_t bytes() const { return bytes_; }

 private:
  Reader& in_;
  const StopToken& stop_;
  seal::Sha256 hash_;
  uint64_t bytes_ = 0;
};

Json entry_line(const archive::EntryMeta& m, bool stream) {
  Json j = Json::object();
  put_text(j, "path", m.path);
  j["type"] = std::string(archive::entry_type_name(m.type));
  j["mode"] = m.mode;
  j["uid"] = m.uid;
  j["gid"] = m.gid;
  if (!m.uname.empty()) put_text(j, "uname", m.uname);
  if (!m.gname.empty()) put_text(j, "gname", m.gname);
  j["mtime"] = m.mtime_sec;
  j["mtime_ns"] = m.mtime_nsec;
  j["size"] = m.size;
  if (!m.link.empty()) put_text(j, "link", m.link);
  if (m.type == archive::EntryType::kCharDevice || m.type == archive::EntryType::kBlockDevice) {
    j["dev"] = {m.dev_major, m.dev_minor};
  }
  if (!m.xattrs.empty()) {
    Json x = Json::array();
    for (const auto& a : m.xattrs) x.push_back({seal::hex_encode(as_bytes(a.name)), seal::hex_encode(as_bytes(a.value))});
    j["xattrs"] = std::move(x);
  }
  if (!m.sparse.empty()) {
    Json s = Json::array();
    for (const auto& r : m.sparse) s.push_back({r.offset, r.length});
    j["sparse"] = std::move(s);
  }
  if (stream) j["stream"] = true;
  return j;
}

Result<archive::EntryMeta> entry_meta(const Json& j) {
  try {
    archive::EntryMeta m;
    m.path = TRY(get_text(j, "path"));
    m.type = TRY(archive::parse_entry_type(j.at("type").get<std::string>()));
    m.mode = j.at("mode").get<uint32_t>();
    m.uid = j.at("uid").get<uint32_t>();
    m.gid = j.at("gid").get<uint32_t>();
    m.uname = TRY(get_text(j, "uname"));
    m.gname = TRY(get_text(j, "gname"));
    m.mtime_sec = j.at("mtime").get<int64_t>();
    m.mtime_nsec = j.at("mtime_ns").get<uint32_t>();
    m.size = j.at("size").get<uint64_t>();
    m.link = TRY(get_text(j, "link"));
    if (auto it = j.find("dev"); it != j.end()) {
      m.dev_major = it->at(0).get<uint32_t>();
      m.dev_minor = it->at(1).get<uint32_t>();
    }
    if (auto it = j.find("xattrs"); it != j.end()) {
      for (const auto& x : *it) {
        m.xattrs.push_back({TRY(seal::hex_decode(x.at(0).get<std::string>())),
                            TRY(seal::hex_decode(x.at(1).get<std::string>()))});
      }
    }
    if (auto it = j.find("sparse"); it != j.end()) {
      for (const auto& r : *it) m.sparse.push_back({r.at(0).get<uint64_t>(), r.at(1).get<uint64_t>()});
    }
    return m;
  } catch (const std::exception& e) {
    return data_loss(std::string("snapshot entry: ") + e.what());
  }
}

// JSON text of a document this code built (every string was checked or hex-encoded; a
// failure is a bug, reported, never a crash).
Result<std::string> dump_json(const Json& j, const std::string& what) {
  try {
    return j.dump();
  } catch (const std::exception& e) {
    return internal_error("snapshot entry " + what + ": " + e.what());
  }
}

Result<std::vector<ChunkId>> chunk_ids(const Json& j) {
  std::vector<ChunkId> ids;
  auto it = j.find("chunks");
  if (it == j.end()) return ids;
  if (!it->is_array()) return data_loss("snapshot entry: chunks is not a list");
  ids.reserve(it->size());
  for (const auto& h : *it) {
    if (!h.is_string()) return data_loss("snapshot entry: a chunk id is not text");
    ids.push_back(TRY(chunks::id_from_hex(h.get<std::string>())));
  }
  return ids;
}

// Entry lines gathered into content-defined lists.
class ListWriter {
 public:
  explicit ListWriter(chunks::SnapshotWriter& w) : w_(w) {}
  Status add(const std::string& line, const ChunkId& line_id) {
    if (!buf_.empty() && buf_.size() + line.size() + 1 > kListCut) TRY(cut());  // no list outgrows the cut
    buf_ += line;
    buf_ += '\n';
    if (line_id[0] < kListCutBelow || buf_.size() >= kListCut) return cut();
    return {};
  }
  Status cut() {
    if (buf_.empty()) return {};
    const ChunkId id = TRY(w_.add(BlobType::kTree, as_bytes(buf_)));
    ids_.push_back(chunks::to_hex(id));
    buf_.clear();
    return {};
  }
  Json ids() const { return ids_; }

 private:
  chunks::SnapshotWriter& w_;
  std::string buf_;
  Json ids_ = Json::array();
};

// Calls fn(line) for every entry line of the snapshot, in archive order.
Status for_each_line(const chunks::Repository& repo, const Json& doc, const std::function<Status(const Json&)>& fn) {
  auto it = doc.find("entries");
  if (it == doc.end() || !it->is_array()) return data_loss("snapshot without an entry list");
  for (const auto& h : *it) {
    if (!h.is_string()) return data_loss("snapshot: an entry list id is not text");
    const ChunkId id = TRY(chunks::id_from_hex(h.get<std::string>()));
    const std::string list = TRY_CTX(repo.read(BlobType::kTree, id), "entry list " + h.get<std::string>());
    if (list.size() > kMaxListBytes) return data_loss("entry list " + h.get<std::string>() + " is too long");
    size_t pos = 0;
    while (pos < list.size()) {
      const size_t end = list.find('\n', pos);
      if (end == std::string::npos) return data_loss("entry list " + h.get<std::string>() + " ends inside a line");
      auto line = Json::parse(std::string_view(list).substr(pos, end - pos), nullptr, false);
      if (line.is_discarded() || !line.is_object()) return data_loss("entry list " + h.get<std::string>() + ": a line is not JSON");
      TRY(fn(line));
      pos = end + 1;
    }
  }
  return {};
}

// A file's content from its chunks; its SHA-256 compared at the end.
class ChunksReader final : public Reader {
 public:
  ChunksReader(const chunks::Repository& repo, std::vector<ChunkId> ids, std::string sha256, std::string path,
               const StopToken& stop)
      : repo_(repo), ids_(std::move(ids)), sha256_(std::move(sha256)), path_(std::move(path)), stop_(stop) {}
  Result<size_t> read(MutableBytes buf) override {
    while (pos_ == chunk_.size()) {
      TRY(check_cancel(stop_, "read the snapshot"));
      if (next_ == ids_.size()) {
        if (!checked_) {
          checked_ = true;
          if (seal::hex_encode(hash_.finish()) != sha256_) {
            return data_loss(path_ + ": its content does not match the SHA-256 recorded when it was backed up");
          }
        }
        return size_t{0};
      }
      chunk_ = TRY_CTX(repo_.read(BlobType::kData, ids_[next_]), path_);
      ++next_;
      pos_ = 0;
      hash_.update(as_bytes(chunk_));
    }
    const size_t n = std::min(buf.size(), chunk_.size() - pos_);
    std::memcpy(buf.data(), chunk_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  const chunks::Repository& repo_;
  std::vector<ChunkId> ids_;
  std::string sha256_, path_;
  const StopToken& stop_;
  size_t next_ = 0, pos_ = 0;
  std::string chunk_;
  seal::Sha256 hash_;
  bool checked_ = false;
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(SystemTime t) : t_(t) {}
  SystemTime now() const override { return t_; }

 private:
  SystemTime t_;
};

// "2026-11-25T20:17:30Z" → time point (nullopt when it is not that shape).
std::optional<SystemTime> parse_rfc3339(const std::string& s) {
  struct tm tm {};
  char z = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &z) != 7 || z != 'Z') {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

archive::DumpInfo dump_info_from(const Json& j) {
  archive::DumpInfo d;
  d.engine = j.value("engine", "");
  d.version = j.value("version", "");
  if (auto it = j.find("databases"); it != j.end() && it->is_object()) {
    for (const auto& [db, v] : it->items()) {
      auto& tables = d.row_counts[db];
      if (auto t = v.find("tables"); t != v.end() && t->is_object()) {
        for (const auto& [name, rows] : t->items()) {
          if (rows.is_number_integer()) tables[name] = rows.get<int64_t>();
        }
      }
    }
  }
  d.extra = j;
  for (const char* k : {"engine", "version", "databases"}) d.extra.erase(k);
  return d;
}

Json without_counts(Json j) {
  if (j.is_object()) {
    j.erase("files");
    j.erase("bytes");
  }
  return j;
}

}  // namespace

std::string snapshot_key(const std::string& snapshot_id) { return "snapshots/" + snapshot_id; }

std::string snapshot_id_of_key(const std::string& key) {
  constexpr std::string_view kPrefix = "snapshots/";
  return key.starts_with(kPrefix) ? key.substr(kPrefix.size()) : std::string();
}

Json IngestStats::to_json() const {
  return {{"entries", entries},       {"files", files},         {"content_bytes", content_bytes},
          {"chunks", chunks},         {"new_chunks", new_chunks}, {"new_bytes", new_bytes},
          {"uploaded_bytes", uploaded_bytes}, {"packs", packs}};
}

Result<chunks::SnapshotInfo> ingest_archive(chunks::Repository& repo, archive::ArchiveReader& reader, Json doc,
                                            const StopToken& stop, IngestStats* stats,
                                            const std::function<Status()>& before_commit) {
  IngestStats local;
  IngestStats& s = stats ? *stats : local;
  auto writer = TRY(repo.write_snapshot());
  ListWriter lists(*writer);
  for (;;) {
    TRY(check_cancel(stop, "store the snapshot"));
    const archive::Entry* e = TRY(reader.next());
    if (e == nullptr) break;
    Json line = entry_line(e->meta, e->is_stream);
    std::vector<ChunkId> ids;
    if (e->meta.type == archive::EntryType::kFile) {
      HashingReader hashed(reader.content(), stop);
      ids = TRY_CTX(writer->add_stream(hashed), e->meta.path);
      line["sha256"] = hashed.hex();
      if (e->is_stream) line["size"] = hashed.bytes();
      ++s.files;
      s.content_bytes += hashed.bytes();
    }
    ++s.entries;
    // The line, then continuation lines for the chunk ids beyond kChunksPerLine.
    for (size_t from = 0; from == 0 || from < ids.size(); from += kChunksPerLine) {
      Json out = from == 0 ? std::move(line) : Json{{"continued", true}};
      if (e->meta.type == archive::EntryType::kFile) {
        Json list = Json::array();
        for (size_t i = from; i < std::min(ids.size(), from + kChunksPerLine); ++i) list.push_back(chunks::to_hex(ids[i]));
        out["chunks"] = std::move(list);
      }
      const std::string text = TRY(dump_json(out, e->meta.path));
      TRY(lists.add(text, repo.id_of(as_bytes(text))));
    }
  }
  TRY(lists.cut());
  doc["format"] = kSnapshotFormat;
  doc["plan"] = reader.plan();
  doc["manifest"] = reader.manifest().head_json();
  doc["archive_created"] = reader.manifest().created;
  doc["entries"] = lists.ids();
  const auto& w = writer->stats();
  s.chunks = w.chunks;
  s.new_chunks = w.new_chunks;
  s.new_bytes = w.new_bytes;
  s.packs = w.packs;
  doc["stats"] = {{"files", s.files}, {"bytes", s.content_bytes}, {"chunks", w.chunks}, {"new_chunks", w.new_chunks},
                  {"new_bytes", w.new_bytes}};
  if (before_commit) TRY(before_commit());
  auto info = TRY(writer->commit(doc));
  s.uploaded_bytes = writer->stats().uploaded_bytes;
  s.packs = writer->stats().packs;
  return info;
}

Result<chunks::SnapshotInfo> store_archive(storage::Target& target, const seal::MasterKey& key,
                                           archive::ArchiveReader& reader, Json doc, const StoreOptions& options,
                                           const StopToken& stop, IngestStats* stats) {
  if (auto st = target.stat("config"); !st.ok()) {
    if (st.error().code() != Code::kNotFound) return std::move(st).error().with_context("read the repository config");
    if (options.on_init) options.on_init();
    auto made = chunks::Repository::init(target, key);
    if (!made.ok() && made.error().code() != Code::kAlreadyExists) return std::move(made).error();  // another host won
  }
  auto lock = TRY_CTX(chunks::acquire_shared(target, key, {.owner = options.owner, .wait = std::chrono::minutes(10)}, stop),
                      "lock the repository at " + target.describe());
  auto repository = TRY(chunks::Repository::open(target, key));
  return ingest_archive(*repository, reader, std::move(doc), stop, stats, [&]() -> Status {
    TRY_CTX(lock->refresh(), "the repository lock at " + target.describe());
    return lock->check();
  });
}

Result<chunks::SnapshotInfo> load_snapshot(const chunks::Repository& repo, const std::string& snapshot_id) {
  auto snap = TRY(repo.snapshot(snapshot_id));
  if (snap.doc.value("format", "") != kSnapshotFormat) {
    return data_loss("snapshot " + snapshot_id + " is not a StackSnap backup (format " + snap.doc.value("format", "?") + ")");
  }
  return snap;
}

Status export_snapshot(const chunks::Repository& repo, const chunks::SnapshotInfo& snap, const seal::MasterKey& key,
                       Writer& out, const StopToken& stop, archive::WriterOptions options) {
  const Json& doc = snap.doc;
  std::optional<FixedClock> clock;
  if (auto t = parse_rfc3339(doc.value("archive_created", ""))) {
    clock.emplace(*t);
    options.clock = &*clock;
  }
  auto writer = TRY(archive::ArchiveWriter::create(out, key, options));
  TRY(writer->add_plan(doc.value("plan", Json::object())));
  // An entry is written once its continuation lines (if any) have been read.
  std::optional<Json> pending;
  std::vector<ChunkId> pending_ids;
  auto write_pending = [&]() -> Status {
    if (!pending) return {};
    const Json line = std::move(*pending);
    pending.reset();
    auto meta = TRY(entry_meta(line));
    if (meta.type != archive::EntryType::kFile) return writer->add_entry(meta);
    ChunksReader content(repo, std::move(pending_ids), line.value("sha256", ""), meta.path, stop);
    pending_ids.clear();
    if (line.value("stream", false)) return writer->add_stream(meta, content);
    return writer->add_file(meta, content);
  };
  TRY(for_each_line(repo, doc, [&](const Json& line) -> Status {
    TRY(check_cancel(stop, "export the snapshot"));
    if (line.value("continued", false)) {
      if (!pending) return data_loss("snapshot: a continuation line without its entry");
      for (const auto& id : TRY(chunk_ids(line))) pending_ids.push_back(id);
      return {};
    }
    TRY(write_pending());
    pending_ids = TRY(chunk_ids(line));
    pending = line;
    return {};
  }));
  TRY(write_pending());
  const Json manifest = doc.value("manifest", Json::object());
  const Json dumps = manifest.value("dumps", Json::object());
  const Json volumes = manifest.value("volumes", Json::object());
  const Json binds = manifest.value("binds", Json::object());
  for (auto it = dumps.begin(); it != dumps.end(); ++it) TRY(writer->set_dump_info(it.key(), dump_info_from(*it)));
  for (auto it = volumes.begin(); it != volumes.end(); ++it) TRY(writer->set_volume_info(it.key(), without_counts(*it)));
  for (auto it = binds.begin(); it != binds.end(); ++it) TRY(writer->set_bind_info(it.key(), without_counts(*it)));
  TRY(writer->finish());
  return {};
}

namespace {

class ExportReaderImpl final : public SnapshotExportReader {
 public:
  ExportReaderImpl(std::shared_ptr<storage::Target> target, std::unique_ptr<chunks::RepoLock> lock,
                   std::unique_ptr<chunks::Repository> repo, chunks::SnapshotInfo snap, seal::MasterKey key,
                   const StopToken& stop, int zstd_level)
      : target_(std::move(target)), lock_(std::move(lock)), repo_(std::move(repo)), snap_(std::move(snap)),
        key_(std::move(key)), stop_(stop), pipe_(4u << 20), from_(pipe_) {
    thread_ = std::thread([this, zstd_level] {
      Status st;
      try {
        Pipe::WriterEnd out(pipe_);
        st = export_snapshot(*repo_, snap_, key_, out, stop_, {.zstd_level = zstd_level});
      } catch (const std::exception& e) {
        st = internal_error(std::string("export of snapshot ") + snap_.id + ": " + e.what());
      }
      if (st.ok()) pipe_.close_write();
      else pipe_.fail(st.error());
    });
  }
  ~ExportReaderImpl() override {
    pipe_.close_read();
    if (thread_.joinable()) thread_.join();
  }
  Result<size_t> read(MutableBytes buf) override { return from_.read(buf); }
  Status lock_held() const override { return lock_->check(); }

 private:
  std::shared_ptr<storage::Target> target_;
  std::unique_ptr<chunks::RepoLock> lock_;
  std::unique_ptr<chunks::Repository> repo_;
  chunks::SnapshotInfo snap_;
  seal::MasterKey key_;
  StopToken stop_;
  Pipe pipe_;
  Pipe::ReaderEnd from_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<SnapshotExportReader>> open_export(std::shared_ptr<storage::Target> target,
                                                          const std::string& snapshot_id, const seal::KeySource& keys,
                                                          const StopToken& stop, int zstd_level) {
  auto key = TRY(chunks::Repository::master_key(*target, keys));
  // Shared, like a backup: a prune cannot repack or delete a pack while it is read.
  auto lock = TRY(chunks::acquire_shared(*target, key, {.owner = "read " + snapshot_id.substr(0, 12),
                                                       .wait = std::chrono::minutes(10)},
                                         stop));
  auto repository = TRY(chunks::Repository::open(*target, key));
  auto snap = TRY(load_snapshot(*repository, snapshot_id));
  return std::unique_ptr<SnapshotExportReader>(new ExportReaderImpl(std::move(target), std::move(lock),
                                                                    std::move(repository), std::move(snap),
                                                                    std::move(key), stop, zstd_level));
}

Status for_each_blob(const chunks::Repository& repo, const Json& doc,
                     const std::function<Status(BlobType, const ChunkId&)>& fn) {
  for (const auto& h : doc.value("entries", Json::array())) {
    if (h.is_string()) TRY(fn(BlobType::kTree, TRY(chunks::id_from_hex(h.get<std::string>()))));
  }
  return for_each_line(repo, doc, [&](const Json& line) -> Status {
    for (const auto& id : TRY(chunk_ids(line))) TRY(fn(BlobType::kData, id));
    return {};
  });
}

}  // namespace stacksnap::repo
