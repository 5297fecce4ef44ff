#include "archive/writer.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "archive/tar_io.h"
#include "codec/prefetch.h"
#include "seal/crypto.h"
#include "seal/stream.h"

namespace stacksnap::archive {

namespace {

constexpr uint32_t kMaxParts = 999999;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "volumes/<name>/..." → name (also for the directory "volumes/<name>" itself).
std::optional<std::string> tree_name(std::string_view path, std::string_view root) {
  if (!starts_with(path, root)) return std::nullopt;
  std::string_view rest = path.substr(root.size());
  size_t slash = rest.find('/');
  std::string_view name = rest.substr(0, slash);
  if (name.empty()) return std::nullopt;
  return std::string(name);
}

std::string part_name(std::string_view path, uint32_t index) {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, ".part%06u", index);
  return std::string(path) + suffix;
}

// The paths written so far, as 64-bit keyed hashes (SHA-256 of a random per-writer salt and
// the path, so that crafted file names cannot collide on purpose) in an open-addressing
// table: 16 bytes per entry at most, instead of the paths themselves. A repeated path is
// refused; a false alarm needs a 64-bit collision (~1e-8 for a million entries, and a new
// salt the next time).
class PathSet {
 public:
  PathSet() {
    (void)seal::random_bytes(MutableBytes(salt_.data(), salt_.size()));
    slots_.assign(1024, 0);
  }
  // False when `path` was inserted before.
  bool insert(std::string_view path) {
    hash_.update(Bytes(salt_.data(), salt_.size()));
    hash_.update(path);
    auto d = hash_.finish();
    uint64_t h = 0;
    std::memcpy(&h, d.data(), sizeof h);
    if (h == 0) h = 1;  // 0 marks a free slot
    if ((count_ + 1) * 2 > slots_.size()) grow();
    if (!place(slots_, h)) return false;
    ++count_;
    return true;
  }

 private:
  static bool place(std::vector<uint64_t>& slots, uint64_t h) {
    const size_t mask = slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots[i] == h) return false;
      if (slots[i] == 0) {
        slots[i] = h;
        return true;
      }
    }
  }
  void grow() {
    std::vector<uint64_t> bigger(slots_.size() * 2, 0);
    for (uint64_t h : slots_) {
      if (h != 0) place(bigger, h);
    }
    slots_.swap(bigger);
  }
  std::array<std::byte, 16> salt_{};
  seal::Sha256 hash_;
  std::vector<uint64_t> slots_;
  size_t count_ = 0;
};

// Bytes read ahead, then the rest of a stream.
class HeadThenRest final : public Reader {
 public:
  HeadThenRest(Bytes head, Reader& rest) : head_(head), rest_(rest) {}
  Result<size_t> read(MutableBytes buf) override {
    if (head_.empty()) return rest_.read(buf);
    const size_t n = std::min(buf.size(), head_.size());
    std::copy_n(head_.begin(), n, buf.begin());
    head_ = head_.subspan(n);
    return n;
  }

 private:
  Bytes head_;
  Reader& rest_;
};

// Forwards into the current tar entry.
class TarDataWriter final : public Writer {
 public:
  explicit TarDataWriter(TarWriter& t) : t_(t) {}
  Status write(Bytes data) override { return t_.write_data(data); }

 private:
  TarWriter& t_;
};

}  // namespace

struct ArchiveWriter::Impl {
  Impl(Writer& o, const seal::MasterKey& k, WriterOptions op) : out(o), key(k), opts(op), buf(kCopyBuffer) {}

  Writer& out;
  const seal::MasterKey& key;
  WriterOptions opts;
  SystemClock system_clock;
  std::unique_ptr<seal::Sha256Writer> outer;
  std::unique_ptr<seal::SealWriter> seal;
  std::unique_ptr<codec::WriteBehindWriter> behind;  // seal + hash + output on a thread
  std::unique_ptr<codec::ZstdWriter> zstd;
  std::unique_ptr<TarWriter> tar;
  LineLog entries;
  PathSet paths;
  Manifest manifest;
  std::map<std::string, TreeStats> volume_stats, bind_stats;
  std::map<std::string, nlohmann::json> volume_extra, bind_extra;
  enum class State { kNeedPlan, kOpen, kDone } state = State::kNeedPlan;
  std::optional<Error> failed;
  std::vector<std::byte> buf;
  std::vector<std::byte> part;
  uint64_t files = 0, content_bytes = 0;

