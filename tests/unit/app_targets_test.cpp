// Target configuration rules shared by the CLI and the API (app/targets.h), the private
// data directory (app/state.h) and masked notification URLs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "app/state.h"
#include "app/targets.h"
#include "base/fd.h"
#include "base/temp_dir.h"
#include "notify/notifier.h"

namespace stacksnap::app {
namespace {

using Json = nlohmann::json;

unsigned mode_of(const std::string& path) {
  struct stat st{};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class AppTargets : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-targets-");
    ASSERT_TRUE(d.ok());
    tmp_.emplace(std::move(*d));
    data_ = tmp_->path() + "/data";
    ASSERT_TRUE(prepare_data_dir(data_, nullptr).ok());
  }
  Status check(const std::string& kind, const Json& cfg) { return check_target_config(data_, kind, cfg); }

  std::optional<TempDir> tmp_;
  std::string data_;
};

TEST_F(AppTargets, KeysAreAllowlistedPerKindWithTypes) {
  EXPECT_TRUE(check("local", {{"path", tmp_->path() + "/store"}}).ok());
  EXPECT_TRUE(check("s3", {{"bucket", "b"}, {"access_key", "AK"}, {"secret_key", "s"}, {"readable_names", true},
                           {"part_size", 8 << 20}})
                  .ok());
  EXPECT_EQ(check("local", {{"path", tmp_->path()}, {"bucket", "b"}}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(check("s3", {{"bucket", "b"}, {"password", "x"}}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(check("s3", {{"bucket", "b"}, {"part_size", "big"}}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(check("s3", {{"bucket", "b"}, {"readable_names", "yes"}}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(check("s3", {{"bucket", "b"}, {"addressing", "sideways"}}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(check("s3", {{"endpoint", "x"}}).error().code(), Code::kInvalidArgument) << "no bucket";
  EXPECT_EQ(check("ftp", Json::object()).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(check("s3", Json::array()).error().code(), Code::kInvalidArgument);
}

TEST_F(AppTargets, SecretFilesOnlyUnderTheSecretsDirectory) {
  for (const char* key : {"secret_key_file", "session_token_file", "access_key_file", "ca_file"}) {
    auto st = check("s3", {{"bucket", "b"}, {key, "/etc/shadow"}});
    ASSERT_FALSE(st.ok()) << key;
    EXPECT_EQ(st.error().code(), Code::kInvalidArgument);
    EXPECT_NE(st.error().message().find(secrets_dir(data_)), std::string::npos) << st.error().message();
  }
  // A symlink inside the secrets directory that points out of it does not pass either.
  std::filesystem::create_directories(secrets_dir(data_));
  std::filesystem::create_symlink("/etc/passwd", secrets_dir(data_) + "/link");
  EXPECT_FALSE(check("s3", {{"bucket", "b"}, {"secret_key_file", secrets_dir(data_) + "/link"}}).ok());
  EXPECT_FALSE(check("s3", {{"bucket", "b"}, {"secret_key_file", secrets_dir(data_) + "/../state.db"}}).ok());
  EXPECT_FALSE(check("s3", {{"bucket", "b"}, {"secret_key_file", secrets_dir(data_) + "/missing"}}).ok());
  ASSERT_TRUE(write_file_atomic(secrets_dir(data_) + "/mine.secret", "s3cr3t", 0600).ok());
  EXPECT_TRUE(check("s3", {{"bucket", "b"}, {"secret_key_file", secrets_dir(data_) + "/mine.secret"}}).ok());
}

TEST_F(AppTargets, LocalPathsStayOutOfSystemTreesAndOurOwnState) {
  for (const std::string& bad : {std::string("/"), std::string("/etc"), std::string("/etc/cron.d"), std::string("/proc/1"),
                                 std::string("/usr/local/x"), std::string("/var/lib/docker/volumes"),
                                 std::string("relative/dir"), std::string("/srv/../etc"), std::string("/srv//x"),
                                 std::string("/srv/./x"), data_, data_ + "/secrets", data_ + "/spool/x",
                                 data_ + "/restores", tmp_->path() + "/afile"}) {
    if (bad == tmp_->path() + "/afile") {
      ASSERT_TRUE(write_file_atomic(bad, "x", 0600).ok());
    }
    EXPECT_FALSE(check("local", {{"path", bad}}).ok()) << bad;
  }
  std::filesystem::create_symlink("/etc", tmp_->path() + "/sneaky");
  EXPECT_FALSE(check("local", {{"path", tmp_->path() + "/sneaky/x"}}).ok()) << "resolved through the symlink";
  EXPECT_TRUE(check("local", {{"path", data_ + "/backups"}}).ok()) << "a folder of its own in the data dir is fine";
  EXPECT_TRUE(check("local", {{"path", "/srv/backups/"}}).ok());
}

TEST_F(AppTargets, InlineSecretsBecome0600FilesAndAreNeverShown) {
  Json cfg = {{"bucket", "b"}, {"access_key", "AK"}, {"secret_key", "very-secret"}, {"session_token", "tok-123"}};
  auto files = store_inline_secrets(data_, target_secret_stem("off"), cfg);
  ASSERT_TRUE(files.ok()) << files.error().message();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_FALSE(cfg.contains("secret_key"));
  EXPECT_FALSE(cfg.contains("session_token"));
  EXPECT_EQ(cfg["secret_key_file"], secrets_dir(data_) + "/target-off.secret");
  EXPECT_EQ(*read_small_file(cfg["secret_key_file"]), "very-secret");
  EXPECT_EQ(mode_of(cfg["secret_key_file"]), 0600u);
  EXPECT_EQ(mode_of(secrets_dir(data_)), 0700u);
  EXPECT_TRUE(check("s3", cfg).ok());

  catalog::TargetRecord rec{.name = "off", .kind = "s3", .config = cfg};
  Json shown = public_target_config(rec);
  EXPECT_EQ(shown["secret_key_set"], true);
  EXPECT_EQ(shown.dump().find("very-secret"), std::string::npos);
  EXPECT_FALSE(shown.contains("secret_key_file"));
  EXPECT_FALSE(shown.contains("session_token_file"));
  EXPECT_EQ(shown["access_key"], "AK");

  Json edited = {{"bucket", "b2"}, {"access_key", "AK"}};  // an edit form that never saw the secrets
  keep_stored_secrets(cfg, edited);
  EXPECT_EQ(edited["secret_key_file"], cfg["secret_key_file"]);
  EXPECT_EQ(edited["session_token_file"], cfg["session_token_file"]);

  remove_secret_files(data_, target_secret_stem("off"));
  EXPECT_FALSE(std::filesystem::exists(secrets_dir(data_) + "/target-off.secret"));
}

TEST_F(AppTargets, OpeningTheStateMovesInlineSecretsOutOfTheDatabase) {
  {
    auto cat = catalog::Catalog::open(data_ + "/state.db");
    ASSERT_TRUE(cat.ok());
    ASSERT_TRUE((*cat)->add_target({.name = "old", .kind = "s3",
                                    .config = {{"bucket", "b"}, {"secret_key", "stored-in-sqlite"}}}).ok());
  }
  std::vector<std::string> notes;
  auto cat = open_state(data_, [&](const std::string& m) { notes.push_back(m); });
  ASSERT_TRUE(cat.ok()) << cat.error().message();
  auto t = (*cat)->get_target("old");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->config.contains("secret_key"));
  EXPECT_EQ(*read_small_file(t->config["secret_key_file"]), "stored-in-sqlite");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].find("stored-in-sqlite"), std::string::npos);
  cat->reset();
  for (const char* f : {"/state.db", "/state.db-wal"}) {
    auto raw = read_small_file(data_ + f);
    if (raw.ok()) {
      EXPECT_EQ(raw->find("stored-in-sqlite"), std::string::npos) << "the value is gone from " << f;
    }
  }
}

TEST(AppState, TheDataDirIsMadePrivateAndSaysSoOnce) {
  auto d = TempDir::create("/tmp", "stacksnap-datadir-");
  ASSERT_TRUE(d.ok());
  const std::string dir = d->path() + "/new/data";
  std::vector<std::string> notes;
  auto note = [&](const std::string& m) { notes.push_back(m); };
  ASSERT_TRUE(prepare_data_dir(dir, note).ok());
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_TRUE(notes.empty()) << "a new directory needs no notice";
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  ASSERT_TRUE(prepare_data_dir(dir, note).ok());
  EXPECT_EQ(mode_of(dir), 0700u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("0755"), std::string::npos) << notes[0];
  ASSERT_TRUE(prepare_data_dir(dir, note).ok());
  EXPECT_EQ(notes.size(), 1u) << "once";
  ASSERT_TRUE(write_file_atomic(d->path() + "/file", "x", 0600).ok());
  EXPECT_EQ(prepare_data_dir(d->path() + "/file", note).error().code(), Code::kFailedPrecondition);
}

TEST(AppState, PrivateDirsFromARoot) {
  auto d = TempDir::create("/tmp", "stacksnap-private-");
  ASSERT_TRUE(d.ok());
  const std::string root = d->path() + "/restores/app";
  ASSERT_TRUE(make_private_dirs(root, root + "/a/b").ok());
  for (const auto& p : {root, root + "/a", root + "/a/b"}) EXPECT_EQ(mode_of(p), 0700u) << p;
  ASSERT_EQ(::chmod((root + "/a").c_str(), 0755), 0);
  ASSERT_TRUE(make_private_dirs(root, root + "/a").ok());
  EXPECT_EQ(mode_of(root + "/a"), 0700u);
  EXPECT_FALSE(make_private_dirs(root, d->path() + "/elsewhere").ok());
}

TEST(NotifyUrls, MaskedUrlsShowTheHostOnly) {
  EXPECT_EQ(notify::masked_url("https://hooks.example.com/services/T0/B1/secret"), "https://hooks.example.com/…");
  EXPECT_EQ(notify::masked_url("https://ntfy.sh/my-topic?auth=tok"), "https://ntfy.sh/…");
  EXPECT_EQ(notify::masked_url("http://user:pass@hc.lan:8000/ping/uuid"), "http://hc.lan:8000/…");
  EXPECT_EQ(notify::masked_url("https://example.com"), "https://example.com");
  EXPECT_EQ(notify::masked_url("https://example.com/"), "https://example.com");
  EXPECT_EQ(notify::masked_url("https://example.com?token=x"), "https://example.com/…");
}

}  // namespace
}  // namespace stacksnap::app
