#include <gtest/gtest.h>

#include <map>

#include "archive/reader.h"
#include "archive/tar_io.h"
#include "archive/verify.h"
#include "archive/writer.h"
#include "archive_testutil.h"
#include "seal/crypto.h"
#include "seal/stream.h"

namespace stacksnap::archive {
namespace {

using testutil::random_text;
using testutil::test_key;

constexpr uint32_t kSeg = seal::kMinSegment;

struct ReadBack {
  nlohmann::json plan;
  std::vector<Entry> entries;
  std::map<std::string, std::string> content;
  Manifest manifest;
  ReadStats stats;
};

Result<ReadBack> read_back(const std::string& sealed, bool prefetch = true) {
  MemoryReader in(sealed);
  auto keys = seal::KeySource::from_key(test_key());
  auto r = TRY(ArchiveReader::open(in, keys, {.prefetch = prefetch}));
  ReadBack out;
  out.plan = r->plan();
  for (;;) {
    const Entry* e = TRY(r->next());
    if (!e) break;
    out.entries.push_back(*e);
    if (e->meta.type == EntryType::kFile) out.content[e->meta.path] = TRY(testutil::read_all_odd(r->content()));
  }
  out.manifest = r->manifest();
  out.stats = r->stats();
  return out;
}

EntryMeta file_meta(std::string path, uint64_t size) {
  return EntryMeta{.path = std::move(path), .type = EntryType::kFile, .mode = 0640, .uid = 1000, .gid = 1001,
                   .mtime_sec = 1700000000, .mtime_nsec = 123456789, .size = size};
}

TEST(ArchiveRoundTrip, FilesOfEdgeSizes) {
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key, {.segment_size = kSeg});
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  ASSERT_OK((*w)->add_plan({{"project", "shop"}, {"expect", {{"volumes", {"shop_data"}}}}}));
  std::map<std::string, std::string> files;
  const size_t big = size_t{seal::kSealSegment};
  for (size_t n : {size_t{0}, size_t{1}, size_t{kSeg - 1}, size_t{kSeg}, size_t{kSeg + 1}, big - 1, big, big + 1,
                   3 * big + 17}) {
    std::string path = "volumes/shop_data/f" + std::to_string(n);
    files[path] = random_text(n, static_cast<uint32_t>(n));
    MemoryReader r(files[path]);
    ASSERT_OK((*w)->add_file(file_meta(path, n), r));
  }
  ASSERT_OK((*w)->add_entry({.path = "volumes/shop_data/dir", .type = EntryType::kDirectory, .mode = 0750}));
  ASSERT_OK((*w)->add_entry({.path = "volumes/shop_data/dir/link", .type = EntryType::kSymlink, .mode = 0777,
                             .link = "../f1"}));
  ASSERT_OK((*w)->add_entry({.path = "volumes/shop_data/hard", .type = EntryType::kHardlink,
                             .link = "volumes/shop_data/f1"}));
  ASSERT_OK((*w)->set_volume_info("shop_data", {{"driver", "local"}}));
  DumpInfo d{.engine = "postgres", .version = "16.2", .row_counts = {{"shop", {{"public.orders", 42}}}}};
  ASSERT_OK((*w)->set_dump_info("db", d));
  auto sum = (*w)->finish();
  ASSERT_TRUE(sum.ok()) << sum.error().to_string();
  EXPECT_EQ(sum->sealed_bytes, out.str().size());
  EXPECT_EQ(sum->sealed_sha256, seal::hex_encode(seal::Sha256::of(as_bytes(out.str()))));
  EXPECT_EQ(sum->entries, 1 + files.size() + 3 + 1);
  EXPECT_GT(sum->segments, 3u);

