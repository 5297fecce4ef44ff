#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "common/build_paths.h"
#include "base/pipe.h"
#include "dbengine/mysql_counter.h"
#include "dbengine/postgres.h"
#include "dbengine/rdb_scan.h"
#include "dbengine/redis.h"

namespace stacksnap::dbengine {
namespace {

const char* kDump = R"(-- MariaDB dump 10.19  Distrib 10.11.18-MariaDB, for debian-linux-gnu (x86_64)
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
CREATE DATABASE /*!32312 IF NOT EXISTS*/ `mysql` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;
USE `mysql`;
CREATE TABLE `global_priv` (
  `Host` char(255) NOT NULL DEFAULT ''
) ENGINE=Aria;
INSERT INTO `global_priv` VALUES ('localhost','root','{}'),('%','root','{}');
CREATE DATABASE /*!32312 IF NOT EXISTS*/ `wiki` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;
USE `wiki`;
CREATE TABLE `accounts` (
  `id` int(11) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;
INSERT INTO `accounts` VALUES (1,'owner-1',1000),(2,'it''s (tricky), \'x\' \\',1000),(3,'a)(b',NULL);
INSERT INTO `accounts` VALUES (4,'line\nbreak',0x28290A);
CREATE TABLE `empty_one` (
  `id` int(11) NOT NULL
) ENGINE=InnoDB;
CREATE TABLE `we``ird` (`x` int);
INSERT INTO `we``ird` VALUES (1);
/*!50001 CREATE TABLE `some_view` (
  `x` tinyint NOT NULL
) ENGINE=MyISAM */;
)";

TEST(MysqlRowCounter, CountsTuplesPerTableIgnoringSystemSchemas) {
  std::string dump = kDump;
  // Feed in awkward chunk sizes: the counter keeps state across writes.
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{64}, dump.size()}) {
    MysqlRowCounter c;
    for (size_t i = 0; i < dump.size(); i += chunk) {
      ASSERT_TRUE(c.write(as_bytes(std::string_view(dump).substr(i, chunk))).ok());
    }
    std::vector<TableCount> want = {{"wiki", "accounts", 4}, {"wiki", "empty_one", 0}, {"wiki", "we`ird", 1}};
    EXPECT_EQ(c.counts(), want) << "chunk " << chunk;
    EXPECT_EQ(c.databases(), std::vector<std::string>{"wiki"});
  }
}

// mariadb-dump 10.11 as it really writes: "VALUES" alone, then one tuple per line.
TEST(MysqlRowCounter, TuplesOnTheirOwnLines) {
  std::string dump =
      "USE `wiki`;\nCREATE TABLE `accounts` (\n  `id` int\n);\nLOCK TABLES `accounts` WRITE;\n"
      "INSERT INTO `accounts` VALUES\n(1,'owner-1',1000),\n(2,'multi\nline;(',1000),\n(3,'x',NULL);\n"
      "UNLOCK TABLES;\nCREATE TABLE `pages` (`id` int);\nINSERT INTO `pages` VALUES\n(1),\n(2);\n"
      "INSERT INTO `pages` VALUES (3);\n";
  for (size_t chunk : {size_t{1}, size_t{5}, dump.size()}) {
    MysqlRowCounter c;
    for (size_t i = 0; i < dump.size(); i += chunk) {
      ASSERT_TRUE(c.write(as_bytes(std::string_view(dump).substr(i, chunk))).ok());
    }
    std::vector<TableCount> want = {{"wiki", "accounts", 3}, {"wiki", "pages", 3}};
    EXPECT_EQ(c.counts(), want) << "chunk " << chunk;
  }
}

TEST(MysqlRowCounter, LongInsertLinesStayBounded) {
  MysqlRowCounter c;
  std::string line = "USE `big`;\nINSERT INTO `t` VALUES ";
  for (int i = 0; i < 100000; ++i) line += (i ? "," : "") + std::string("(") + std::to_string(i) + ",'v(a)l')";
  line += ";\n";
  ASSERT_TRUE(c.write(as_bytes(line)).ok());
  ASSERT_EQ(c.counts().size(), 1u);
  EXPECT_EQ(c.counts()[0].rows, 100000);
}

