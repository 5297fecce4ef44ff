#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/build_paths.h"
#include "archive/extract.h"
#include "archive/fs_source.h"
#include "archive/reader.h"
#include "archive/verify.h"
#include "archive/writer.h"
#include "archive_builder.h"
#include "archive_testutil.h"
#include "seal/crypto.h"
#include "base/fd.h"
#include "base/temp_dir.h"

namespace stacksnap::archive {
namespace {

namespace fs = std::filesystem;
using testutil::random_text;
using testutil::test_key;

constexpr uint32_t kSeg = seal::kMinSegment;

void write_text(const std::string& path, const std::string& s) {
  std::ofstream f(path, std::ios::binary);
  f << s;
}

std::string read_text(const std::string& path) {
  auto r = read_small_file(path, 1u << 30);
  return r.ok() ? *r : "<unreadable: " + r.error().to_string() + ">";
}

Status write_archive_file(const std::string& path, const std::string& bytes) {
  return write_file_atomic(path, bytes, 0600);
}

Result<std::string> pack_dir(const std::string& dir, uint32_t seg = kSeg) {
  StringWriter out;
  auto key = test_key();
  auto w = TRY(ArchiveWriter::create(out, key, {.segment_size = seg}));
  TRY(w->add_plan({{"project", "fs"}}));
  TRY(add_directory_tree(*w, dir, "binds/0"));
  TRY(w->finish());
  return out.take();
}

std::string fmt_mode(uint32_t mode) {
  char b[8];
  std::snprintf(b, sizeof b, "%04o", mode);
  return b;
}

bool dir_is_empty_or_missing(const std::string& d) {
  std::error_code ec;
  return !fs::exists(d, ec) || fs::is_empty(d, ec);
}

TEST(ArchiveFs, TreeRoundTripThroughExtract) {
  auto tmp = TempDir::create("/tmp");
  ASSERT_TRUE(tmp.ok());
  const std::string src = tmp->path() + "/src";
  fs::create_directories(src + "/sub/deeper");
  write_text(src + "/plain.txt", "plain content\n");
  write_text(src + "/sub/big.bin", random_text(3 * kSeg * 10 + 7, 1));
  ::chmod((src + "/plain.txt").c_str(), 0640);
  ASSERT_EQ(::link((src + "/plain.txt").c_str(), (src + "/sub/hardlink.txt").c_str()), 0);
  ASSERT_EQ(::symlink("../plain.txt", (src + "/sub/symlink").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/hostname", (src + "/abs-symlink").c_str()), 0);
  ASSERT_EQ(::mkfifo((src + "/fifo").c_str(), 0600), 0);
  std::string uni = src + "/sub/deeper/Ünïcødé ファイル 🚀";
  write_text(uni, "unicode");
  std::string longdir = src;
  for (int i = 0; i < 10; ++i) longdir += "/" + std::string(50, static_cast<char>('a' + i));
  fs::create_directories(longdir);
  write_text(longdir + "/" + std::string(200, 'L'), "long");
  // A sparse file: 32 MiB with 4 KiB of data in the middle.
  {
    auto fd = open_file(src + "/sparse.img", O_WRONLY | O_CREAT, 0600);
    ASSERT_TRUE(fd.ok());
    ASSERT_EQ(::pwrite(fd->get(), "DATA", 4, 16 << 20), 4);
    ASSERT_EQ(::ftruncate(fd->get(), 32 << 20), 0);
  }
  bool have_xattr = ::setxattr((src + "/plain.txt").c_str(), "user.stacksnap", "yes", 3, 0) == 0;
  struct timespec times[2] = {{0, UTIME_OMIT}, {1600000000, 987654321}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src + "/plain.txt").c_str(), times, 0), 0);

  auto sealed = pack_dir(src);
  ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();
  EXPECT_LT(sealed->size(), 1u << 20);  // the 32 MiB hole is not stored
  const std::string file = tmp->path() + "/a.ssa";
  ASSERT_OK(write_archive_file(file, *sealed));

  for (auto mode : {ExtractMode::kVerifyFirst, ExtractMode::kStream}) {
    const std::string out = tmp->path() + (mode == ExtractMode::kStream ? "/out-stream" : "/out");
    auto keys = seal::KeySource::from_key(test_key());
    auto sum = extract_archive_file(file, keys, out, {.mode = mode});
    ASSERT_TRUE(sum.ok()) << sum.error().to_string();
    const std::string root = out + "/binds/0";
    EXPECT_EQ(read_text(root + "/plain.txt"), "plain content\n");
    EXPECT_EQ(read_text(root + "/sub/big.bin"), read_text(src + "/sub/big.bin"));
    EXPECT_EQ(read_text(root + "/sub/deeper/Ünïcødé ファイル 🚀"), "unicode");
    std::string longout = root + longdir.substr(src.size()) + "/" + std::string(200, 'L');
    EXPECT_EQ(read_text(longout), "long");
    struct stat a{}, b{};
    ASSERT_EQ(::stat((root + "/plain.txt").c_str(), &a), 0);
    ASSERT_EQ(::stat((root + "/sub/hardlink.txt").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino) << "hardlink kept";
    EXPECT_EQ(a.st_mode & 07777, 0640u);
    EXPECT_EQ(a.st_mtim.tv_sec, 1600000000);
    EXPECT_EQ(a.st_mtim.tv_nsec, 987654321);
    EXPECT_EQ(fs::read_symlink(root + "/sub/symlink"), "../plain.txt");
    EXPECT_EQ(fs::read_symlink(root + "/abs-symlink"), "/etc/hostname");
    EXPECT_TRUE(fs::is_fifo(fs::symlink_status(root + "/fifo")));
    struct stat sp{};
    ASSERT_EQ(::stat((root + "/sparse.img").c_str(), &sp), 0);
    EXPECT_EQ(sp.st_size, 32 << 20);
    EXPECT_LT(sp.st_blocks * 512, 1 << 20) << "sparse file stays sparse";
    EXPECT_EQ(read_text(root + "/sparse.img").substr(16 << 20, 4), "DATA");
    if (have_xattr) {
      char v[8] = {};
      EXPECT_EQ(::getxattr((root + "/plain.txt").c_str(), "user.stacksnap", v, sizeof v), 3);
      EXPECT_STREQ(v, "yes");
    }
    EXPECT_TRUE(fs::exists(out + "/stacksnap/plan.json"));
    EXPECT_TRUE(fs::exists(out + "/stacksnap/manifest.json"));
    auto again = extract_archive_file(file, keys, out, {.mode = mode});
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code(), Code::kFailedPrecondition);  // not empty
  }
}

TEST(ArchiveFs, DumpStreamIsExtractedAsOneFile) {
  auto tmp = TempDir::create("/tmp");
  ASSERT_TRUE(tmp.ok());
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key, {.segment_size = kSeg, .dump_part_size = 4096});
  ASSERT_TRUE(w.ok());
  ASSERT_OK((*w)->add_plan({{"p", 1}}));
  std::string dump = random_text(10000, 2);
  MemoryReader r(dump);
  ASSERT_OK((*w)->add_stream({.path = "dumps/db/all.sql", .mode = 0600}, r));
  ASSERT_TRUE((*w)->finish().ok());
  ASSERT_OK(write_archive_file(tmp->path() + "/a", out.str()));
  auto keys = seal::KeySource::from_key(test_key());
  auto sum = extract_archive_file(tmp->path() + "/a", keys, tmp->path() + "/out", {});
  ASSERT_TRUE(sum.ok()) << sum.error().to_string();
  EXPECT_EQ(read_text(tmp->path() + "/out/dumps/db/all.sql"), dump);
}

// ---- corruption table at the archive level: deep verify and extract ----------------

TEST(ArchiveCorruption, EveryDamageIsDataLossAndWritesNothing) {
  auto tmp = TempDir::create("/tmp");
  ASSERT_TRUE(tmp.ok());
  StringWriter out;
  auto key = test_key();
  auto w = ArchiveWriter::create(out, key, {.zstd_threads = -1, .segment_size = kSeg});
  ASSERT_TRUE(w.ok());
  ASSERT_OK((*w)->add_plan({{"p", 1}}));
  std::string data = random_text(6 * kSeg, 3);
  MemoryReader r(data);
  ASSERT_OK((*w)->add_file({.path = "volumes/v/data.bin", .size = data.size()}, r));
  ASSERT_TRUE((*w)->finish().ok());
  const std::string good = out.str();
  const size_t seg = kSeg + seal::kTagSize;
  const size_t nseg = (good.size() - seal::kHeaderSize + seg - 1) / seg;
  ASSERT_GE(nseg, 6u);
  auto off = [&](size_t i) { return seal::kHeaderSize + i * seg; };
  auto segment = [&](size_t i) { return good.substr(off(i), seg); };
  auto flip = [&](size_t at) {
    std::string c = good;
    c[at] = static_cast<char>(c[at] ^ 0x01);
    return c;
  };
  struct Case {
    std::string name, bytes, message;
  };
  std::vector<Case> cases = {
      {"flip header byte", flip(20), "header"},
      {"flip body", flip(off(2) + 100), "segment 2 at byte offset " + std::to_string(off(2))},
      {"flip tag", flip(off(3) + seg - 1), "segment 3"},
      {"flip final tag", flip(good.size() - 2), "segment " + std::to_string(nseg - 1)},
      {"drop final segment", good.substr(0, off(nseg - 1)), "final segment is missing"},
      {"swap 1 and 2", good.substr(0, off(1)) + segment(2) + segment(1) + good.substr(off(3)), "segment 1"},
      {"duplicate 0", good.substr(0, off(1)) + segment(0) + good.substr(off(1)), "segment 1"},
  };
  for (size_t i = 0; i < nseg; ++i) {
    if (i > 0) cases.push_back({"cut at boundary " + std::to_string(i), good.substr(0, off(i)), "truncated"});
    cases.push_back({"cut mid segment " + std::to_string(i), good.substr(0, off(i) + 77), "segment " + std::to_string(i)});
  }
  auto keys = seal::KeySource::from_key(test_key());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    MemoryReader in(c.bytes);
    auto rep = verify_archive(in, &keys, {});
    ASSERT_FALSE(rep.ok());
    EXPECT_EQ(rep.error().code(), Code::kDataLoss) << rep.error().to_string();
    EXPECT_NE(rep.error().message().find(c.message), std::string::npos) << rep.error().to_string();
    const std::string file = tmp->path() + "/bad", dir = tmp->path() + "/out";
    ASSERT_OK(write_archive_file(file, c.bytes));
    auto ex = extract_archive_file(file, keys, dir, {});
    ASSERT_FALSE(ex.ok());
    EXPECT_EQ(ex.error().code(), Code::kDataLoss);
    EXPECT_FALSE(fs::exists(dir)) << "nothing may be written";
  }
  // Wrong key and wrong passphrase: Unauthenticated, told apart from corruption.
  auto wrong = seal::KeySource::from_key(test_key(9));
  MemoryReader in(good);
  auto rep = verify_archive(in, &wrong, {});
  ASSERT_FALSE(rep.ok());
  EXPECT_EQ(rep.error().code(), Code::kUnauthenticated);
  auto pk = seal::MasterKey::from_passphrase("right", testutil::fast_argon2());
  ASSERT_TRUE(pk.ok());
  StringWriter pout;
  auto pw = ArchiveWriter::create(pout, *pk, {.segment_size = kSeg});
  ASSERT_TRUE(pw.ok());
  ASSERT_OK((*pw)->add_plan({{"p", 1}}));
  ASSERT_TRUE((*pw)->finish().ok());
  ASSERT_OK(write_archive_file(tmp->path() + "/p", pout.str()));
  auto wrongpass = seal::KeySource::from_passphrase(std::move(seal::SecretString::from("wrong")).value());
  auto ex = extract_archive_file(tmp->path() + "/p", wrongpass, tmp->path() + "/pout", {});
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.error().code(), Code::kUnauthenticated);
  EXPECT_NE(ex.error().message().find("wrong passphrase"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp->path() + "/pout"));
  auto rightpass = seal::KeySource::from_passphrase(std::move(seal::SecretString::from("right")).value());
  EXPECT_TRUE(extract_archive_file(tmp->path() + "/p", rightpass, tmp->path() + "/pout", {}).ok());
}

