// Every entry of a sealed archive as one line of text (path, type, mode, owner, mtime,
// size, link, sparse regions, xattrs, content size and SHA-256) with its manifest head and
// plan: two archives list the same when they hold the same backup.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive/reader.h"
#include "base/stream.h"
#include "seal/crypto.h"
#include "seal/key.h"

namespace stacksnap::testutil {

struct Listed {
  std::vector<std::string> lines;  // every entry: meta and content hash
  nlohmann::json manifest;
  nlohmann::json plan;
};

inline Result<Listed> list_archive(const std::string& sealed, const seal::MasterKey& key) {
  MemoryReader in(sealed);
  auto keys = seal::KeySource::from_key(TRY(key.clone()));
  auto r = TRY(archive::ArchiveReader::open(in, keys));
  Listed out;
  out.plan = r->plan();
  for (;;) {
    const archive::Entry* e = TRY(r->next());
    if (!e) break;
    const auto& m = e->meta;
    std::string content = m.type == archive::EntryType::kFile ? TRY(read_all(r->content(), 1u << 30)) : "";
    nlohmann::json x = nlohmann::json::array();
    for (const auto& a : m.xattrs) x.push_back(a.name + "=" + a.value);
    out.lines.push_back(seal::hex_encode(as_bytes(m.path)) + " " + std::string(archive::entry_type_name(m.type)) + " " +
                        std::to_string(m.mode) + " " + std::to_string(m.uid) + " " + std::to_string(m.mtime_sec) + "." +
                        std::to_string(m.mtime_nsec) + " " + std::to_string(m.size) + " " + m.link + " " +
                        std::to_string(m.sparse.size()) + " " + x.dump() + " " + (e->is_stream ? "stream " : "") +
                        std::to_string(content.size()) + " " + seal::hex_encode(seal::Sha256::of(as_bytes(content))));
  }
  out.manifest = r->manifest().head_json();
  return out;
}

}  // namespace stacksnap::testutil
