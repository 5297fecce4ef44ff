// The Client against a scripted fake Engine on a unix socket: version prefixes,
// renegotiation, HTTP status → Code, early errors on uploads, unreachable engines.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "base/fd.h"
#include "base/temp_dir.h"
#include "docker/client.h"

#include "docker_payloads.h"

namespace stacksnap::docker {
namespace {

struct FakeRequest {
  std::string method, target, head;
};

// Serves one canned response per connection, as the real Engine does with Connection: close.
class FakeEngine {
 public:
  using Handler = std::function<std::string(const FakeRequest&)>;
  explicit FakeEngine(Handler h) : handler_(std::move(h)) {
    dir_ = std::make_unique<TempDir>(TempDir::create("/tmp", "stacksnap-fake-engine-").value());
    path_ = dir_->path() + "/docker.sock";
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_.get(), 16), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeEngine() {
    stop_ = true;
    thread_.join();
  }
  std::string host() const { return "unix://" + path_; }
  std::vector<FakeRequest> requests() {
    std::lock_guard l(mu_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      UniqueFd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c.valid()) continue;
      std::string head;
      char ch;
      while (head.find("\r\n\r\n") == std::string::npos && ::read(c.get(), &ch, 1) == 1) head.push_back(ch);
      FakeRequest r;
      r.head = head;
      r.method = head.substr(0, head.find(' '));
      auto t0 = head.find(' ') + 1;
      r.target = head.substr(t0, head.find(' ', t0) - t0);
      if (auto cl = head.find("Content-Length: "); cl != std::string::npos) {
        size_t n = std::stoul(head.substr(cl + 16));
        std::string body(n, '\0');
        size_t got = 0;
        while (got < n) {
          ssize_t k = ::read(c.get(), body.data() + got, n - got);
          if (k <= 0) break;
          got += static_cast<size_t>(k);
        }
      }
      {
        std::lock_guard l(mu_);
        requests_.push_back(r);
      }
      std::string resp = handler_(r);
      (void)write_all(c.get(), as_bytes(resp), "fake engine");
    }
  }