  for (bool prefetch : {true, false}) {
    auto back = read_back(out.str(), prefetch);
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_EQ(back->plan["project"], "shop");
    EXPECT_EQ(back->content, files);
    ASSERT_EQ(back->entries.size(), files.size() + 3);
    const auto& first = back->entries[0].meta;
    EXPECT_EQ(first.mode, 0640u);
    EXPECT_EQ(first.uid, 1000u);
    EXPECT_EQ(first.gid, 1001u);
    EXPECT_EQ(first.mtime_sec, 1700000000);
    EXPECT_EQ(first.mtime_nsec, 123456789u);
    const auto& link = back->entries[files.size() + 1].meta;
    EXPECT_EQ(link.type, EntryType::kSymlink);
    EXPECT_EQ(link.link, "../f1");
    const auto& hard = back->entries[files.size() + 2].meta;
    EXPECT_EQ(hard.type, EntryType::kHardlink);
    EXPECT_EQ(hard.link, "volumes/shop_data/f1");
    EXPECT_EQ(back->manifest.volumes.at("shop_data")["files"], files.size());
    EXPECT_EQ(back->manifest.volumes.at("shop_data")["driver"], "local");
    EXPECT_EQ(back->manifest.dumps.at("db")["databases"]["shop"]["tables"]["public.orders"], 42);
    EXPECT_EQ(back->stats.sealed_sha256, sum->sealed_sha256);
  }
}

TEST(ArchiveRoundTrip, EmptyArchiveHasPlanAndManifest) {
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key, {.segment_size = kSeg});
  ASSERT_TRUE(w.ok());
  ASSERT_OK((*w)->add_plan(nlohmann::json::object()));
  ASSERT_TRUE((*w)->finish().ok());
  auto back = read_back(out.str());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(back->entries.empty());
  EXPECT_EQ(back->manifest.entry_count, 1u);
}

TEST(ArchiveRoundTrip, UnicodeXattrsAndLongPaths) {
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key, {.segment_size = kSeg});
  ASSERT_TRUE(w.ok());
  ASSERT_OK((*w)->add_plan({{"p", 1}}));
  std::string unicode = "config/Ünïcødé ファイル 🚀.txt";
  std::string longp = "config";
  for (int i = 0; i < 12; ++i) longp += "/" + std::string(60, static_cast<char>('a' + i));
  std::string nonutf8 = std::string("config/raw-\xff\xfe-name");
  for (const auto& p : {unicode, longp, nonutf8}) {
    EntryMeta m = file_meta(p, 5);
    m.xattrs = {{"user.comment", "hello"}, {"user.bin", std::string("\0\1\2", 3)}};
    MemoryReader r("12345");
    ASSERT_OK((*w)->add_file(m, r));
  }
  ASSERT_TRUE((*w)->finish().ok());
  auto back = read_back(out.str());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  ASSERT_EQ(back->entries.size(), 3u);
  EXPECT_EQ(back->entries[0].meta.path, unicode);
  EXPECT_EQ(back->entries[1].meta.path, longp);
  EXPECT_EQ(back->entries[2].meta.path, nonutf8);
  for (const auto& e : back->entries) {
    ASSERT_EQ(e.meta.xattrs.size(), 2u) << e.meta.path;
    std::map<std::string, std::string> xs;
    for (const auto& x : e.meta.xattrs) xs[x.name] = x.value;
    EXPECT_EQ(xs["user.comment"], "hello");
    EXPECT_EQ(xs["user.bin"], std::string("\0\1\2", 3));
  }
}

TEST(ArchiveRoundTrip, SparseEntryStaysSparseInTheTar) {
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key, {.segment_size = kSeg});
  ASSERT_TRUE(w.ok());
  ASSERT_OK((*w)->add_plan({{"p", 1}}));
  const uint64_t size = 64ull << 20;  // 64 MiB logical, 2 × 4 KiB of data
  std::string logical(size, '\0');
  std::memset(logical.data() + 4096, 'a', 4096);
  std::memset(logical.data() + size - 4096, 'z', 4096);
  EntryMeta m = file_meta("volumes/v/sparse.img", size);
  m.sparse = {{4096, 4096}, {size - 4096, 4096}};
  MemoryReader r(logical);
  ASSERT_OK((*w)->add_file(m, r));
  auto sum = (*w)->finish();
  ASSERT_TRUE(sum.ok()) << sum.error().to_string();
  EXPECT_LT(sum->tar_bytes, 64u * 1024);  // holes are not in the tar
  MemoryReader in(out.str());
  auto keys = seal::KeySource::from_key(test_key());
  auto rd = ArchiveReader::open(in, keys);
  ASSERT_TRUE(rd.ok());
  const Entry* e = *(*rd)->next();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->meta.size, size);
  EXPECT_EQ(e->meta.sparse.size(), 2u);
  uint64_t data = 0;
  for (;;) {
    auto b = (*rd)->read_block();
    ASSERT_TRUE(b.ok());
    if (b->data.empty()) break;
    data += b->data.size();
  }
  EXPECT_EQ(data, 8192u);
  ASSERT_EQ(*(*rd)->next(), nullptr);  // and the SHA-256 over the zeros matched
}