// ---- hostile archives sealed with the right key --------------------------------------

TEST(ArchiveMalicious, ExtractionRefusesAndWritesNothingOutside) {
  auto tmp = TempDir::create("/tmp");
  ASSERT_TRUE(tmp.ok());
  const std::string outside = tmp->path() + "/outside";
  fs::create_directories(outside);
  using testutil::RawEntry;
  struct Case {
    std::string name;
    std::vector<RawEntry> entries;
  };
  std::vector<Case> cases = {
      {"dotdot", {{{.path = "volumes/../../outside/evil", .size = 4}, "evil"}}},
      {"absolute", {{{.path = outside + "/evil", .size = 4}, "evil"}}},
      {"symlink then file through it",
       {{{.path = "volumes/link", .type = EntryType::kSymlink, .mode = 0777, .link = outside}, ""},
        {{.path = "volumes/link/evil", .size = 4}, "evil"}}},
      {"symlink dir then nested file",
       {{{.path = "config", .type = EntryType::kDirectory, .mode = 0755}, ""},
        {{.path = "config/l", .type = EntryType::kSymlink, .mode = 0777, .link = "../../outside"}, ""},
        {{.path = "config/l/sub/evil", .size = 4}, "evil"}}},
      {"char device", {{{.path = "volumes/null", .type = EntryType::kCharDevice, .mode = 0666, .dev_major = 1, .dev_minor = 3}, ""}}},
      {"block device", {{{.path = "volumes/sda", .type = EntryType::kBlockDevice, .mode = 0660, .dev_major = 8}, ""}}},
      {"hardlink escaping", {{{.path = "volumes/h", .type = EntryType::kHardlink, .link = "../outside/x"}, ""}}},
      {"hardlink to absolute", {{{.path = "volumes/h", .type = EntryType::kHardlink, .link = "/etc/passwd"}, ""}}},
      {"overwrite our records", {{{.path = "stacksnap/plan.json.evil", .size = 4}, "evil"}}},
  };
  auto keys = seal::KeySource::from_key(test_key());
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto sealed = testutil::build_raw_archive(c.entries, test_key());
    if (!sealed.ok()) FAIL() << sealed.error().to_string();
    // The archive itself is authentic and intact:
    MemoryReader in(*sealed);
    auto vr = verify_archive(in, &keys, {});
    ASSERT_TRUE(vr.ok()) << vr.error().to_string();
    const std::string file = tmp->path() + "/m" + std::to_string(n);
    ASSERT_OK(write_archive_file(file, *sealed));
    for (auto mode : {ExtractMode::kVerifyFirst, ExtractMode::kStream}) {
      const std::string dir = tmp->path() + "/out" + std::to_string(n++);
      auto ex = extract_archive_file(file, keys, dir, {.mode = mode});
      ASSERT_FALSE(ex.ok());
      EXPECT_EQ(ex.error().code(), Code::kInvalidArgument) << ex.error().to_string();
      EXPECT_NE(ex.error().message().find("refusing"), std::string::npos) << ex.error().to_string();
      EXPECT_TRUE(dir_is_empty_or_missing(outside)) << "something was written outside";
      if (mode == ExtractMode::kVerifyFirst) {
        EXPECT_FALSE(fs::exists(dir)) << "verify-first wrote something";
      }
    }
  }
}

