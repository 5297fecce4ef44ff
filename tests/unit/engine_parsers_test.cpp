#include <gtest/gtest.h>

#include <thread>

#include "base/pipe.h"
#include "engine/mysql_counter.h"
#include "engine/postgres.h"
#include "engine/redis.h"

namespace stacksnap::engine {
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

TEST(RdbScanner, ReadsFirstResizeDb) {
  std::string rdb = "REDIS0010";
  rdb += "\xFA" + rdb_str("redis-ver") + rdb_str("7.0.15");
  rdb += "\xFA" + rdb_str("redis-bits") + std::string("\xC0\x40", 2);  // int-encoded string
  rdb += "\xFA" + rdb_str("ctime") + std::string("\xC2\x01\x02\x03\x04", 5);
  rdb += std::string("\xFE\x00", 2) + "\xFB" + rdb_len(20000) + rdb_len(3);
  rdb += std::string("\x00", 1) + rdb_str("k") + rdb_str("v");
  for (size_t chunk : {size_t{1}, size_t{5}, rdb.size()}) {
    RdbScanner s;
    for (size_t i = 0; i < rdb.size(); i += chunk) ASSERT_TRUE(s.write(as_bytes(std::string_view(rdb).substr(i, chunk))).ok());
    ASSERT_TRUE(s.valid_magic());
    ASSERT_TRUE(s.first_db().has_value()) << chunk;
    EXPECT_EQ(s.first_db()->number, 0);
    EXPECT_EQ(s.first_db()->keys, 20000);
    EXPECT_EQ(s.first_db()->expires, 3);
  }
  RdbScanner empty;
  ASSERT_TRUE(empty.write(as_bytes(std::string("REDIS0010") + "\xFA" + rdb_str("a") + rdb_str("b") + "\xFF")).ok());
  EXPECT_TRUE(empty.empty_rdb());
  RdbScanner junk;
  ASSERT_TRUE(junk.write(as_bytes("not an rdb at all")).ok());
  EXPECT_FALSE(junk.valid_magic());
}

TEST(Redis, PasswordFromArgsAndKeyspace) {
  EXPECT_EQ(requirepass_from_args({"redis-server", "--requirepass", "pw", "--appendonly", "no"}).value(), "pw");
  EXPECT_FALSE(requirepass_from_args({"redis-server"}).has_value());
  auto ks = parse_keyspace("# Keyspace\r\ndb0:keys=5,expires=1,avg_ttl=0\r\ndb3:keys=12,expires=0,avg_ttl=0\r\n");
  ASSERT_EQ(ks.size(), 2u);
  EXPECT_EQ(ks[1], (TableCount{"db3", "keys", 12}));
}

TEST(Postgres, CountLinesAndSnapshotIds) {
  auto c = parse_pg_counts("shop", {"public.accounts|100", "public.orders|5000"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)[1], (TableCount{"shop", "public.orders", 5000}));
  EXPECT_FALSE(parse_pg_counts("shop", {"garbage"}).ok());
  EXPECT_TRUE(looks_like_pg_snapshot("00000003-0000001B-1"));
  EXPECT_TRUE(looks_like_pg_snapshot("00000004-00000002"));
  EXPECT_FALSE(looks_like_pg_snapshot("BEGIN"));
}

TEST(Counts, DiffNamesEveryDifference) {
  auto d = diff_counts({{"shop", "a", 1}, {"shop", "b", 2}}, {{"shop", "a", 1}, {"shop", "b", 3}, {"shop", "c", 0}});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "shop.b: 3 rows, expected 2");
  EXPECT_EQ(d[1], "shop.c: unexpected table with 0 rows");
  EXPECT_TRUE(diff_counts({{"x", "y", 1}}, {{"x", "y", 1}}).empty());
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

}  // namespace
}  // namespace stacksnap::engine