TEST(ArchiveStreams, UnknownSizeDumpComesBackAsOneEntry) {
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key, {.segment_size = kSeg, .dump_part_size = 1000});
  ASSERT_TRUE(w.ok());
  ASSERT_OK((*w)->add_plan({{"p", 1}}));
  std::string dump = random_text(3500, 5);
  MemoryReader r(dump);
  ASSERT_OK((*w)->add_stream({.path = "dumps/db/all.sql", .mode = 0600}, r));
  std::string exact = random_text(2000, 6);
  MemoryReader r2(exact);
  ASSERT_OK((*w)->add_stream({.path = "dumps/db/exact.sql"}, r2));
  MemoryReader r3("");
  ASSERT_OK((*w)->add_stream({.path = "dumps/db/empty.sql"}, r3));
  MemoryReader r4("x");
  auto bad = (*w)->add_stream({.path = "volumes/x"}, r4);
  EXPECT_EQ(testutil::code_of(bad), Code::kInvalidArgument);
  ASSERT_TRUE((*w)->finish().ok());
  auto back = read_back(out.str());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  ASSERT_EQ(back->entries.size(), 3u);
  EXPECT_TRUE(back->entries[0].is_stream);
  EXPECT_EQ(back->entries[0].meta.path, "dumps/db/all.sql");
  EXPECT_EQ(back->content["dumps/db/all.sql"], dump);
  EXPECT_EQ(back->content["dumps/db/exact.sql"], exact);
  EXPECT_EQ(back->content["dumps/db/empty.sql"], "");
  ASSERT_EQ(back->manifest.streams.size(), 3u);
  EXPECT_EQ(back->manifest.streams[0].parts, 4u);
  EXPECT_EQ(back->manifest.streams[1].parts, 2u);
  EXPECT_EQ(back->manifest.streams[2].parts, 1u);
  EXPECT_EQ(back->manifest.streams[0].sha256, seal::hex_encode(seal::Sha256::of(as_bytes(dump))));
}