std::string rdb_len(uint64_t n) {
  if (n < 64) return std::string(1, static_cast<char>(n));
  if (n < 16384) return {static_cast<char>(0x40 | (n >> 8)), static_cast<char>(n & 0xff)};
  std::string s(1, static_cast<char>(0x80));
  for (int i = 3; i >= 0; --i) s += static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}
std::string rdb_str(const std::string& s) { return rdb_len(s.size()) + s; }

std::string read_fixture(const std::string& rel) {
  std::ifstream f(stacksnap::build_paths::source_dir() + "/" + rel, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void feed(RdbScanner& s, const std::string& rdb, size_t chunk) {
  for (size_t i = 0; i < rdb.size(); i += chunk) ASSERT_TRUE(s.write(as_bytes(std::string_view(rdb).substr(i, chunk))).ok());
  s.finish();
}

// A real redis-cli --rdb of Redis 7.0.15 (tests/fixtures/rdb): strings (int, LZF), lists
// (listpack, quicklist), sets (intset, listpack, hashtable), zsets (listpack, skiplist with
// +inf), hashes (listpack, hashtable), a stream with a consumer group and a pending entry,
// a function library, TTLs, and databases 0, 1 and 5.
TEST(RdbScanner, CountsEveryKeyOfEveryDatabaseOfARealRdb) {
  const std::string rdb = read_fixture("tests/fixtures/rdb/redis-7.0-sample.rdb");
  ASSERT_GT(rdb.size(), 10000u);
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, rdb.size()}) {
    RdbScanner s;
    feed(s, rdb, chunk);
    ASSERT_TRUE(s.valid_magic());
    ASSERT_TRUE(s.complete()) << "chunk " << chunk << ": " << s.problem();
    ASSERT_EQ(s.dbs().size(), 3u);
    EXPECT_EQ(s.dbs().at(0).keys, 15);
    EXPECT_EQ(s.dbs().at(0).expires, 2);
    EXPECT_EQ(s.dbs().at(1).keys, 3);
    EXPECT_EQ(s.dbs().at(1).expires, 1);
    EXPECT_EQ(s.dbs().at(5).keys, 1);
    EXPECT_EQ(s.dbs().at(5).expires, 0);
  }
}

TEST(RdbScanner, StopsEarlyWithoutFailingOnTruncatedUnknownOrJunkInput) {
  const std::string rdb = read_fixture("tests/fixtures/rdb/redis-7.0-sample.rdb");
  RdbScanner cut;
  feed(cut, rdb.substr(0, rdb.size() / 2), 100);
  EXPECT_TRUE(cut.valid_magic());
  EXPECT_FALSE(cut.complete());
  EXPECT_NE(cut.problem().find("ended before"), std::string::npos) << cut.problem();

  std::string unknown = "REDIS0012";
  unknown += std::string("\xFE\x00", 2) + "\x19" + rdb_str("k") + rdb_str("v") + "\xFF";  // type 25: hash with field TTLs
  RdbScanner u;
  feed(u, unknown + std::string(100000, 'x'), 999);  // the writer is never blocked by a stopped walk
  EXPECT_FALSE(u.complete());
  EXPECT_NE(u.problem().find("type 25"), std::string::npos) << u.problem();

  RdbScanner junk;
  feed(junk, "not an rdb at all", 3);
  EXPECT_FALSE(junk.valid_magic());
  EXPECT_FALSE(junk.complete());

  RdbScanner empty;
  feed(empty, std::string("REDIS0010") + "\xFA" + rdb_str("a") + rdb_str("b") + "\xFF", 2);
  EXPECT_TRUE(empty.complete());
  EXPECT_TRUE(empty.dbs().empty());

  RdbScanner never_fed;  // destroyed without any byte: the walk ends cleanly
}