  const Clock& clock() const { return opts.clock ? *opts.clock : system_clock; }

  Status check_usable(bool plan_call) {
    if (failed) return failed_precondition("archive writer failed earlier: " + failed->message());
    if (state == State::kDone) return failed_precondition("archive writer already finished");
    if (plan_call && state != State::kNeedPlan) return failed_precondition("the plan must be added once, first");
    if (!plan_call && state == State::kNeedPlan) return failed_precondition("add the plan before any entry");
    return {};
  }
  Status poison(Status st) {
    if (!st.ok() && !failed) failed = st.error();
    return st;
  }

  static Status check_user_path(const EntryMeta& m) {
    auto norm = normalize_archive_path(m.path);
    if (!norm.ok()) return std::move(norm).error();
    if (*norm != m.path || m.path.empty()) {
      return invalid_argument("archive path \"" + m.path + "\" is not normalised (expected \"" + *norm + "\")");
    }
    if (starts_with(m.path, "stacksnap/") || m.path == "stacksnap") {
      return invalid_argument("archive path " + m.path + " is reserved for StackSnap's own records");
    }
    if (is_stream_part_name(m.path, nullptr, nullptr)) {
      return invalid_argument("archive path " + m.path + " is reserved for parts of dump streams");
    }
    return {};
  }

  void record(const EntryMeta& m, std::string sha_hex) {
    entries.append(to_json(manifest_entry_for(m, std::move(sha_hex))).dump());
    if (m.type == EntryType::kFile) {
      ++files;
      content_bytes += m.size;
    }
    for (auto [root, stats] : {std::pair{std::string_view("volumes/"), &volume_stats},
                               std::pair{std::string_view("binds/"), &bind_stats}}) {
      if (auto name = tree_name(m.path, root)) {
        TreeStats& t = (*stats)[*name];
        if (m.type == EntryType::kFile) {
          ++t.files;
          t.bytes += m.size;
        }
      }
    }
  }

  // Writes one entry; for regular files exactly m.size bytes from `content`.
  Status emit(const EntryMeta& m, Reader* content, seal::Sha256* also) {
    if (!paths.insert(m.path)) {
      return invalid_argument("archive path " + m.path + " was already written: two entries would share it");
    }
    TRY(tar->begin_entry(m));
    std::string sha;
    if (m.type == EntryType::kFile) {
      seal::Sha256 h;
      uint64_t left = m.size;
      while (left > 0) {
        if (content == nullptr) return invalid_argument("regular file " + m.path + " without content");
        size_t n = TRY_CTX(content->read(MutableBytes(buf.data(), std::min<uint64_t>(buf.size(), left))),
                           "read " + m.path);
        if (n == 0) {
          return failed_precondition(m.path + ": content ended " + std::to_string(left) +
                                     " bytes before its declared size (did it change while being archived?)");
        }
        Bytes chunk(buf.data(), n);
        h.update(chunk);
        if (also) also->update(chunk);
        TRY(tar->write_data(chunk));
        left -= n;
      }
      if (content != nullptr) {
        std::byte probe[1];
        size_t extra = TRY_CTX(content->read(MutableBytes(probe, 1)), "read " + m.path);
        if (extra != 0) {
          return failed_precondition(m.path + ": content is longer than its declared size of " +
                                     std::to_string(m.size) + " bytes (did it change while being archived?)");
        }
      }
      sha = seal::hex_encode(h.finish());
    }
    TRY(tar->end_entry());
    record(m, std::move(sha));
    return {};
  }