  Handler handler_;
  std::unique_ptr<TempDir> dir_;
  std::string path_;
  UniqueFd listener_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<FakeRequest> requests_;
};

std::string json_response(int status, const std::string& reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::string version_body(const std::string& max, const std::string& min) {
  return R"({"Version":"fake","ApiVersion":")" + max + R"(","MinAPIVersion":")" + min + R"(","Os":"linux"})";
}

TEST(DockerClient, SendsTheNegotiatedVersionOnEveryCall) {
  FakeEngine fake([](const FakeRequest& r) {
    if (r.target == "/version") return json_response(200, "OK", version_body("1.43", "1.12"));
    return json_response(200, "OK", "[]");
  });
  auto c = Client::connect({.docker_host = fake.host()});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ((*c)->api_version().to_string(), "1.43");
  ASSERT_TRUE((*c)->list_containers({.labels = {"com.docker.compose.project"}}).ok());
  auto reqs = fake.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/version");  // unversioned
  EXPECT_TRUE(reqs[1].target.starts_with("/v1.43/containers/json?all=1&filters=")) << reqs[1].target;
  EXPECT_NE(reqs[1].head.find("Host: "), std::string::npos);
  EXPECT_EQ(reqs[1].head.find("Accept-Encoding"), std::string::npos);
}

// Engine 20.10 (Debian 12's docker.io) and Engine 26 as recorded from the real daemons:
// the client negotiates 1.41 and 1.45, prefixes every call with it, and reads what each
// one's container inspect carries.
TEST(DockerClient, RecordedEngine20And26) {
  struct Case {
    const char* version;
    const char* inspect;
    std::string api;
  };
  for (const Case& c : {Case{testdata::kVersion, testdata::kInspect141, "1.41"},
                        Case{testdata::kVersion26, testdata::kInspect145, "1.45"}}) {
    SCOPED_TRACE(c.api);
    FakeEngine fake([&](const FakeRequest& r) {
      if (r.target == "/version") return json_response(200, "OK", c.version);
      if (r.target == "/v" + c.api + "/containers/x/json") return json_response(200, "OK", c.inspect);
      return json_response(404, "Not Found", R"({"message":"page not found"})");
    });
    auto client = Client::connect({.docker_host = fake.host()});
    ASSERT_TRUE(client.ok()) << client.error().message();
    EXPECT_EQ((*client)->api_version().to_string(), c.api);
    auto info = (*client)->inspect_container("x");
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_FALSE(info->labels.at("com.docker.compose.project").empty());
    EXPECT_FALSE(info->networks.empty());
    const bool has_subpath = std::any_of(info->mounts.begin(), info->mounts.end(),
                                         [](const MountPoint& m) { return !m.subpath.empty(); });
    EXPECT_EQ(has_subpath, c.api == "1.45");
  }
}

TEST(DockerClient, RefusesEnginesOutsideOurRange) {
  FakeEngine fake([](const FakeRequest&) { return json_response(200, "OK", version_body("1.40", "1.12")); });
  auto c = Client::connect({.docker_host = fake.host()});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(c.error().message().find("too old"), std::string::npos) << c.error().message();
}

TEST(DockerClient, RenegotiatesOnceWhenTheDaemonChangedUnderneath) {
  std::atomic<int> version_calls{0};
  FakeEngine fake([&](const FakeRequest& r) {
    if (r.target == "/version") {
      // First answer: a newer daemon (1.44); afterwards it was "downgraded" to 1.41.
      return json_response(200, "OK", version_body(version_calls++ == 0 ? "1.44" : "1.41", "1.12"));
    }
    if (r.target.starts_with("/v1.44/")) {
      return json_response(400, "Bad Request",
                           R"({"message":"client version 1.44 is too new. Maximum supported API version is 1.41"})");
    }
    return json_response(200, "OK", R"({"Name":"v","Driver":"local"})");
  });
  auto c = Client::connect({.docker_host = fake.host()});
  ASSERT_TRUE(c.ok());
  auto v = (*c)->inspect_volume("v");
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->name, "v");
  EXPECT_EQ((*c)->api_version().to_string(), "1.41");
  auto reqs = fake.requests();
  EXPECT_EQ(reqs.back().target, "/v1.41/volumes/v");
}

TEST(DockerClient, MapsStatusesToCodesWithTheEnginesMessage) {
  FakeEngine fake([](const FakeRequest& r) {
    if (r.target == "/version") return json_response(200, "OK", version_body("1.41", "1.12"));
    if (r.target.find("/containers/shop_db_1/json") != std::string::npos) {
      return json_response(404, "Not Found", R"({"message":"No such container: shop_db_1"})");
    }
    if (r.target.find("/pause") != std::string::npos) {
      return json_response(409, "Conflict", R"({"message":"Container abc is not running"})");
    }
    if (r.target.find("/unpause") != std::string::npos) {
      return json_response(500, "Internal Server Error", R"({"message":"Container abc is not paused"})");
    }
    if (r.target.find("/volumes/create") != std::string::npos) {
      return json_response(400, "Bad Request", R"({"message":"create bad name: invalid"})");
    }
    if (r.target.find("/start") != std::string::npos) return std::string("HTTP/1.1 304 Not Modified\r\n\r\n");
    return json_response(403, "Forbidden", R"({"message":"authorization denied by plugin"})");
  });
  auto c = Client::connect({.docker_host = fake.host()});
  ASSERT_TRUE(c.ok());
  auto& d = **c;
  auto i = d.inspect_container("shop_db_1");
  ASSERT_FALSE(i.ok());
  EXPECT_EQ(i.error().code(), Code::kNotFound);
  EXPECT_EQ(i.error().message(), "inspect container shop_db_1: No such container: shop_db_1");
  auto p = d.pause_container("abc");
  EXPECT_EQ(p.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(p.error().message(), "pause container abc: Container abc is not running");
  EXPECT_EQ(d.unpause_container("abc").error().code(), Code::kInternal);
  EXPECT_EQ(d.create_volume({.name = "bad name"}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(d.remove_volume("x").error().code(), Code::kPermissionDenied);
  EXPECT_TRUE(d.start_container("abc").ok());  // 304: already running
}

// The Engine may answer an upload before reading it (notes §3.2): the error must survive.
TEST(DockerClient, PutArchiveReportsAnEarlyError) {
  FakeEngine fake([](const FakeRequest& r) {
    if (r.target == "/version") return json_response(200, "OK", version_body("1.41", "1.12"));
    return json_response(404, "Not Found", R"({"message":"Could not find the file /nope in container x"})");
  });
  auto c = Client::connect({.docker_host = fake.host()});
  ASSERT_TRUE(c.ok());
  std::string big(8 << 20, 't');
  MemoryReader tar(big);
  auto st = (*c)->put_archive("x", "/nope", tar);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kNotFound);
  EXPECT_EQ(st.error().message(), "write /nope in container x: Could not find the file /nope in container x");
  auto reqs = fake.requests();
  EXPECT_NE(reqs.back().head.find("Expect: 100-continue"), std::string::npos);
  EXPECT_NE(reqs.back().head.find("Transfer-Encoding: chunked"), std::string::npos);
}

// A success that arrives before the whole body was sent still drains the caller's
// reader, so a producer thread feeding it (through a pipe) cannot block forever.
TEST(DockerClient, PutArchiveDrainsTheBodyOnAnEarlySuccess) {
  FakeEngine fake([](const FakeRequest& r) {
    if (r.target == "/version") return json_response(200, "OK", version_body("1.41", "1.12"));
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  });
  auto c = Client::connect({.docker_host = fake.host()});
  ASSERT_TRUE(c.ok());
  class Counting final : public Reader {
   public:
    Result<size_t> read(MutableBytes buf) override {
      size_t n = std::min<size_t>(buf.size(), left_);
      left_ -= n;
      return n;
    }
    size_t left_ = 3 << 20;
  } tar;
  ASSERT_TRUE((*c)->put_archive("x", "/", tar).ok());
  EXPECT_EQ(tar.left_, 0u);
}

TEST(DockerClient, UnreachableEngineIsOneClearUnavailableLine) {
  auto dir = TempDir::create("/tmp", "stacksnap-refused-");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->path() + "/docker.sock";
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);  // bound, never listening
  auto c = Client::connect({.docker_host = "unix://" + path});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kUnavailable);
  EXPECT_EQ(c.error().message(), "cannot reach the Docker Engine at unix://" + path + ": connection refused");
}

}  // namespace
}  // namespace stacksnap::docker