TEST(RdbScanner, WalksStreamsAndModuleValuesItCannotLoad) {
  std::string rdb = "REDIS0011";
  rdb += std::string("\xFE\x02", 2);
  // A stream (type 21): one listpack, ids, one group with one pending entry and one consumer.
  rdb += std::string("\x15") + rdb_str("st") + rdb_len(1) + rdb_str(std::string(16, 'n')) + rdb_str("listpack-bytes");
  for (int i = 0; i < 8; ++i) rdb += rdb_len(7);
  rdb += rdb_len(1) + rdb_str("g1") + rdb_len(1) + rdb_len(2) + rdb_len(3);
  rdb += rdb_len(1) + std::string(16 + 8, 'p') + rdb_len(1);
  rdb += rdb_len(1) + rdb_str("c1") + std::string(16, 't') + rdb_len(1) + std::string(16, 'i');
  // A module value (type 7) of a module that is not loaded: opcodes up to EOF.
  rdb += std::string("\xFC") + std::string(8, '\x01') + "\x07" + rdb_str("m") + rdb_len(12345);
  rdb += rdb_len(2) + rdb_len(9) + rdb_len(5) + rdb_str("blob") + rdb_len(4) + std::string(8, 'd') + rdb_len(0);
  rdb += "\xFF";
  RdbScanner s;
  feed(s, rdb, 3);
  ASSERT_TRUE(s.complete()) << s.problem();
  EXPECT_EQ(s.dbs().at(2).keys, 2);
  EXPECT_EQ(s.dbs().at(2).expires, 1);
}

TEST(Redis, PasswordFromArgsAndKeyspace) {
  EXPECT_EQ(requirepass_from_args({"redis-server", "--requirepass", "pw", "--appendonly", "no"}).value(), "pw");
  EXPECT_FALSE(requirepass_from_args({"redis-server"}).has_value());
  auto ks = parse_keyspace("# Keyspace\r\ndb0:keys=5,expires=1,avg_ttl=0\r\ndb3:keys=12,expires=0,avg_ttl=0\r\n");
  ASSERT_EQ(ks.size(), 2u);
  EXPECT_EQ(ks[1], (TableCount{"db3", "keys", 12}));
}

std::string hex_of(const std::string& s) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += {kHex[c >> 4], kHex[c & 15]};
  return out;
}

TEST(Postgres, CountLinesAndSnapshotIds) {
  auto c = parse_pg_counts("shop", {hex_of("public.accounts") + "|100", hex_of("public.orders") + "|5000",
                                    hex_of("we|ird.ta\nble") + "|7"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)[1], (TableCount{"shop", "public.orders", 5000}));
  EXPECT_EQ((*c)[2], (TableCount{"shop", "we|ird.ta\nble", 7}));
  EXPECT_FALSE(parse_pg_counts("shop", {"garbage"}).ok());
  EXPECT_FALSE(parse_pg_counts("shop", {"public.accounts|100"}).ok());  // names always travel hex-encoded
  EXPECT_TRUE(looks_like_pg_snapshot("00000003-0000001B-1"));
  EXPECT_TRUE(looks_like_pg_snapshot("00000004-00000002"));
  EXPECT_FALSE(looks_like_pg_snapshot("BEGIN"));
}

TEST(Counts, ExactCountsFailOnEveryDifference) {
  auto d = check_counts({{"shop", "a", 1}, {"shop", "b", 2}, {"shop", "gone", 5}},
                        {{"shop", "a", 1}, {"shop", "b", 3}, {"shop", "c", 0}}, /*complete=*/true);
  ASSERT_EQ(d.failures.size(), 3u);
  EXPECT_EQ(d.failures[0], "shop.b: 3 rows, expected 2");
  EXPECT_EQ(d.failures[1], "shop.gone: missing, expected 5");
  EXPECT_EQ(d.failures[2], "shop.c: unexpected table with 0 rows");
  EXPECT_TRUE(d.notes.empty());
  auto same = check_counts({{"x", "y", 1}}, {{"x", "y", 1}}, true);
  EXPECT_TRUE(same.failures.empty() && same.notes.empty());
}