TEST(ArchiveTarStream, DockerStyleStreamIsReemittedUnderPrefix) {
  // A tar as the Engine's archive endpoint returns for /data.
  StringWriter tar;
  {
    auto tw = TarWriter::create(tar);
    ASSERT_TRUE(tw.ok());
    auto add = [&](EntryMeta m, std::string content) {
      m.size = content.size();
      MemoryReader r(content);
      ASSERT_OK(write_tar_entry(**tw, m, &r));
    };
    add({.path = "data", .type = EntryType::kDirectory, .mode = 0755, .uid = 999}, "");
    add({.path = "data/a.txt", .type = EntryType::kFile, .mode = 0600, .uid = 999, .xattrs = {{"user.k", "v"}}}, "alpha");
    add({.path = "data/sub", .type = EntryType::kDirectory, .mode = 0700}, "");
    add({.path = "data/sub/b.bin", .type = EntryType::kFile, .mode = 0644}, random_text(100000, 3));
    add({.path = "data/sub/hard", .type = EntryType::kHardlink, .link = "data/a.txt"}, "");
    add({.path = "data/ln", .type = EntryType::kSymlink, .mode = 0777, .link = "/etc/passwd"}, "");
    add({.path = "data/fifo", .type = EntryType::kFifo, .mode = 0644}, "");
    ASSERT_OK((*tw)->finish());
  }
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key, {.segment_size = kSeg});
  ASSERT_TRUE(w.ok());
  ASSERT_OK((*w)->add_plan({{"p", 1}}));
  MemoryReader tr(tar.str());
  ASSERT_OK((*w)->add_tar_stream("volumes/shop_data", tr, {.strip_components = 1}));
  ASSERT_TRUE((*w)->finish().ok());
  auto back = read_back(out.str());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  std::vector<std::string> paths;
  for (const auto& e : back->entries) paths.push_back(e.meta.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"volumes/shop_data", "volumes/shop_data/a.txt", "volumes/shop_data/sub",
                                             "volumes/shop_data/sub/b.bin", "volumes/shop_data/sub/hard",
                                             "volumes/shop_data/ln", "volumes/shop_data/fifo"}));
  EXPECT_EQ(back->entries[0].meta.uid, 999u);
  EXPECT_EQ(back->entries[1].meta.xattrs.size(), 1u);
  EXPECT_EQ(back->entries[4].meta.link, "volumes/shop_data/a.txt");
  EXPECT_EQ(back->entries[6].meta.type, EntryType::kFifo);
  EXPECT_EQ(back->content["volumes/shop_data/a.txt"], "alpha");
  EXPECT_EQ(back->manifest.volumes.at("shop_data")["files"], 2);
  EXPECT_EQ(back->manifest.volumes.at("shop_data")["bytes"], 100005);

  // …and back out as a tar for the Engine's PUT endpoint.
  MemoryReader in(out.str());
  auto keys = seal::KeySource::from_key(test_key());
  auto rd = ArchiveReader::open(in, keys);
  ASSERT_TRUE(rd.ok());
  StringWriter subtree;
  ASSERT_OK(write_subtree_as_tar(**rd, "volumes/shop_data", subtree));
  MemoryReader st(subtree.str());
  auto trd = TarReader::open(st);
  ASSERT_TRUE(trd.ok());
  EntryMeta m;
  std::vector<std::string> names;
  while (*(*trd)->next(m)) names.push_back(m.path + (m.type == EntryType::kHardlink ? " -> " + m.link : ""));
  EXPECT_EQ(names, (std::vector<std::string>{".", "a.txt", "sub", "sub/b.bin", "sub/hard -> a.txt", "ln", "fifo"}));
}

TEST(ArchiveTarStream, RefusesDotDot) {
  StringWriter tar;
  {
    auto tw = TarWriter::create(tar);
    ASSERT_TRUE(tw.ok());
    MemoryReader r("x");
    ASSERT_OK(write_tar_entry(**tw, {.path = "../escape", .size = 1}, &r));
    ASSERT_OK((*tw)->finish());
  }
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key);
  ASSERT_TRUE(w.ok());
  ASSERT_OK((*w)->add_plan({{"p", 1}}));
  MemoryReader tr(tar.str());
  auto st = (*w)->add_tar_stream("volumes/v", tr);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kInvalidArgument);
  auto again = (*w)->finish();  // poisoned
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kFailedPrecondition);
}

TEST(ArchiveWriterContract, ChecksOrderPathsAndSizes) {
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key);
  ASSERT_TRUE(w.ok());
  MemoryReader r0("abc");
  EXPECT_EQ(testutil::code_of((*w)->add_file(file_meta("config/a", 3), r0)), Code::kFailedPrecondition);  // plan first
  ASSERT_OK((*w)->add_plan({{"p", 1}}));
  MemoryReader r1("abc");
  EXPECT_EQ(testutil::code_of((*w)->add_file(file_meta("config/../a", 3), r1)), Code::kInvalidArgument);
  EXPECT_EQ(testutil::code_of((*w)->add_file(file_meta("/abs", 3), r1)), Code::kInvalidArgument);
  EXPECT_EQ(testutil::code_of((*w)->add_file(file_meta("stacksnap/x", 3), r1)), Code::kInvalidArgument);
  EXPECT_EQ(testutil::code_of((*w)->add_file(file_meta("dumps/x.part000001", 3), r1)), Code::kInvalidArgument);
  MemoryReader shorter("ab");
  auto st = (*w)->add_file(file_meta("config/a", 3), shorter);
  EXPECT_EQ(testutil::code_of(st), Code::kFailedPrecondition);
  EXPECT_NE(st.error().message().find("before its declared size"), std::string::npos);
  EXPECT_FALSE((*w)->finish().ok());
  // Destroyed without finish: no final segment, so the output never verifies.
  w->reset();
  auto back = read_back(out.str());
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code(), Code::kDataLoss);
}

