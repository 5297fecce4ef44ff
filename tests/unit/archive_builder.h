// Test helper: builds archives entry by entry without ArchiveWriter's checks, so tests
// can seal hostile but authentic archives (bad paths, device nodes, …) with a valid
// plan and manifest.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "archive/manifest.h"
#include "archive/tar_io.h"
#include "base/stream.h"
#include "codec/zstd.h"
#include "seal/crypto.h"
#include "seal/stream.h"

namespace stacksnap::testutil {

struct RawEntry {
  archive::EntryMeta meta;
  std::string content;  // regular files
};

inline Result<std::string> build_raw_archive(const std::vector<RawEntry>& entries, const seal::MasterKey& key,
                                             uint32_t segment_size = seal::kMinSegment) {
  using namespace archive;
  StringWriter out;
  auto sw = TRY(seal::SealWriter::create(out, key, {.segment_size = segment_size}));
  auto zw = TRY(codec::ZstdWriter::create(*sw, {.level = 3, .threads = -1}));
  auto tw = TRY(TarWriter::create(*zw));
  LineLog log;
  Manifest m;
  std::string plan = "{\"project\":\"test\"}\n";
  std::vector<RawEntry> all;
  all.push_back({EntryMeta{.path = std::string(kPlanPath), .size = plan.size()}, plan});
  all.insert(all.end(), entries.begin(), entries.end());
  for (const auto& e : all) {
    EntryMeta meta = e.meta;
    if (meta.type == EntryType::kFile) meta.size = e.content.size();
    MemoryReader r(e.content);
    TRY(write_tar_entry(*tw, meta, &r));
    std::string sha;
    if (meta.type == EntryType::kFile) {
      sha = seal::hex_encode(seal::Sha256::of(as_bytes(e.content)));
      ++m.file_count;
      m.total_bytes += meta.size;
    }
    log.append(to_json(manifest_entry_for(meta, sha)).dump());
    for (std::string root : {"volumes/", "binds/"}) {
      if (meta.path.rfind(root, 0) != 0) continue;
      std::string name = meta.path.substr(root.size(), meta.path.find('/', root.size()) - root.size());
      if (name.empty()) continue;
      auto& rec = (root == "volumes/" ? m.volumes : m.binds)[name];
      if (!rec.is_object()) rec = {{"files", 0}, {"bytes", 0}};
      if (meta.type == EntryType::kFile) {
        rec["files"] = rec["files"].get<uint64_t>() + 1;
        rec["bytes"] = rec["bytes"].get<uint64_t>() + meta.size;
      }
    }
  }
  m.entry_count = log.count();
  ManifestSerializer ser(m, log);
  StringWriter mtext;
  TRY(ser.write_to(mtext));
  EntryMeta mm{.path = std::string(kManifestPath), .size = mtext.str().size()};
  MemoryReader mr(mtext.str());
  TRY(write_tar_entry(*tw, mm, &mr));
  TRY(tw->finish());
  TRY(zw->close());
  TRY(sw->close());
  return out.take();
}

}  // namespace stacksnap::testutil