TEST(ArchiveFixture, V1ExtractsByteIdentically) {
  const fs::path dir = fs::path(stacksnap::build_paths::source_dir()) / "tests/fixtures/format/v1";
  ASSERT_TRUE(fs::exists(dir / "archive-keyfile.ssa")) << "fixture missing in " << dir;
  auto expected = read_small_file((dir / "expected.txt").string());
  ASSERT_TRUE(expected.ok());
  auto tmp = TempDir::create("/tmp");
  ASSERT_TRUE(tmp.ok());
  // The committed key file is 0644 in git; copy it to a private file first.
  auto key_text = read_small_file((dir / "key").string());
  ASSERT_TRUE(key_text.ok());
  ASSERT_OK(write_file_atomic(tmp->path() + "/key", *key_text, 0600));
  auto key = seal::read_key_file(tmp->path() + "/key");
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  struct Variant {
    std::string file;
    seal::KeySource keys;
  };
  std::vector<Variant> variants;
  variants.push_back({"archive-keyfile.ssa", seal::KeySource::from_key(std::move(*key))});
  variants.push_back({"archive-passphrase.ssa", seal::KeySource::from_passphrase(
                                                     std::move(seal::SecretString::from("stacksnap fixture v1")).value())});
  for (auto& v : variants) {
    SCOPED_TRACE(v.file);
    const std::string out = tmp->path() + "/" + v.file + ".out";
    auto sum = extract_archive_file((dir / v.file).string(), v.keys, out, {});
    ASSERT_TRUE(sum.ok()) << sum.error().to_string();
    // expected.txt: "<type> <mode octal> <sha256 or link target or -> <path>" per line.
    std::istringstream lines(*expected);
    std::string type, mode, what, path;
    int checked = 0;
    while (lines >> type >> mode >> what && std::getline(lines, path)) {
      path = path.substr(1);
      const std::string p = out + "/" + path;
      struct stat st{};
      ASSERT_EQ(::lstat(p.c_str(), &st), 0) << path;
      EXPECT_EQ(st.st_mode & 07777, std::stoul(mode, nullptr, 8)) << path;
      if (type == "hardlink") {
        struct stat t{};
        ASSERT_EQ(::lstat((out + "/" + what).c_str(), &t), 0) << what;
        EXPECT_EQ(st.st_ino, t.st_ino) << path;
      } else if (type == "file") {
        auto content = read_small_file(p, 64 << 20);
        ASSERT_TRUE(content.ok());
        EXPECT_EQ(seal::hex_encode(seal::Sha256::of(as_bytes(*content))), what) << path;
      } else if (type == "symlink") {
        EXPECT_EQ(fs::read_symlink(p).string(), what) << path;
      } else {
        EXPECT_TRUE(S_ISDIR(st.st_mode)) << path;
      }
      ++checked;
    }
    EXPECT_GT(checked, 5);
  }
}