TEST(ArchiveWriterContract, ADuplicatePathIsRefused) {
  auto key = test_key();
  auto attempt = [&](auto&& second) {
    StringWriter out;
    auto w = ArchiveWriter::create(out, key);
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->add_plan({{"p", 1}}).ok());
    MemoryReader a("abc");
    EXPECT_TRUE((*w)->add_file(file_meta("dumps/db/my_db.pgdump", 3), a).ok());
    return second(**w);
  };
  auto st = attempt([](ArchiveWriter& w) {
    MemoryReader b("xyz");
    return w.add_file(file_meta("dumps/db/my_db.pgdump", 3), b);
  });
  ASSERT_EQ(testutil::code_of(st), Code::kInvalidArgument);
  EXPECT_NE(st.error().message().find("dumps/db/my_db.pgdump was already written"), std::string::npos);
  // A stream of the same logical name twice collides on its first part.
  auto twice = attempt([](ArchiveWriter& w) -> Status {
    MemoryReader one("first dump");
    TRY(w.add_stream(file_meta("dumps/db/x.sql", 0), one));
    MemoryReader two("second dump");
    return w.add_stream(file_meta("dumps/db/x.sql", 0), two);
  });
  EXPECT_EQ(testutil::code_of(twice), Code::kInvalidArgument);
  // Many distinct paths are all accepted (the table grows).
  auto many = attempt([](ArchiveWriter& w) -> Status {
    for (int i = 0; i < 5000; ++i) {
      MemoryReader r("");
      TRY(w.add_file(file_meta("volumes/v/f" + std::to_string(i), 0), r));
    }
    return {};
  });
  EXPECT_TRUE(many.ok()) << many.error().to_string();
}

TEST(ArchiveWriterContract, LongerContentIsRefused) {
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key);
  ASSERT_TRUE(w.ok());
  ASSERT_OK((*w)->add_plan({{"p", 1}}));
  MemoryReader longer("abcd");
  EXPECT_EQ(testutil::code_of((*w)->add_file(file_meta("config/a", 3), longer)), Code::kFailedPrecondition);
}

// A Writer that fails after `limit` bytes (disk full mid-archive).
class FaultyWriter final : public Writer {
 public:
  explicit FaultyWriter(size_t limit) : limit_(limit) {}
  Status write(Bytes data) override {
    if (written_ + data.size() > limit_) return resource_exhausted("disk full (injected)");
    written_ += data.size();
    return {};
  }

 private:
  size_t limit_, written_ = 0;
};

TEST(ArchiveWriterContract, OutputFailureIsReportedAndPoisons) {
  for (size_t limit : {size_t{0}, size_t{100}, size_t{5000}, size_t{200000}}) {
    FaultyWriter out(limit);
    auto key = test_key();
    auto w = ArchiveWriter::create(out, key, {.segment_size = kSeg});
    Status st;
    if (!w.ok()) {
      st = w.error();
    } else {
      st = (*w)->add_plan({{"p", 1}});
      std::string data = random_text(300000, 1);
      MemoryReader r(data);
      if (st.ok()) st = (*w)->add_file(file_meta("config/a", data.size()), r);
      if (st.ok()) {
        auto sum = (*w)->finish();
        if (!sum.ok()) st = sum.error();
      }
    }
    ASSERT_FALSE(st.ok()) << limit;
    EXPECT_EQ(st.error().code(), Code::kResourceExhausted) << limit << ": " << st.error().to_string();
  }
}

