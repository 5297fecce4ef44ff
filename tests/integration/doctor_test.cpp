// app::run_doctor against real servers: the Docker Engine and the S3 test bed (its
// SigV4-checking proxy). An S3 target is reached with one unretried listing; the clock
// check compares with the server's Date header (a clock 5 minutes off is a warning, 20
// minutes a failure); a wrong secret fails the target, naming S3's answer.
#include <gtest/gtest.h>

#include <chrono>

#include "app/doctor.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "s3_test_env.h"
#include "storage/s3/s3_target.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
namespace s3t = storage::s3::testing;

class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(std::chrono::seconds offset) : offset_(offset) {}
  SystemTime now() const override { return std::chrono::system_clock::now() + offset_; }

 private:
  std::chrono::seconds offset_;
};

const app::Check* find(const app::DoctorReport& r, const std::string& id) {
  for (const auto& c : r.checks) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

TEST(Doctor, EngineAndS3TargetWithItsClock) {
  STACKSNAP_REQUIRE_ENGINE(docker);
  S3_TEST_BED(bed);
  auto dir = TempDir::create("/var/tmp", "stacksnap-it-doctor-");
  ASSERT_TRUE(dir.ok());
  auto cat = catalog::Catalog::open(dir->path() + "/state.db");
  ASSERT_TRUE(cat.ok());
  ASSERT_TRUE((*cat)->add_target({.name = "offsite", .kind = "s3", .config = Json::object()}).ok());
  std::string secret = bed.secret_key;
  OffsetClock clock(0s);
  app::DoctorEnv env{.data_dir = dir->path(),
                     .cat = cat->get(),
                     .docker = [docker] { return Result<docker::Client*>(docker); },
                     .key_status = {{"configured", true}, {"source", "key-file"}, {"unlocked", true}},
                     .open_target = [&](const catalog::TargetRecord&) -> Result<std::unique_ptr<storage::Target>> {
                       auto config = s3t::test_config(bed, s3t::fresh_prefix("doctor"));
                       config.secret_key = secret;
                       auto t = TRY(storage::s3::S3Target::create(std::move(config)));
                       return std::unique_ptr<storage::Target>(std::move(t));
                     },
                     .clock = &clock};

  app::DoctorReport r = app::run_doctor(env);
  const app::Check* engine = find(r, "engine");
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->state, app::CheckState::kOk) << engine->summary;
  EXPECT_NE(engine->summary.find("Docker Engine " + docker->engine_version().version), std::string::npos);
  const app::Check* target = find(r, "target:offsite");
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->state, app::CheckState::kOk) << target->summary;
  const app::Check* skew = find(r, "clock:offsite");
  ASSERT_NE(skew, nullptr) << "the S3 server sends a Date header";
  EXPECT_EQ(skew->state, app::CheckState::kOk) << skew->summary;

  OffsetClock ahead(5min);
  env.clock = &ahead;
  r = app::run_doctor(env);
  skew = find(r, "clock:offsite");
  ASSERT_NE(skew, nullptr);
  EXPECT_EQ(skew->state, app::CheckState::kWarn) << skew->summary;
  OffsetClock behind(-20min);
  env.clock = &behind;
  r = app::run_doctor(env);
  skew = find(r, "clock:offsite");
  ASSERT_NE(skew, nullptr);
  EXPECT_EQ(skew->state, app::CheckState::kFail) << skew->summary;
  EXPECT_NE(skew->summary.find("behind offsite's"), std::string::npos) << skew->summary;
  EXPECT_NE(skew->fix.find("synchronise the clock"), std::string::npos);

  env.clock = &clock;
  secret = "not-the-secret";
  r = app::run_doctor(env);
  target = find(r, "target:offsite");
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->state, app::CheckState::kFail);
  EXPECT_NE(target->summary.find("SignatureDoesNotMatch"), std::string::npos) << target->summary;
  EXPECT_EQ(find(r, "clock:offsite"), nullptr);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace stacksnap::it