  Status add_tar_stream(std::string_view prefix_in, Reader& in, const TarStreamOptions& o) {
    auto prefix = normalize_archive_path(prefix_in);
    if (!prefix.ok() || prefix->empty()) return invalid_argument("bad tar stream prefix \"" + std::string(prefix_in) + "\"");
    EntryMeta probe{.path = *prefix};
    TRY(check_user_path(probe));
    auto tr = TRY(TarReader::open(in));
    auto map_path = [&](const std::string& raw) -> Result<std::optional<std::string>> {
      auto rel = normalize_archive_path(raw);
      if (!rel.ok()) return invalid_argument("tar stream for " + *prefix + ": unsafe entry \"" + raw + "\"");
      std::string_view rest = *rel;
      int depth = rel->empty() ? 0 : 1 + static_cast<int>(std::count(rel->begin(), rel->end(), '/'));
      if (depth < o.strip_components) return std::optional<std::string>();  // above the root: skipped
      if (depth == o.strip_components) return std::optional<std::string>(*prefix);  // the root itself
      for (int i = 0; i < o.strip_components; ++i) rest = rest.substr(rest.find('/') + 1);
      return std::optional<std::string>(*prefix + "/" + std::string(rest));
    };
    EntryMeta m;
    for (;;) {
      bool more = TRY_CTX(tr->next(m), "tar stream for " + *prefix);
      if (!more) break;
      const std::string raw = m.path;
      auto mapped = TRY(map_path(raw));
      if (!mapped) {
        TarEntryReader skip(*tr, m.size);
        TRY(copy_stream(skip, *static_cast<Writer*>(&null_sink)));
        continue;
      }
      m.path = *mapped;
      if (m.type == EntryType::kHardlink) {
        auto target = TRY(map_path(m.link));
        if (!target) return invalid_argument("tar stream for " + *prefix + ": hardlink " + raw + " points above the stripped root");
        m.link = *target;
      }
      if (m.type == EntryType::kFile && o.filter != nullptr) {
        TRY_CTX(emit_filtered(*o.filter, *tr, m, relative_to(*prefix, m.path)), "tar stream for " + *prefix);
      } else if (m.type == EntryType::kFile) {
        TarEntryReader content(*tr, m.size);
        TRY_CTX(emit(m, &content, nullptr), "tar stream for " + *prefix);
      } else {
        TRY_CTX(emit(m, nullptr, nullptr), "tar stream for " + *prefix);
      }
    }
    return {};
  }

  static std::string relative_to(const std::string& prefix, const std::string& path) {
    return path.size() > prefix.size() ? path.substr(prefix.size() + 1) : std::string();
  }

  // A regular file of a tar stream through the caller's filter: the first bytes are read
  // ahead and offered with the metadata; the rest follows them, or is skipped.
  Status emit_filtered(TarEntryFilter& filter, TarReader& tr, EntryMeta& m, const std::string& relative) {
    TarEntryReader content(tr, m.size);
    std::array<std::byte, kFilterHeadBytes> head{};
    const size_t want = static_cast<size_t>(std::min<uint64_t>(m.size, head.size()));
    TRY(read_exact(content, MutableBytes(head.data(), want)));
    auto d = TRY(filter.on_file(relative, m, Bytes(head.data(), want)));
    switch (d.action) {
      case TarEntryFilter::Action::kKeep: {
        HeadThenRest joined(Bytes(head.data(), want), content);
        return emit(m, &joined, nullptr);
      }
      case TarEntryFilter::Action::kDrop:
        TRY(copy_stream(content, *static_cast<Writer*>(&null_sink)));
        return {};
      case TarEntryFilter::Action::kReplace:
        if (d.content == nullptr) return invalid_argument(m.path + ": replacement without content");
        TRY(copy_stream(content, *static_cast<Writer*>(&null_sink)));
        m.size = d.size;
        m.sparse.clear();
        return emit(m, d.content, nullptr);
    }
    return {};
  }

  static Status check_stream(const EntryMeta& meta, uint64_t part_size) {
    if (!starts_with(meta.path, "dumps/")) return invalid_argument("stream " + meta.path + " must lie under dumps/");
    TRY(check_user_path(meta));
    if (part_size == 0 || part_size > (64u << 20)) return invalid_argument("dump part size must be in (0, 64 MiB]");
    return {};
  }