TEST(ArchiveManifest, LineLogStaysSmall) {
  LineLog log;
  for (int i = 0; i < 100000; ++i) {
    ManifestEntry e{.path = "volumes/v/dir" + std::to_string(i / 100) + "/file" + std::to_string(i),
                    .size = static_cast<uint64_t>(i), .mode = 0644, .mtime_sec = 1700000000 + i,
                    .sha256 = seal::hex_encode(seal::Sha256::of(as_bytes(std::to_string(i))))};
    log.append(to_json(e).dump());
  }
  EXPECT_LT(log.memory_bytes(), 6u << 20);  // ~190 bytes of JSON per entry, kept compressed
  LineLog::Cursor c(log);
  uint64_t n = 0;
  for (;;) {
    auto line = c.next();
    ASSERT_TRUE(line.ok());
    if (!*line) break;
    ++n;
  }
  EXPECT_EQ(n, 100000u);
}

TEST(ArchiveVerify, DeepReportAndShallowExpectations) {
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key, {.segment_size = kSeg});
  ASSERT_TRUE(w.ok());
  ASSERT_OK((*w)->add_plan({{"p", 1}}));
  MemoryReader r("hello");
  ASSERT_OK((*w)->add_file(file_meta("config/a", 5), r));
  auto sum = (*w)->finish();
  ASSERT_TRUE(sum.ok());
  auto keys = seal::KeySource::from_key(test_key());
  MemoryReader in(out.str());
  auto rep = verify_archive(in, &keys, {});
  ASSERT_TRUE(rep.ok()) << rep.error().to_string();
  EXPECT_EQ(rep->sealed_sha256, sum->sealed_sha256);
  EXPECT_EQ(rep->files, 2u);
  MemoryReader in2(out.str());
  auto shallow = verify_archive(in2, nullptr, {.depth = VerifyDepth::kShallow, .expected_sha256 = sum->sealed_sha256});
  ASSERT_TRUE(shallow.ok()) << shallow.error().to_string();
  std::string bad = out.str();
  bad[bad.size() / 2] ^= 1;
  MemoryReader in3(bad);
  auto s2 = verify_archive(in3, nullptr, {.depth = VerifyDepth::kShallow, .expected_sha256 = sum->sealed_sha256});
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.error().code(), Code::kDataLoss);
  MemoryReader in4(out.str());
  EXPECT_EQ(verify_archive(in4, nullptr, {.depth = VerifyDepth::kShallow}).error().code(), Code::kFailedPrecondition);

  // Authenticate: every segment with the key, size and SHA-256; no decompression.
  MemoryReader in5(out.str());
  auto auth = verify_archive(in5, &keys, {.depth = VerifyDepth::kAuthenticate, .expected_size = sum->sealed_bytes,
                                          .expected_sha256 = sum->sealed_sha256});
  ASSERT_TRUE(auth.ok()) << auth.error().to_string();
  EXPECT_EQ(auth->sealed_bytes, sum->sealed_bytes);
  EXPECT_EQ(auth->sealed_sha256, sum->sealed_sha256);
  EXPECT_FALSE(auth->key_fingerprint.empty());
  EXPECT_EQ(auth->files, 0u) << "nothing decompressed";
  MemoryReader in6(bad);  // a flipped byte fails its segment's tag even without a recorded SHA-256
  auto a2 = verify_archive(in6, &keys, {.depth = VerifyDepth::kAuthenticate});
  ASSERT_FALSE(a2.ok());
  EXPECT_EQ(a2.error().code(), Code::kDataLoss);
  const std::string truncated = out.str().substr(0, out.str().size() - 100);
  MemoryReader in7(truncated);
  EXPECT_EQ(verify_archive(in7, &keys, {.depth = VerifyDepth::kAuthenticate}).error().code(), Code::kDataLoss);
  MemoryReader in8(out.str());
  EXPECT_EQ(verify_archive(in8, nullptr, {.depth = VerifyDepth::kAuthenticate}).error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace stacksnap::archive
