#include "repo/check.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <unordered_map>

#include "chunks/repository.h"
#include "repo/snapshot.h"
#include "seal/crypto.h"

namespace stacksnap::repo {

namespace check_detail {
namespace {

using chunks::BlobType;
using chunks::ChunkId;
using chunks::PackEntry;
using chunks::PackId;

constexpr size_t kMaxIndexFile = 1ull << 30;
constexpr uint64_t kMaxPackRead = 256ull << 20;  // packs are ~16-24 MiB; anything far larger is not read
constexpr size_t kMaxBlobProblemsPerPack = 20;
constexpr size_t kMaxMissingPerSnapshot = 5;
constexpr ChunkId kZeroId{};

void put_le32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_le32(const unsigned char* p) {
  return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
}

// (Not check_cancel(): GCC 12 sees a false -Warray-bounds in its inlined string concatenation.)
[[gnu::noinline]] Status check_stop(const StopToken& stop) {
  if (stop.stop_requested()) return cancelled("repository check cancelled");
  return {};
}

// Damage to report, as opposed to trouble reaching the target (returned).
bool is_damage(const Error& e) {
  return e.code() == Code::kDataLoss || e.code() == Code::kNotFound || e.code() == Code::kInvalidArgument;
}

std::string type_name(BlobType t) {
  switch (t) {
    case BlobType::kData: return "data";
    case BlobType::kTree: return "tree";
    default: return "type " + std::to_string(static_cast<int>(t));
  }
}

// BlobCodec's messages start with "blob <id>: ", which the check's own words already say.
std::string without_blob_prefix(const std::string& message, const std::string& id) {
  const std::string prefix = "blob " + id + ": ";
  return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

std::string describe_entry(const PackEntry& e) {
  return type_name(e.type) + " at " + std::to_string(e.offset) + "+" + std::to_string(e.length) + " (" +
         std::to_string(e.raw_length) + " bytes plain)";
}

std::string string_field(const nlohmann::json& doc, const char* name) {
  if (!doc.is_object()) return {};
  auto it = doc.find(name);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}


class CountingReader final : public Reader {
 public:
  CountingReader(std::unique_ptr<Reader> in, std::atomic<uint64_t>& count) : in_(std::move(in)), count_(count) {}
  Result<size_t> read(MutableBytes buf) override {
    const size_t got = TRY(in_->read(buf));
    count_ += got;
    return got;
  }

 private:
  std::unique_ptr<Reader> in_;
  std::atomic<uint64_t>& count_;
};

class SharedStringReader final : public Reader {
 public:
  explicit SharedStringReader(std::shared_ptr<const std::string> s) : s_(std::move(s)), r_(*s_) {}
  Result<size_t> read(MutableBytes buf) override { return r_.read(buf); }

 private:
  std::shared_ptr<const std::string> s_;
  MemoryReader r_;
};

// The target as the check's Repository sees it: every download is counted, and under
// index/ only the index files the check has read and found good are listed, served from
// memory (a damaged index would make Repository::open fail; a good one is not read twice).
class CheckTarget final : public storage::Target {
 public:
  explicit CheckTarget(storage::Target& inner) : inner_(inner) {}

  void serve_index(const std::string& key, std::string bytes) {
    indexes_[key] = std::make_shared<const std::string>(std::move(bytes));
  }
  void drop_indexes() { indexes_.clear(); }
  uint64_t bytes_read() const { return bytes_read_.load(); }

  std::string describe() const override { return inner_.describe(); }
  Result<std::unique_ptr<storage::Upload>> put(const std::string& key, uint64_t size_hint) override {
    return inner_.put(key, size_hint);
  }
  Status put_file(const std::string& key, int fd, uint64_t size, const storage::PutFileOptions& opts) override {
    return inner_.put_file(key, fd, size, opts);
  }
  Result<std::unique_ptr<Reader>> get(const std::string& key, storage::GetRange range) override {
    if (auto it = indexes_.find(key); it != indexes_.end() && range.offset == 0 && !range.length) {
      return std::unique_ptr<Reader>(new SharedStringReader(it->second));
    }
    auto in = TRY(inner_.get(key, range));
    return std::unique_ptr<Reader>(new CountingReader(std::move(in), bytes_read_));
  }
  Result<storage::ObjectInfo> stat(const std::string& key) override { return inner_.stat(key); }
  Status list(const std::string& prefix, const std::function<Status(const storage::ObjectInfo&)>& fn) override {
    if (prefix.rfind("index/", 0) != 0) return inner_.list(prefix, fn);
    for (const auto& [key, bytes] : indexes_) {
      if (key.rfind(prefix, 0) == 0) TRY(fn(storage::ObjectInfo{key, bytes->size(), {}}));
    }
    return {};
  }
  Status remove(const std::string& key) override { return inner_.remove(key); }
  Result<int> cleanup_stale(std::chrono::seconds older_than) override { return inner_.cleanup_stale(older_than); }

 private:
  storage::Target& inner_;
  std::map<std::string, std::shared_ptr<const std::string>> indexes_;
  std::atomic<uint64_t> bytes_read_{0};
};

struct PackState {
  PackId id{};
  size_t entries_at = 0;  // position in the merged index's packs()
  size_t index_file = 0;  // the index file that named it first
  uint64_t size = 0;
  bool present = false;
  bool damaged = false;
  size_t blob_problems = 0;          // during the deep read
  std::vector<uint32_t> dependents;  // snapshot numbers (may repeat; sorted at the end)
};

class Checker {
 public:
  Checker(storage::Target& target, const seal::MasterKey& key, const CheckOptions& options, const StopToken& stop)
      : inner_(target), ct_(target), key_(key), options_(options), stop_(stop) {}

  Result<CheckReport> run() {
    if (!(options_.read_data_percent >= 0 && options_.read_data_percent <= 100)) {
      return invalid_argument("read_data_percent must lie between 0 and 100, not " +
                              std::to_string(options_.read_data_percent));
    }
    report_.level = options_.level;
    report_.read_data_percent = options_.level == CheckOptions::kDeep ? 100 : options_.read_data_percent;
    TRY(open_config());
    TRY(load_indexes());
    repo_ = TRY_CTX(chunks::Repository::open(ct_, key_), "open the repository with its good indexes");
    ct_.drop_indexes();
    TRY(list_packs());
    TRY(check_sizes());
    TRY(read_packs());
    TRY(check_snapshots());
    finish();
    report_.bytes_read = ct_.bytes_read();
    return std::move(report_);
  }

 private:
  // ---- config and keys -------------------------------------------------------------------

  Status open_config() {
    // No index is served yet: this reads the config only.
    auto bare = TRY(chunks::Repository::open(ct_, key_));
    data_codec_ = TRY(chunks::BlobCodec::create(TRY(chunks::repository_key(key_, bare->id(), "data"))));
    meta_codec_ = TRY(chunks::BlobCodec::create(TRY(chunks::repository_key(key_, bare->id(), "meta"))));
    return {};
  }

  // ---- indexes ---------------------------------------------------------------------------

  Status load_indexes() {
    std::vector<std::string> names;
    TRY_CTX(inner_.list("index/", [&](const storage::ObjectInfo& o) -> Status {
      names.push_back(o.key);
      return {};
    }), "list index/");
    for (size_t i = 0; i < names.size(); ++i) {
      TRY(check_stop(stop_));
      progress("indexes", i, names.size());
      const std::string& name = names[i];
      auto sealed = storage::get_small(ct_, name, kMaxIndexFile);
      if (!sealed.ok()) {
        if (!is_damage(sealed.error())) return std::move(sealed).error().with_context("read " + name);
        object_problem(name, sealed.error().code() == Code::kNotFound ? "missing (listed, then gone)"
                                                                      : "unreadable: " + sealed.error().message());
        continue;
      }
      if (name.substr(name.rfind('/') + 1) != seal::hex_encode(seal::Sha256::of(as_bytes(*sealed)))) {
        object_problem(name, "sha256: the content does not match its name (the index is not used)");
        continue;
      }
      auto idx = chunks::Index::open(*meta_codec_, as_bytes(*sealed));
      if (!idx.ok()) {
        if (!is_damage(idx.error())) return std::move(idx).error().with_context(name);
        object_problem(name, "does not open (the index is not used): " + idx.error().message());
        continue;
      }
      const size_t file = index_files_.size();
      index_files_.push_back(name);
      ++report_.indexes;
      const size_t base = all_.pack_count();
      all_.merge(std::move(*idx));
      for (size_t at = base; at < all_.pack_count(); ++at) {
        const PackId& pack = all_.pack_id(at);
        auto [it, fresh] = pack_pos_.try_emplace(pack, packs_.size());
        if (fresh) {
          packs_.push_back(PackState{.id = pack, .entries_at = at, .index_file = file});
          continue;
        }
        const PackState& first = packs_[it->second];
        if (all_.pack_entries(first.entries_at) != all_.pack_entries(at)) {
          object_problem(name, "names pack " + chunks::pack_name(pack) + " with other blobs than " +
                                   index_files_[first.index_file] + " does");
        }
      }
      ct_.serve_index(name, std::move(*sealed));
    }
    progress("indexes", names.size(), names.size());
    report_.packs = packs_.size();
    report_.blobs = all_.blobs();
    return {};
  }

  // ---- data/ -----------------------------------------------------------------------------

  Status list_packs() {
    std::vector<storage::ObjectInfo> listed;
    TRY_CTX(inner_.list("data/", [&](const storage::ObjectInfo& o) -> Status {
      listed.push_back(o);
      return {};
    }), "list data/");
    for (const auto& o : listed) {
      const PackState* p = nullptr;
      const size_t slash = o.key.rfind('/');
      if (auto raw = seal::hex_decode(o.key.substr(slash + 1)); raw.ok() && raw->size() == PackId{}.size()) {
        PackId id;
        std::memcpy(id.data(), raw->data(), id.size());
        if (auto it = pack_pos_.find(id); it != pack_pos_.end() && chunks::pack_name(id) == o.key) {
          PackState& s = packs_[it->second];
          s.present = true;
          s.size = o.size;
          report_.bytes += o.size;
          p = &s;
        }
      }
      if (!p) {
        report_.unreferenced_packs.push_back(o.key);
        report_.unreferenced_bytes += o.size;
      }
    }
    return {};
  }

  // Every indexed pack is there, and its size is what its blobs and a header listing them
  // make: blobs || sealed header || header length (uint32).
  Status check_sizes() {
    for (size_t i = 0; i < packs_.size(); ++i) {
      TRY(check_stop(stop_));
      if (i % 256 == 0) progress("packs", i, packs_.size());
      PackState& p = packs_[i];
      if (!p.present) {
        damage(p, "missing");
        continue;
      }
      TRY(check_size(p));
    }
    progress("packs", packs_.size(), packs_.size());
    return {};
  }

  Status check_size(PackState& p) {
    const std::vector<PackEntry> entries = all_.pack_entries(p.entries_at);
    uint64_t end = 0;
    for (const auto& e : entries) end = std::max<uint64_t>(end, e.offset + e.length);
    // The header as the writer made it from these entries: its sealed length is exact when
    // the pack was compressed by this zstd; otherwise the pack's last 4 bytes say it.
    std::string plain;
    put_le32(plain, static_cast<uint32_t>(entries.size()));
    for (const auto& e : entries) chunks::append_entry(plain, e);
    std::string sealed;
    const uint64_t predicted = TRY(data_codec_->seal(BlobType::kPackHeader, kZeroId, as_bytes(plain), sealed));
    if (p.size == end + predicted + 4) return {};
    // Bounds without reading: the payload is raw (4 + count × entry) or a zstd frame that
    // cannot be shorter than the ids it holds (keyed hashes: incompressible).
    const uint64_t count = entries.size();
    const uint64_t min_header = chunks::kBlobOverhead + std::max<uint64_t>(4, count * chunks::kIdSize);
    const uint64_t max_header = chunks::kBlobOverhead + 4 + count * chunks::kPackEntrySize;
    std::string what = "size: " + std::to_string(p.size) + " bytes, but the " + std::to_string(count) +
                       " blobs the index lists end at byte " + std::to_string(end) + " and a header of " +
                       std::to_string(min_header) + ".." + std::to_string(max_header) + " bytes follows them";
    if (p.size < end + 4 + min_header || p.size > end + 4 + max_header) {
      damage(p, what);
      return {};
    }
    const std::string key = chunks::pack_name(p.id);
    auto tail = read_range(key, p.size - 4, 4);
    if (!tail.ok()) {
      if (!is_damage(tail.error())) return std::move(tail).error();
      damage(p, tail.error().code() == Code::kNotFound ? "missing (listed, then gone)" : "unreadable: " + tail.error().message());
      return {};
    }
    if (tail->size() != 4) {
      damage(p, "size: shorter than listed");
      return {};
    }
    const uint32_t header_len = get_le32(reinterpret_cast<const unsigned char*>(tail->data()));
    if (header_len < min_header || header_len > max_header || end + header_len + 4 != p.size) {
      damage(p, what + " (its last 4 bytes say " + std::to_string(header_len) + ")");
    }
    return {};
  }

  Result<std::string> read_range(const std::string& key, uint64_t offset, uint64_t length) {
    auto in = TRY(ct_.get(key, {.offset = offset, .length = length}));
    return read_all(*in, length + 1);
  }

  // ---- deep ------------------------------------------------------------------------------

  Status read_packs() {
    std::vector<size_t> chosen;
    for (size_t i = 0; i < packs_.size(); ++i) {
      if (packs_[i].present) chosen.push_back(i);
    }
    if (options_.level == CheckOptions::kShallow) {
      if (options_.read_data_percent <= 0 || chosen.empty()) return {};
      const auto want = static_cast<size_t>(std::ceil(options_.read_data_percent / 100.0 * static_cast<double>(chosen.size())));
      const size_t n = std::clamp<size_t>(want, 1, chosen.size());
      std::mt19937_64 rng(options_.seed != 0 ? options_.seed : std::random_device{}());
      std::vector<size_t> sample;
      std::sample(chosen.begin(), chosen.end(), std::back_inserter(sample), n, rng);
      chosen = std::move(sample);
    }
    for (size_t i = 0; i < chosen.size(); ++i) {
      TRY(check_stop(stop_));
      progress("read", i, chosen.size());
      TRY(read_pack(packs_[chosen[i]]));
    }
    progress("read", chosen.size(), chosen.size());
    return {};
  }

  Status read_pack(PackState& p) {
    const std::string key = chunks::pack_name(p.id);
    if (p.size > kMaxPackRead) {
      damage(p, "not read: " + std::to_string(p.size) + " bytes is far more than a pack holds");
      return {};
    }
    std::string bytes;
    {
      auto in = ct_.get(key, {});
      Result<std::string> got = in.ok() ? read_all(**in, p.size + 1) : Result<std::string>(std::move(in).error());
      if (!got.ok()) {
        if (!is_damage(got.error())) return std::move(got).error().with_context("read " + key);
        damage(p, got.error().code() == Code::kNotFound ? "missing (listed, then gone)" : "unreadable: " + got.error().message());
        return {};
      }
      bytes = std::move(*got);
    }
    ++report_.packs_read;
    if (bytes.size() != p.size) {
      damage(p, "size: " + std::to_string(bytes.size()) + " bytes read, " + std::to_string(p.size) + " listed");
    }
    if (seal::Sha256::of(as_bytes(bytes)) != p.id) damage(p, "sha256: the content does not match its name");

    const std::vector<PackEntry> indexed = all_.pack_entries(p.entries_at);
    std::vector<PackEntry> to_open = indexed;
    auto header = chunks::read_pack_header(*data_codec_, as_bytes(bytes), bytes.size());
    if (!header.ok()) {
      if (!is_damage(header.error())) return std::move(header).error().with_context(key);
      damage(p, "header: " + header.error().message());
    } else {
      compare_header(p, indexed, *header, to_open);
    }
    for (const auto& e : to_open) TRY(open_blob(p, bytes, e));
    if (p.blob_problems > kMaxBlobProblemsPerPack) {
      add_problem(CheckProblem{.pack = key, .what = "… and " + std::to_string(p.blob_problems - kMaxBlobProblemsPerPack) +
                                                    " more blob problems"});
    }
    return {};
  }

  // The pack header must list exactly the index's entries; blobs only the header names are
  // opened too.
  void compare_header(PackState& p, const std::vector<PackEntry>& indexed, const std::vector<PackEntry>& header,
                      std::vector<PackEntry>& to_open) {
    std::unordered_map<ChunkId, const PackEntry*, chunks::ChunkIdHash> in_header;
    for (const auto& h : header) in_header.emplace(h.id, &h);
    std::unordered_map<ChunkId, bool, chunks::ChunkIdHash> in_index;
    for (const auto& e : indexed) {
      in_index.emplace(e.id, true);
      auto it = in_header.find(e.id);
      if (it == in_header.end()) {
        blob_problem(p, "blob " + chunks::to_hex(e.id) + " is in the index (" + describe_entry(e) +
                            ") but not in the pack header");
      } else if (!(*it->second == e)) {
        blob_problem(p, "blob " + chunks::to_hex(e.id) + ": the index says " + describe_entry(e) +
                            ", the pack header says " + describe_entry(*it->second));
        to_open.push_back(*it->second);
      }
    }
    for (const auto& h : header) {
      if (in_index.count(h.id)) continue;
      blob_problem(p, "blob " + chunks::to_hex(h.id) + " is in the pack header (" + describe_entry(h) +
                          ") but in no index entry for this pack");
      to_open.push_back(h);
    }
  }

  Status open_blob(PackState& p, const std::string& bytes, const PackEntry& e) {
    const std::string id = chunks::to_hex(e.id);
    if (e.offset > bytes.size() || e.length > bytes.size() - e.offset) {
      blob_problem(p, "blob " + id + " lies outside the pack (" + describe_entry(e) + ")");
      return {};
    }
    const Bytes sealed = as_bytes(std::string_view(bytes).substr(e.offset, e.length));
    const size_t max_size = std::max<size_t>(e.raw_length, 2 * chunks::kMaxSize);
    auto plain = data_codec_->open(e.type, e.id, sealed, max_size);
    if (!plain.ok()) {
      if (!is_damage(plain.error())) return std::move(plain).error();
      blob_problem(p, "blob " + id + " (" + type_name(e.type) + "): " + without_blob_prefix(plain.error().message(), id));
      return {};
    }
    ++report_.blobs_read;
    if (plain->size() != e.raw_length) {
      blob_problem(p, "blob " + id + " holds " + std::to_string(plain->size()) + " bytes, indexed as " +
                          std::to_string(e.raw_length));
    }
    if (repo_->id_of(as_bytes(*plain)) != e.id) blob_problem(p, "blob " + id + ": its content does not hash to its id");
    return {};
  }

  // ---- snapshots -------------------------------------------------------------------------

  Status check_snapshots() {
    std::vector<std::string> names;
    TRY_CTX(inner_.list("snapshots/", [&](const storage::ObjectInfo& o) -> Status {
      names.push_back(o.key);
      return {};
    }), "list snapshots/");
    // Damage found while reading entry lists (shallow) may hit packs that snapshots already
    // walked depend on: those are walked again, for the dependents only.
    uint32_t walk_again = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      TRY(check_stop(stop_));
      progress("snapshots", i, names.size());
      const std::string& name = names[i];
      const std::string id = name.substr(name.rfind('/') + 1);
      auto snap = repo_->snapshot(id);
      if (!snap.ok()) {
        if (!is_damage(snap.error())) return std::move(snap).error();
        object_problem(name, snap.error().code() == Code::kNotFound ? "missing (listed, then gone)"
                                                                    : "unreadable: " + snap.error().message());
        report_.broken_snapshots.push_back(SnapshotRef{.id = id});
        continue;
      }
      const auto number = static_cast<uint32_t>(refs_.size());
      refs_.push_back(SnapshotRef{.id = id, .backup_id = string_field(snap->doc, "backup_id"),
                                  .project = string_field(snap->doc, "project")});
      broken_.push_back(false);
      ++report_.snapshots;
      const size_t damaged_before = damaged_order_.size();
      TRY(walk_snapshot(name, number, snap->doc, /*report=*/true));
      if (damaged_order_.size() != damaged_before) walk_again = number;  // number: snapshots before it
    }
    progress("snapshots", names.size(), names.size());
    for (uint32_t number = 0; number < walk_again; ++number) {
      TRY(check_stop(stop_));
      const std::string name = "snapshots/" + refs_[number].id;
      auto snap = repo_->snapshot(refs_[number].id);
      if (!snap.ok()) {
        if (!is_damage(snap.error())) return std::move(snap).error();
        object_problem(name, "unreadable on a second read: " + snap.error().message());
        broken_[number] = true;
        continue;
      }
      TRY(walk_snapshot(name, number, snap->doc, /*report=*/false));
    }
    return {};
  }

  // Every blob of one snapshot: in an index, as the type it is used as, in a pack that is
  // not damaged. With `report` false only the dependents of damaged packs are gathered.
  Status walk_snapshot(const std::string& name, uint32_t number, const nlohmann::json& doc, bool report) {
    size_t missing = 0;
    auto st = for_each_blob(*repo_, doc, [&](BlobType type, const ChunkId& id) -> Status {
      if (report) ++report_.referenced_blobs;
      const chunks::FoundLocation at = all_.find(id);
      if (!at) {
        if (report && missing++ < kMaxMissingPerSnapshot) {
          object_problem(name, "blob " + chunks::to_hex(id) + " (" + type_name(type) + ") is in no index");
        }
        broken_[number] = true;
        return {};
      }
      if (at->type != type) {
        if (report) {
          object_problem(name, "blob " + chunks::to_hex(id) + " is used as " + type_name(type) + " but indexed as " +
                                   type_name(at->type));
        }
        broken_[number] = true;
      }
      depend(packs_[pack_pos_.at(at->pack)], number);
      return {};
    });
    if (report && missing > kMaxMissingPerSnapshot) {
      object_problem(name, "… and " + std::to_string(missing - kMaxMissingPerSnapshot) + " more blobs are in no index");
    }
    if (st.ok()) return {};
    if (!is_damage(st.error())) return std::move(st).error().with_context(name);
    broken_[number] = true;
    if (!report) return {};
    object_problem(name, "an entry list cannot be read: " + st.error().message());
    // Which entry lists, in which packs: those packs are damaged.
    const nlohmann::json& entries = doc.is_object() && doc.contains("entries") ? doc["entries"] : nlohmann::json::array();
    for (auto it = entries.begin(); it != entries.end(); ++it) {
      if (!it->is_string()) continue;
      auto id = chunks::id_from_hex(it->get<std::string>());
      if (!id.ok()) continue;
      const chunks::FoundLocation at = all_.find(*id);
      if (!at) continue;
      PackState& p = packs_[pack_pos_.at(at->pack)];
      if (p.damaged) continue;
      auto read = repo_->read(BlobType::kTree, *id);
      if (read.ok()) continue;
      if (!is_damage(read.error())) return std::move(read).error();
      damage(p, "blob " + chunks::to_hex(*id) + " (tree) cannot be read: " + read.error().message());
      depend(p, number);
    }
    return {};
  }

  void depend(PackState& p, uint32_t number) {
    if (!p.damaged) return;
    broken_[number] = true;
    if (p.dependents.empty() || p.dependents.back() != number) p.dependents.push_back(number);
  }

  // ---- the report ------------------------------------------------------------------------

  void finish() {
    for (size_t pos : damaged_order_) {
      PackState& p = packs_[pos];
      std::sort(p.dependents.begin(), p.dependents.end());
      p.dependents.erase(std::unique(p.dependents.begin(), p.dependents.end()), p.dependents.end());
      PackDependents d{.pack = chunks::pack_name(p.id)};
      for (uint32_t n : p.dependents) d.snapshots.push_back(refs_[n]);
      report_.damaged_snapshots.push_back(std::move(d));
    }
    for (size_t n = 0; n < refs_.size(); ++n) {
      if (broken_[n]) report_.broken_snapshots.push_back(refs_[n]);
    }
  }

  void add_problem(CheckProblem p) { report_.problems.push_back(std::move(p)); }
  void object_problem(const std::string& object, std::string what) {
    add_problem(CheckProblem{.object = object, .what = std::move(what)});
  }
  void damage(PackState& p, std::string what) {
    if (!p.damaged) {
      p.damaged = true;
      damaged_order_.push_back(&p - packs_.data());
    }
    add_problem(CheckProblem{.pack = chunks::pack_name(p.id), .what = std::move(what)});
  }
  // Past kMaxBlobProblemsPerPack a pack's blob problems are only counted.
  void blob_problem(PackState& p, std::string what) {
    if (++p.blob_problems <= kMaxBlobProblemsPerPack) damage(p, std::move(what));
  }
  void progress(std::string_view phase, uint64_t done, uint64_t total) {
    if (options_.progress) options_.progress(CheckProgress{.phase = phase, .done = done, .total = total, .bytes_read = ct_.bytes_read()});
  }

  storage::Target& inner_;
  CheckTarget ct_;
  const seal::MasterKey& key_;
  const CheckOptions& options_;
  const StopToken& stop_;

  std::unique_ptr<chunks::BlobCodec> data_codec_, meta_codec_;
  std::unique_ptr<chunks::Repository> repo_;  // over ct_: the good indexes; reads entry lists
  chunks::Index all_;                         // every good index merged (first wins, as on reads)
  std::vector<std::string> index_files_;
  std::vector<PackState> packs_;
  std::unordered_map<PackId, size_t, chunks::ChunkIdHash> pack_pos_;
  std::vector<size_t> damaged_order_;
  std::vector<SnapshotRef> refs_;  // the snapshots that opened, by number
  std::vector<bool> broken_;
  CheckReport report_;
};

}  // namespace
}  // namespace check_detail

nlohmann::json CheckReport::to_json() const {
  auto snapshot_json = [](const SnapshotRef& s) {
    return nlohmann::json{{"id", s.id}, {"backup_id", s.backup_id}, {"project", s.project}};
  };
  nlohmann::json problems_json = nlohmann::json::array();
  for (const auto& p : problems) {
    nlohmann::json j;
    if (!p.pack.empty()) j["pack"] = p.pack;
    else j["object"] = p.object;
    j["what"] = p.what;
    problems_json.push_back(std::move(j));
  }
  nlohmann::json damaged = nlohmann::json::array();
  for (const auto& d : damaged_snapshots) {
    nlohmann::json snaps = nlohmann::json::array();
    for (const auto& s : d.snapshots) snaps.push_back(snapshot_json(s));
    damaged.push_back({{"pack", d.pack}, {"snapshots", std::move(snaps)}});
  }
  nlohmann::json broken = nlohmann::json::array();
  for (const auto& s : broken_snapshots) broken.push_back(snapshot_json(s));
  return {{"level", level == CheckOptions::kDeep ? "deep" : "shallow"},
          {"read_data_percent", read_data_percent},
          {"ok", ok()},
          {"indexes", indexes},
          {"packs", packs},
          {"packs_read", packs_read},
          {"blobs", blobs},
          {"blobs_read", blobs_read},
          {"bytes", bytes},
          {"bytes_read", bytes_read},
          {"snapshots", snapshots},
          {"referenced_blobs", referenced_blobs},
          {"unreferenced_packs", unreferenced_packs},
          {"unreferenced_bytes", unreferenced_bytes},
          {"problems", std::move(problems_json)},
          {"damaged_snapshots", std::move(damaged)},
          {"broken_snapshots", std::move(broken)}};
}

Result<CheckReport> check_repository(storage::Target& target, const seal::MasterKey& key, const CheckOptions& options,
                                     const StopToken& stop) {
  check_detail::Checker checker(target, key, options, stop);
  return checker.run();
}

}  // namespace stacksnap::repo