  Status add_stream(const EntryMeta& meta, Reader& data) {
    if (part.size() != opts.dump_part_size) part.assign(opts.dump_part_size, std::byte{0});
    seal::Sha256 whole;
    StreamRecord rec{.path = meta.path};
    for (uint32_t index = 1;; ++index) {
      if (index > kMaxParts) return resource_exhausted("stream " + meta.path + " needs more than 999999 parts");
      size_t fill = 0;
      while (fill < part.size()) {
        size_t n = TRY_CTX(data.read(MutableBytes(part.data() + fill, part.size() - fill)), "read " + meta.path);
        if (n == 0) break;
        fill += n;
      }
      if (fill == 0 && index > 1) break;
      EntryMeta pm = meta;
      pm.type = EntryType::kFile;
      pm.path = part_name(meta.path, index);
      pm.size = fill;
      pm.sparse.clear();
      MemoryReader r(as_chars(Bytes(part.data(), fill)));
      TRY(emit(pm, &r, &whole));
      rec.parts = index;
      rec.size += fill;
      if (fill < part.size()) break;
    }
    rec.sha256 = seal::hex_encode(whole.finish());
    manifest.streams.push_back(std::move(rec));
    return {};
  }

  NullWriter null_sink;
};

ArchiveWriter::ArchiveWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ArchiveWriter::~ArchiveWriter() = default;

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::create(Writer& out, const seal::MasterKey& key,
                                                             WriterOptions options) {
  auto impl = std::make_unique<Impl>(out, key, options);
  Writer* sealed_out = &out;
  if (options.hash_sealed) {
    impl->outer = std::make_unique<seal::Sha256Writer>(out);
    sealed_out = impl->outer.get();
  }
  impl->seal = TRY(seal::SealWriter::create(*sealed_out, key, seal::SealParams{.segment_size = options.segment_size}));
  impl->behind = std::make_unique<codec::WriteBehindWriter>(*impl->seal);
  impl->zstd = TRY(codec::ZstdWriter::create(*impl->behind, {.level = options.zstd_level, .threads = options.zstd_threads}));
  impl->tar = TRY(TarWriter::create(*impl->zstd));
  return std::unique_ptr<ArchiveWriter>(new ArchiveWriter(std::move(impl)));
}

Status ArchiveWriter::add_plan(const nlohmann::json& plan) {
  TRY(impl_->check_usable(true));
  std::string text;
  try {
    text = plan.dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(std::string("plan is not valid UTF-8 JSON: ") + e.what());
  }
  if (text.size() > kMaxPlanSize) return invalid_argument("plan is larger than 16 MiB");
  auto now = impl_->clock().now();
  EntryMeta m{.path = std::string(kPlanPath), .type = EntryType::kFile, .mode = 0644,
              .mtime_sec = unix_seconds(now), .size = text.size()};
  MemoryReader r(text);
  TRY(impl_->poison(impl_->emit(m, &r, nullptr)));
  impl_->state = Impl::State::kOpen;
  return {};
}

Status ArchiveWriter::add_file(const EntryMeta& meta, Reader& content) {
  TRY(impl_->check_usable(false));
  TRY(Impl::check_user_path(meta));
  if (meta.type != EntryType::kFile) return invalid_argument(meta.path + ": add_file takes regular files");
  return impl_->poison(impl_->emit(meta, &content, nullptr));
}

Status ArchiveWriter::add_entry(const EntryMeta& meta) {
  TRY(impl_->check_usable(false));
  TRY(Impl::check_user_path(meta));
  if (meta.type == EntryType::kFile) return invalid_argument(meta.path + ": regular files go through add_file");
  if ((meta.type == EntryType::kSymlink || meta.type == EntryType::kHardlink) && meta.link.empty()) {
    return invalid_argument(meta.path + ": link without a target");
  }
  if (meta.type == EntryType::kHardlink) {
    auto t = normalize_archive_path(meta.link);
    if (!t.ok() || *t != meta.link || t->empty()) return invalid_argument(meta.path + ": bad hardlink target " + meta.link);
  }
  return impl_->poison(impl_->emit(meta, nullptr, nullptr));
}

Status ArchiveWriter::add_tar_stream(std::string_view prefix, Reader& tar, TarStreamOptions options) {
  TRY(impl_->check_usable(false));
  return impl_->poison(impl_->add_tar_stream(prefix, tar, options));
}