TEST(Counts, TtlKeysMayExpireAndEstimatesNeverFail) {
  TableCount ttl{"db0", "keys", 100};
  ttl.may_expire = 10;
  TableCount est{"db1", "keys", 50};
  est.estimate = true;
  // 95 of 100 keys: within the 10 with a TTL; the estimate differs: notes only.
  auto ok = check_counts({ttl, est}, {{"db0", "keys", 95}, {"db1", "keys", 0}}, true);
  EXPECT_TRUE(ok.failures.empty()) << ok.failures[0];
  ASSERT_EQ(ok.notes.size(), 2u);
  EXPECT_NE(ok.notes[0].find("within the 10 with a TTL"), std::string::npos) << ok.notes[0];
  EXPECT_NE(ok.notes[1].find("an estimate"), std::string::npos) << ok.notes[1];
  // Fewer than the TTL can explain, or more than there were: a failure.
  auto few = check_counts({ttl}, {{"db0", "keys", 80}}, true);
  ASSERT_EQ(few.failures.size(), 1u);
  EXPECT_EQ(few.failures[0], "db0.keys: 80 rows, expected 100 (at least 90)");
  EXPECT_EQ(check_counts({ttl}, {{"db0", "keys", 101}}, true).failures.size(), 1u);
  // A database of only TTL keys may be gone altogether.
  TableCount all_ttl{"db2", "keys", 3};
  all_ttl.may_expire = 3;
  EXPECT_TRUE(check_counts({all_ttl}, {}, true).failures.empty());
  // Extra tables are a failure only when the dump's list was complete.
  EXPECT_EQ(check_counts({}, {{"db1", "keys", 50}}, false).notes.size(), 1u);
  EXPECT_EQ(check_counts({}, {{"db1", "keys", 50}}, false).failures.size(), 0u);
}

TEST(Counts, LegacyInexactRecordsBecomeEstimates) {
  Json legacy = {{"engine", "redis"}, {"counts_exact", false},
                 {"row_counts", {{{"database", "db0"}, {"table", "keys"}, {"rows", 7}}}}};
  auto d = DumpInfo::from_json(legacy);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->counts.size(), 1u);
  EXPECT_TRUE(d->counts[0].estimate);
  TableCount ttl{"db0", "keys", 9};
  ttl.may_expire = 2;
  DumpInfo now{.engine = "redis", .counts = {ttl}, .counts_exact = true};
  auto back = DumpInfo::from_json(now.to_json());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->counts[0], ttl);
}

TEST(DumpInfo, JsonRoundTrip) {
  DumpInfo d{.engine = "postgres", .version = "15.1", .tool = "pg_dump", .databases = {"shop"},
             .counts = {{"shop", "public.a", 3}}, .counts_exact = true, .files = {{"shop.pgdump", "pg_custom", "shop", 42}}};
  auto back = DumpInfo::from_json(d.to_json());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->counts, d.counts);
  EXPECT_EQ(back->files[0].bytes, 42u);
  EXPECT_FALSE(DumpInfo::from_json(nlohmann::json::array()).ok());
}

TEST(Pipe, TransfersAcrossThreadsWithBoundedBuffer) {
  Pipe p(1000);
  std::string sent(1 << 20, 'x');
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 31);
  std::thread w([&] {
    Pipe::WriterEnd we(p);
    ASSERT_TRUE(we.write(as_bytes(sent)).ok());
    ASSERT_TRUE(we.close().ok());
  });
  Pipe::ReaderEnd re(p);
  auto got = read_all(re, 2 << 20);
  w.join();
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == sent);
}

TEST(Pipe, FailureReachesBothEnds) {
  Pipe p(16);
  p.fail(data_loss("boom"));
  std::byte b[4];
  EXPECT_EQ(p.read(b).error().code(), Code::kDataLoss);
  EXPECT_EQ(p.write(as_bytes("abc")).error().code(), Code::kDataLoss);
}


TEST(Postgres, DatabaseNamesReachLibpqOnlyQuoted) {
  EXPECT_EQ(pg_dbname_conninfo("shop"), "dbname='shop'");
  EXPECT_EQ(pg_dbname_conninfo("my db"), "dbname='my db'");
  EXPECT_EQ(pg_dbname_conninfo("host=evil.example port=5432"), "dbname='host=evil.example port=5432'");
  EXPECT_EQ(pg_dbname_conninfo("postgres://evil.example/x"), "dbname='postgres://evil.example/x'");
  EXPECT_EQ(pg_dbname_conninfo("it's"), "dbname='it\\'s'");
  EXPECT_EQ(pg_dbname_conninfo("back\\slash"), "dbname='back\\\\slash'");
}

