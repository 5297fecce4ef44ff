#include "archive/sink.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "archive/tar_io.h"
#include "seal/crypto.h"

namespace stacksnap::archive {

namespace {

bool has_prefix(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

Status discard(Reader& in) {
  NullWriter null;
  TRY(copy_stream(in, null));
  return {};
}

// A regular file of a tar stream through the caller's filter: the first bytes are read
// ahead and offered with the metadata; the rest follows them, or is skipped.
Status replay_filtered(EntrySink& sink, TarEntryFilter& filter, TarReader& tr, EntryMeta& m,
                       const std::string& relative) {
  TarEntryReader content(tr, m.size);
  std::array<std::byte, kFilterHeadBytes> head{};
  const size_t want = static_cast<size_t>(std::min<uint64_t>(m.size, head.size()));
  TRY(read_exact(content, MutableBytes(head.data(), want)));
  auto d = TRY(filter.on_file(relative, m, Bytes(head.data(), want)));
  switch (d.action) {
    case TarEntryFilter::Action::kKeep: {
      HeadThenRest joined(Bytes(head.data(), want), content);
      return sink.add_file(m, joined);
    }
    case TarEntryFilter::Action::kDrop:
      return discard(content);
    case TarEntryFilter::Action::kReplace:
      if (d.content == nullptr) return invalid_argument(m.path + ": replacement without content");
      TRY(discard(content));
      m.size = d.size;
      m.sparse.clear();
      return sink.add_file(m, *d.content);
  }
  return {};
}

}  // namespace

Result<size_t> HeadThenRest::read(MutableBytes buf) {
  if (head_.empty()) return rest_.read(buf);
  const size_t n = std::min(buf.size(), head_.size());
  std::copy_n(head_.begin(), n, buf.begin());
  head_ = head_.subspan(n);
  return n;
}

Status check_user_path(const EntryMeta& m) {
  auto norm = normalize_archive_path(m.path);
  if (!norm.ok()) return std::move(norm).error();
  if (*norm != m.path || m.path.empty()) {
    return invalid_argument("archive path \"" + m.path + "\" is not normalised (expected \"" + *norm + "\")");
  }
  if (has_prefix(m.path, "stacksnap/") || m.path == "stacksnap") {
    return invalid_argument("archive path " + m.path + " is reserved for StackSnap's own records");
  }
  if (is_stream_part_name(m.path, nullptr, nullptr)) {
    return invalid_argument("archive path " + m.path + " is reserved for parts of dump streams");
  }
  return {};
}

Status check_link(const EntryMeta& m) {
  if ((m.type == EntryType::kSymlink || m.type == EntryType::kHardlink) && m.link.empty()) {
    return invalid_argument(m.path + ": link without a target");
  }
  if (m.type == EntryType::kHardlink) {
    auto t = normalize_archive_path(m.link);
    if (!t.ok() || *t != m.link || t->empty()) return invalid_argument(m.path + ": bad hardlink target " + m.link);
  }
  return {};
}

Status replay_tar_stream(EntrySink& sink, std::string_view prefix_in, Reader& in, const TarStreamOptions& o) {
  auto prefix = normalize_archive_path(prefix_in);
  if (!prefix.ok() || prefix->empty()) return invalid_argument("bad tar stream prefix \"" + std::string(prefix_in) + "\"");
  EntryMeta probe{.path = *prefix};
  TRY(check_user_path(probe));
  const std::string where = "tar stream for " + *prefix;
  auto tr = TRY(TarReader::open(in));
  auto map_path = [&](const std::string& raw) -> Result<std::optional<std::string>> {
    auto rel = normalize_archive_path(raw);
    if (!rel.ok()) return invalid_argument(where + ": unsafe entry \"" + raw + "\"");
    std::string_view rest = *rel;
    int depth = rel->empty() ? 0 : 1 + static_cast<int>(std::count(rel->begin(), rel->end(), '/'));
    if (depth < o.strip_components) return std::optional<std::string>();             // above the root: skipped
    if (depth == o.strip_components) return std::optional<std::string>(*prefix);     // the root itself
    for (int i = 0; i < o.strip_components; ++i) rest = rest.substr(rest.find('/') + 1);
    return std::optional<std::string>(*prefix + "/" + std::string(rest));
  };
  EntryMeta m;
  for (;;) {
    bool more = TRY_CTX(tr->next(m), where);
    if (!more) break;
    const std::string raw = m.path;
    auto mapped = TRY(map_path(raw));
    if (!mapped) {
      TarEntryReader skip(*tr, m.size);
      TRY(discard(skip));
      continue;
    }
    m.path = *mapped;
    if (m.type == EntryType::kHardlink) {
      auto target = TRY(map_path(m.link));
      if (!target) return invalid_argument(where + ": hardlink " + raw + " points above the stripped root");
      m.link = *target;
    }
    if (m.type == EntryType::kFile && o.filter != nullptr) {
      const std::string relative = m.path.size() > prefix->size() ? m.path.substr(prefix->size() + 1) : std::string();
      TRY_CTX(replay_filtered(sink, *o.filter, *tr, m, relative), where);
    } else if (m.type == EntryType::kFile) {
      TarEntryReader content(*tr, m.size);
      TRY_CTX(sink.add_file(m, content), where);
    } else {
      TRY_CTX(sink.add_entry(m), where);
    }
  }
  return {};
}

struct PathSet::Impl {
  std::array<std::byte, 16> salt{};
  seal::Sha256 hash;
  std::vector<uint64_t> slots = std::vector<uint64_t>(1024, 0);
  size_t count = 0;

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
    std::vector<uint64_t> bigger(slots.size() * 2, 0);
    for (uint64_t h : slots) {
      if (h != 0) place(bigger, h);
    }
    slots.swap(bigger);
  }
};

PathSet::PathSet() : impl_(std::make_unique<Impl>()) {
  (void)seal::random_bytes(MutableBytes(impl_->salt.data(), impl_->salt.size()));
}
PathSet::~PathSet() = default;

bool PathSet::insert(std::string_view path) {
  Impl& s = *impl_;
  s.hash.update(Bytes(s.salt.data(), s.salt.size()));
  s.hash.update(path);
  auto d = s.hash.finish();
  uint64_t h = 0;
  std::memcpy(&h, d.data(), sizeof h);
  if (h == 0) h = 1;  // 0 marks a free slot
  if ((s.count + 1) * 2 > s.slots.size()) s.grow();
  if (!Impl::place(s.slots, h)) return false;
  ++s.count;
  return true;
}

}  // namespace stacksnap::archive