// Writes tests/fixtures/format/v1 once (run explicitly:
//   stacksnap_unit_tests --gtest_also_run_disabled_tests --gtest_filter='*GenerateV1*').
// The committed files must never be regenerated: later versions must read them as they are.
TEST(ArchiveFixture, DISABLED_GenerateV1) {
  const fs::path dir = fs::path(stacksnap::build_paths::source_dir()) / "tests/fixtures/format/v1";
  fs::create_directories(dir);
  auto key = seal::MasterKey::generate();
  ASSERT_TRUE(key.ok());
  ASSERT_OK(seal::write_key_file((dir / "key").string(), *key, seal::Overwrite::kAllow));
  seal::Argon2Params ap;
  ap.opslimit = 2;
  ap.memlimit_kib = 1024;
  ASSERT_OK(seal::random_bytes(MutableBytes(reinterpret_cast<std::byte*>(ap.salt.data()), ap.salt.size())));
  auto pkey = seal::MasterKey::from_passphrase("stacksnap fixture v1", ap);
  ASSERT_TRUE(pkey.ok());
  std::string expected;
  auto build = [&](const seal::MasterKey& k, const std::string& name, bool record) {
    StringWriter out;
    auto w = ArchiveWriter::create(out, k, {.segment_size = 4096, .dump_part_size = 8192});
    ASSERT_TRUE(w.ok());
    ASSERT_OK((*w)->add_plan({{"project", "fixture"}, {"created", "2026-01-01T00:00:00Z"},
                              {"expect", {{"dumps", {"db"}}, {"volumes", {"data"}}}}}));
    auto dirent = [&](const std::string& p, uint32_t mode) {
      ASSERT_OK((*w)->add_entry({.path = p, .type = EntryType::kDirectory, .mode = mode, .mtime_sec = 1767225600}));
      if (record) expected += "dir " + fmt_mode(mode) + " - " + p + "\n";
    };
    auto file = [&](const std::string& p, uint32_t mode, const std::string& content) {
      MemoryReader r(content);
      ASSERT_OK((*w)->add_file({.path = p, .mode = mode, .uid = 1000, .gid = 1000, .mtime_sec = 1767225600,
                                .mtime_nsec = 500, .size = content.size(), .xattrs = {{"user.fixture", "v1"}}},
                               r));
      if (record) expected += "file " + fmt_mode(mode) + " " + seal::hex_encode(seal::Sha256::of(as_bytes(content))) + " " + p + "\n";
    };
    std::string dump;
    for (int i = 0; i < 700; ++i) dump += "INSERT INTO orders VALUES (" + std::to_string(i) + ", 'item " + std::to_string(i * 7) + "');\n";
    MemoryReader dr(dump);
    ASSERT_OK((*w)->add_stream({.path = "dumps/db/all.sql", .mode = 0600, .mtime_sec = 1767225600}, dr));
    if (record) expected += "file 0600 " + seal::hex_encode(seal::Sha256::of(as_bytes(dump))) + " dumps/db/all.sql\n";
    ASSERT_OK((*w)->set_dump_info("db", {.engine = "postgres", .version = "16.2", .row_counts = {{"shop", {{"public.orders", 700}}}}}));
    dirent("volumes", 0755);
    dirent("volumes/data", 0750);
    file("volumes/data/hello.txt", 0644, "hello, world\n");
    file("volumes/data/random.bin", 0600, random_text(20000, 1234));
    file("volumes/data/empty", 0644, "");
    file("volumes/data/Ünïcødé ファイル 🚀.txt", 0644, "unicode\n");
    std::string deep = "volumes/data";
    for (int i = 0; i < 4; ++i) deep += "/" + std::string(40, static_cast<char>('a' + i));
    for (std::string p = "volumes/data"; p != deep;) {
      p = deep.substr(0, deep.find('/', p.size() + 1));
      dirent(p, 0755);
    }
    file(deep + "/" + std::string(100, 'x'), 0644, "deep\n");
    ASSERT_OK((*w)->add_entry({.path = "volumes/data/link", .type = EntryType::kSymlink, .mode = 0777,
                               .mtime_sec = 1767225600, .link = "hello.txt"}));
    if (record) expected += "symlink 0777 hello.txt volumes/data/link\n";
    ASSERT_OK((*w)->add_entry({.path = "volumes/data/hard", .type = EntryType::kHardlink, .mode = 0644,
                               .mtime_sec = 1767225600, .link = "volumes/data/hello.txt"}));
    if (record) expected += "hardlink 0644 volumes/data/hello.txt volumes/data/hard\n";
    dirent("config", 0755);
    file("config/docker-compose.yml", 0644, "services:\n  db:\n    image: postgres:16\n");
    ASSERT_TRUE((*w)->finish().ok());
    ASSERT_OK(write_file_atomic((dir / name).string(), out.str(), 0644));
  };
  build(*key, "archive-keyfile.ssa", true);
  build(*pkey, "archive-passphrase.ssa", false);
  ASSERT_OK(write_file_atomic((dir / "expected.txt").string(), expected, 0644));
}

}  // namespace
}  // namespace stacksnap::archive