TEST(Postgres, OnlyRolesThatExistedBeforeTheReplayMayFailToBeCreated) {
  const std::set<std::string> before = {"shop", "postgres", "we\"ird"};
  EXPECT_TRUE(is_expected_role_error("psql:<stdin>:14: ERROR:  role \"shop\" already exists", before));
  EXPECT_TRUE(is_expected_role_error("psql:<stdin>:14: ERROR:  role \"we\"ird\" already exists", before));
  EXPECT_FALSE(is_expected_role_error("psql:<stdin>:15: ERROR:  role \"reporting\" already exists", before));
  EXPECT_FALSE(is_expected_role_error("psql:<stdin>:16: ERROR:  directory \"/ts\" does not exist", before));
  EXPECT_FALSE(is_expected_role_error("psql:<stdin>:17: ERROR:  role \"shop\" does not exist", before));
}

TEST(DumpFiles, NamesAreUniqueAndReversible) {
  const std::vector<std::string> names = {"my db", "my_db", "My_DB", "my%20db", "a=b", "it's", "back\\slash",
                                          "grüße ✓", "postgres://x", "line\nbreak", ".hidden", "shop"};
  std::set<std::string> files, folded;
  for (const auto& n : names) {
    std::string f = dump_file_name(n, ".pgdump");
    EXPECT_EQ(f.find('/'), std::string::npos) << f;
    EXPECT_NE(f[0], '.') << f;
    EXPECT_EQ(dump_name_from_file(f, ".pgdump"), n);
    files.insert(f);
    std::string lower = f;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    folded.insert(lower);
  }
  EXPECT_EQ(files.size(), names.size());
  EXPECT_EQ(folded.size(), names.size());  // unique on case-insensitive file systems too
  EXPECT_EQ(dump_file_name("shop", ".pgdump"), "shop.pgdump");
  EXPECT_EQ(dump_file_name("my db", ".pgdump"), "my%20db.pgdump");
  EXPECT_FALSE(dump_name_from_file("bad%2", ".pgdump").has_value());
  EXPECT_FALSE(dump_name_from_file("x.sql", ".pgdump").has_value());
}

TEST(Redis, RdbLengthDropsTheDisklessEndMarkOnly) {
  const std::string rdb = std::string("REDIS0011") + "\xFF" + std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  const std::string mark(40, 'a');
  EXPECT_EQ(rdb_length(rdb.size() + 40, (rdb + mark).substr(rdb.size() + 40 - kRdbTailBytes)), rdb.size());
  EXPECT_EQ(rdb_length(rdb.size(), rdb), rdb.size());  // a clean RDB (too short to carry a mark)
  std::string long_rdb = std::string("REDIS0011") + std::string(100, 'k') + "\xFF" + std::string(8, '\x01');
  EXPECT_EQ(rdb_length(long_rdb.size(), long_rdb), long_rdb.size());
  std::string not_a_mark = long_rdb + std::string(39, 'a') + "\x01";
  EXPECT_EQ(rdb_length(not_a_mark.size(), not_a_mark), not_a_mark.size());
}

TEST(Redis, AofLayoutNamesTheBaseIncrAndManifest) {
  auto v7 = aof_layout("appendonly.aof", "appendonlydir");
  ASSERT_TRUE(v7.ok());
  EXPECT_EQ(v7->base, "appendonlydir/appendonly.aof.1.base.rdb");
  EXPECT_EQ(v7->incr, "appendonlydir/appendonly.aof.1.incr.aof");
  EXPECT_EQ(v7->manifest, "appendonlydir/appendonly.aof.manifest");
  EXPECT_EQ(v7->manifest_text,
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
  auto v6 = aof_layout("appendonly.aof", "");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->base, "appendonly.aof");
  EXPECT_TRUE(v6->manifest.empty() && v6->dir.empty());
  EXPECT_EQ(aof_layout("my file.aof", "").error().code(), Code::kInvalidArgument);
  EXPECT_EQ(aof_layout("a.aof", "../x").error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace stacksnap::dbengine