Status ArchiveWriter::add_stream(const EntryMeta& meta, Reader& data) {
  TRY(impl_->check_usable(false));
  TRY(Impl::check_stream(meta, impl_->opts.dump_part_size));
  return impl_->poison(impl_->add_stream(meta, data));
}

Status ArchiveWriter::set_dump_info(const std::string& service, const DumpInfo& info) {
  TRY(impl_->check_usable(false));
  try {
    nlohmann::json j = to_json(info);
    (void)j.dump();  // must serialise (valid UTF-8)
    impl_->manifest.dumps[service] = std::move(j);
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument("dump info for " + service + ": " + e.what());
  }
  return {};
}

namespace {

// Facts about one volume or bind tree for the manifest: a JSON object that serialises.
Status check_tree_info(std::string_view kind, const std::string& name, const nlohmann::json& extra) {
  if (!extra.is_object()) return invalid_argument(std::string(kind) + " info for " + name + " must be a JSON object");
  try {
    (void)extra.dump();
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(std::string(kind) + " info for " + name + ": " + e.what());
  }
  return {};
}

// Each tree's record: its facts (set_*_info) with the files and bytes written under it.
template <class Stats, class Records>
void tree_records(std::map<std::string, Stats>& stats, const std::map<std::string, nlohmann::json>& extra,
                  Records& out) {
  for (const auto& [name, facts] : extra) stats.try_emplace(name);
  for (const auto& [name, t] : stats) {
    auto it = extra.find(name);
    nlohmann::json j = it != extra.end() ? it->second : nlohmann::json::object();
    j["files"] = t.files;
    j["bytes"] = t.bytes;
    out[name] = std::move(j);
  }
}

}  // namespace

Status ArchiveWriter::set_volume_info(const std::string& volume, const nlohmann::json& extra) {
  TRY(impl_->check_usable(false));
  TRY(check_tree_info("volume", volume, extra));
  impl_->volume_extra[volume] = extra;
  return {};
}

Status ArchiveWriter::set_bind_info(const std::string& bind, const nlohmann::json& extra) {
  TRY(impl_->check_usable(false));
  TRY(check_tree_info("bind", bind, extra));
  impl_->bind_extra[bind] = extra;
  return {};
}

Result<WriteSummary> ArchiveWriter::finish() {
  TRY(impl_->check_usable(false));
  Impl& s = *impl_;
  Manifest& m = s.manifest;
  m.created = format_rfc3339(s.clock().now());
  m.entry_count = s.entries.count();
  m.file_count = s.files;
  m.total_bytes = s.content_bytes;
  tree_records(s.volume_stats, s.volume_extra, m.volumes);
  tree_records(s.bind_stats, s.bind_extra, m.binds);
  auto run = [&]() -> Status {
    ManifestSerializer ser(m, s.entries);
    EntryMeta mm{.path = std::string(kManifestPath), .type = EntryType::kFile, .mode = 0644,
                 .mtime_sec = unix_seconds(s.clock().now()), .size = ser.size()};
    TRY(s.tar->begin_entry(mm));
    TarDataWriter w(*s.tar);
    TRY(ser.write_to(w));
    TRY_CTX(s.tar->end_entry(), "manifest");
    TRY(s.tar->finish());
    TRY(s.zstd->close());
    TRY(s.behind->finish());
    TRY(s.seal->close());
    return {};
  };
  TRY(s.poison(run()));
  s.state = Impl::State::kDone;
  WriteSummary sum;
  sum.entries = s.entries.count() + 1;
  sum.files = s.files;
  sum.content_bytes = s.content_bytes;
  sum.tar_bytes = s.zstd->bytes_in();
  sum.compressed_bytes = s.zstd->bytes_out();
  sum.sealed_bytes = s.seal->sealed_bytes();
  sum.segments = s.seal->segments();
  if (s.outer) sum.sealed_sha256 = seal::hex_encode(s.outer->finish());
  sum.key_fingerprint = s.key.fingerprint();
  return sum;
}

}  // namespace stacksnap::archive
