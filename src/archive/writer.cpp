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

std::string part_name(std::string_view path, uint32_t index) {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, ".part%06u", index);
  return std::string(path) + suffix;
}

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
  ManifestFacts facts;
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

  void record(const EntryMeta& m, std::string sha_hex) {
    entries.append(to_json(manifest_entry_for(m, std::move(sha_hex))).dump());
    if (m.type == EntryType::kFile) {
      ++files;
      content_bytes += m.size;
    }
    facts.count(m);
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
  TRY(check_user_path(meta));
  if (meta.type != EntryType::kFile) return invalid_argument(meta.path + ": add_file takes regular files");
  return impl_->poison(impl_->emit(meta, &content, nullptr));
}

Status ArchiveWriter::add_entry(const EntryMeta& meta) {
  TRY(impl_->check_usable(false));
  TRY(check_user_path(meta));
  if (meta.type == EntryType::kFile) return invalid_argument(meta.path + ": regular files go through add_file");
  TRY(check_link(meta));
  return impl_->poison(impl_->emit(meta, nullptr, nullptr));
}

Status ArchiveWriter::add_tar_stream(std::string_view prefix, Reader& tar, TarStreamOptions options) {
  TRY(impl_->check_usable(false));
  return impl_->poison(replay_tar_stream(*this, prefix, tar, options));
}

Status ArchiveWriter::add_stream(const EntryMeta& meta, Reader& data) {
  TRY(impl_->check_usable(false));
  TRY(Impl::check_stream(meta, impl_->opts.dump_part_size));
  return impl_->poison(impl_->add_stream(meta, data));
}

Status ArchiveWriter::set_dump_info(const std::string& service, const DumpInfo& info) {
  TRY(impl_->check_usable(false));
  return impl_->facts.set_dump_info(service, info);
}

Status ArchiveWriter::set_volume_info(const std::string& volume, const nlohmann::json& extra) {
  TRY(impl_->check_usable(false));
  return impl_->facts.set_volume_info(volume, extra);
}

Status ArchiveWriter::set_bind_info(const std::string& bind, const nlohmann::json& extra) {
  TRY(impl_->check_usable(false));
  return impl_->facts.set_bind_info(bind, extra);
}

Result<WriteSummary> ArchiveWriter::finish() {
  TRY(impl_->check_usable(false));
  Impl& s = *impl_;
  Manifest& m = s.manifest;
  m.created = format_rfc3339(s.clock().now());
  m.entry_count = s.entries.count();
  m.file_count = s.files;
  m.total_bytes = s.content_bytes;
  s.facts.fill(m);
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
