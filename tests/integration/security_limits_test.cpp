// Issue 14 against the real `stacksnap serve`: login abuse and resource exhaustion.
// Other clients are other loopback source addresses (127.0.0.2, …) or, through a trusted
// proxy, other X-Forwarded-For addresses. Timings are measured, not assumed.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "integration/security_support.h"
#include "integration/test_env.h"

namespace stacksnap::it {
namespace {

using namespace std::chrono_literals;
using http::testing::SseClient;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

TEST(SecurityLimits, GuessesThroughAProxyDoNotLockTheAdminOut) {
  LiveServer s({"--trusted-proxy", "127.0.0.1"});
  ASSERT_NE(s.start(), 0) << s.process->log();
  const std::string admin_ip = "X-Forwarded-For: 198.51.100.7";
  ASSERT_EQ(s.setup(s.process->setup_token(), kAdminPassword, {admin_ip}).status, 201);

  // 30 wrong passwords from 30 "different" clients behind the proxy.
  int unauthorized = 0, throttled = 0;
  for (int i = 1; i <= 30; ++i) {
    Reply r = s.login("wrong-password-" + std::to_string(i), {"X-Forwarded-For: 203.0.113." + std::to_string(i)});
    unauthorized += r.status == 401;
    throttled += r.status == 429;
    if (r.status == 429) {
      EXPECT_TRUE(r.header("retry-after").has_value());
    }
  }
  std::cout << "30 guesses from 30 proxied clients: " << unauthorized << " checked (401), " << throttled
            << " refused unchecked (429)\n";
  EXPECT_EQ(unauthorized, 10) << "the account's bucket for unknown clients (docs/API.md)";
  EXPECT_EQ(throttled, 20);

  // The admin, from their own address, at the documented rate (one attempt): not locked out.
  Reply mine = s.login(kAdminPassword, {admin_ip});
  EXPECT_EQ(mine.status, 200) << mine.body;
  // A client the account does not know waits with the guessers.
  EXPECT_EQ(s.login(kAdminPassword, {"X-Forwarded-For: 192.0.2.99"}).status, 429);
  // An X-Forwarded-For from an untrusted peer is ignored: 127.0.0.2 is counted as itself.
  EXPECT_EQ(s.login(kAdminPassword, {"X-Forwarded-For: 198.51.100.7"}, "127.0.0.2").status, 429);
}

// 50 clients log in (and out) at the same time, with the production Argon2id cost, and
// retry when told to (503 + Retry-After: the password pool is full). The admin's
// dashboard meanwhile asks for the project list over its keep-alive connection: its p99
// stays under 100 ms. Measured over at least 500 requests and 5 s of load. Beside it,
// GET /api/settings (no Docker Engine involved) shows what the server itself adds.
TEST(SecurityLimits, FiftyConcurrentLoginsDoNotSlowTheApi) {
  STACKSNAP_REQUIRE_ENGINE(engine);  // GET /api/projects must measure a discovery, not an error
  LiveServer s;
  ASSERT_NE(s.start(), 0) << s.process->log();
  Session admin = s.claim();
  CURL* keep = curl_easy_init();
  int unexpected = 0;
  auto timed_get = [&](const std::string& path) {
    auto t0 = Clock::now();
    Reply r = call({.url = s.url(path), .headers = {admin.cookie}, .timeout_ms = 10000, .reuse = keep});
    unexpected += r.status != 200;
    return ms_since(t0);
  };
  struct Samples {
    std::vector<double> projects, settings;
  };
  auto sample = [&](Samples& out) {
    out.projects.push_back(timed_get("/api/projects"));
    out.settings.push_back(timed_get("/api/settings"));
  };
  // The bound is absolute. A machine so busy (other builds, other tests' containers on the
  // same Engine) that the route misses it without any login cannot show anything either
  // way: wait, up to two minutes, for an idle p99 within half the bound.
  Samples idle;
  for (int round = 0; round < 8; ++round) {
    idle = {};
    for (int i = 0; i < 200; ++i) sample(idle);
    if (quantile(idle.projects, 0.99) < 50.0) break;
    std::cout << "idle p99 of GET /api/projects " << quantile(idle.projects, 0.99) << " ms (GET /api/settings "
              << quantile(idle.settings, 0.99) << " ms): the machine is busy, waiting\n";
    std::this_thread::sleep_for(15s);
  }

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, busy{0}, throttled{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 50; ++c) {
    clients.emplace_back([&, c] {
      const std::string source = "127.0.0." + std::to_string(2 + c);
      while (!stop) {
        Reply r = s.login(kAdminPassword, {}, source);
        if (r.status == 200) {
          ok++;
          Session mine = LiveServer::session_of(r);
          call({.method = "POST", .url = s.url("/api/logout"), .headers = mine.headers(), .source_ip = source});
          continue;
        }
        (r.status == 503 ? busy : r.status == 429 ? throttled : other)++;
        auto wait = std::stoi(r.header("retry-after").value_or("1"));
        for (int i = 0; i < wait * 10 && !stop; ++i) std::this_thread::sleep_for(100ms);
      }
    });
  }
  std::this_thread::sleep_for(1s);  // let the burst build up
  Samples loaded;
  auto t0 = Clock::now();
  while (loaded.projects.size() < 500 || ms_since(t0) < 5000) sample(loaded);
  const int ok_during = ok;
  stop = true;
  for (auto& t : clients) t.join();
  curl_easy_cleanup(keep);

  auto line = [](const char* what, const std::vector<double>& v) {
    std::cout << "  " << what << ": p50 " << quantile(v, 0.5) << " ms, p99 " << quantile(v, 0.99) << " ms, max "
              << quantile(v, 1.0) << " ms (" << v.size() << " requests)\n";
  };
  std::cout << "one keep-alive client, idle:\n";
  line("GET /api/projects", idle.projects);
  line("GET /api/settings", idle.settings);
  std::cout << "the same during 50 concurrent logins (" << ms_since(t0) / 1000 << " s):\n";
  line("GET /api/projects", loaded.projects);
  line("GET /api/settings", loaded.settings);
  std::cout << "logins meanwhile: " << ok_during << " ok, " << busy << " told to retry (503, password pool full), "
            << throttled << " 429, " << other << " other\n";
  EXPECT_EQ(unexpected, 0) << "every dashboard request succeeded (the session stayed valid, the Engine answered)";
  EXPECT_GT(ok_during, 0) << "logins went through meanwhile";
  EXPECT_GT(busy.load(), 0) << "the password pool is bounded";
  EXPECT_EQ(other.load(), 0);
  EXPECT_LT(quantile(loaded.settings, 0.99), 100.0);
  ASSERT_LT(quantile(idle.projects, 0.99), 50.0)
      << "the machine is too busy to measure: GET /api/projects alone has a p99 of " << quantile(idle.projects, 0.99)
      << " ms (Docker Engine with " << run_script("docker ps -q | wc -l").output << " containers)";
  EXPECT_LT(quantile(loaded.projects, 0.99), 100.0);
}

TEST(SecurityLimits, IdleConnectionsFromOneClientDoNotStopAnother) {
  raise_fd_limit();
  LiveServer s;
  ASSERT_NE(s.start(), 0) << s.process->log();
  s.claim();
  std::vector<int> fds;
  for (int i = 0; i < 1000; ++i) {
    int fd = connect_from("127.0.0.2", s.process->port());
    if (fd >= 0) fds.push_back(fd);
  }
  EXPECT_EQ(fds.size(), 1000u) << "the kernel accepted the connects";
  std::this_thread::sleep_for(300ms);
  size_t kept = 0;
  for (int fd : fds) {
    pollfd p{fd, POLLIN, 0};
    bool closed = ::poll(&p, 1, 0) == 1;  // EOF from the server
    kept += !closed;
  }
  std::cout << "1000 idle connections from 127.0.0.2: " << kept << " kept open by the server, " << fds.size() - kept
            << " closed at once\n";
  EXPECT_LE(kept, 32u) << "per-client cap";
  auto t0 = Clock::now();
  Reply r = s.login();
  const double login_ms = ms_since(t0);
  std::cout << "login from 127.0.0.1 meanwhile: " << r.status << " in " << login_ms << " ms\n";
  EXPECT_EQ(r.status, 200) << curl_easy_strerror(r.curl);
  for (int fd : fds) ::close(fd);
}

// Bytes read from client sockets, as the server counts them (/metrics).
uint64_t received_bytes(const LiveServer& s, const std::string& bearer) {
  Reply m = call({.url = s.url("/metrics"), .headers = {bearer}});
  const std::string name = "\nstacksnap_http_received_bytes_total ";
  size_t at = m.body.find(name);
  EXPECT_NE(at, std::string::npos) << m.body;
  return at == std::string::npos ? 0 : std::stoull(m.body.substr(at + name.size()));
}

TEST(SecurityLimits, UnauthenticatedBodiesAreRefusedUnread) {
  LiveServer s;
  ASSERT_NE(s.start(), 0) << s.process->log();
  Session admin = s.claim();
  Reply tok = call({.method = "POST", .url = s.url("/api/tokens"), .body = R"({"name":"metrics"})", .headers = admin.headers()});
  const std::string bearer = "Authorization: Bearer " + tok.json()["token"].get<std::string>();
  // Within the route's own body limit (512 KiB for /api/targets), so that the
  // authenticated request is read whole and then refused as a bad target.
  constexpr size_t kBody = 256 << 10;
  const std::string body(kBody, 'x');
  // POST /api/targets with a 256 KiB body. The header goes first; the body follows either at
  // once, or only after the answer came (refused at header time: the server never wanted it).
  auto post = [&](const std::string& credentials, bool body_first) {
    int fd = connect_from("127.0.0.1", s.process->port());
    EXPECT_GE(fd, 0);
    const uint64_t before = received_bytes(s, bearer);
    EXPECT_TRUE(send_all(fd, "POST /api/targets HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                             "Content-Type: application/json\r\n" +
                                 credentials + "Content-Length: " + std::to_string(kBody) + "\r\n\r\n"));
    if (body_first) send_all(fd, body);
    std::string answer = read_until_closed(fd, 3s);
    if (!body_first) {
      ::fcntl(fd, F_SETFL, O_NONBLOCK);
      ssize_t offered = ::send(fd, body.data(), body.size(), MSG_NOSIGNAL);
      std::cout << "  after the answer the kernel took " << offered << " body bytes from the client\n";
      std::this_thread::sleep_for(1500ms);  // past the server's grace period: it has closed
    }
    ::close(fd);
    return std::make_pair(answer, received_bytes(s, bearer) - before);
  };
  auto [authed, authed_read] = post(admin.cookie + "\r\nX-CSRF-Token: " + admin.csrf + "\r\n", true);
  EXPECT_TRUE(authed.starts_with("HTTP/1.1 400")) << authed.substr(0, 200);  // read, then refused as a bad target
  auto [refused, refused_read] = post("", false);
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 401")) << "answered before any body byte was sent: " << refused.substr(0, 200);
  std::cout << "bytes the server read from the client: authenticated 256 KiB POST " << authed_read
            << ", unauthenticated 256 KiB POST " << refused_read << "\n";
  EXPECT_GE(authed_read, kBody) << "the measurement sees a body that is read";
  EXPECT_LT(refused_read, 4096u) << "only the request header (and the /metrics request) was read";
}

TEST(SecurityLimits, LogoutPasswordChangeAndRevocationEndEventStreams) {
  LiveServer s;
  ASSERT_NE(s.start(), 0) << s.process->log();
  Session first = s.claim();
  Session second = LiveServer::session_of(s.login());
  Reply tok = call({.method = "POST", .url = s.url("/api/tokens"), .body = R"({"name":"sse"})", .headers = first.headers()});
  ASSERT_EQ(tok.status, 201);
  const std::string bearer = "Authorization: Bearer " + tok.json()["token"].get<std::string>();
  Reply tok2 = call({.method = "POST", .url = s.url("/api/tokens"), .body = R"({"name":"kept"})", .headers = first.headers()});
  const std::string bearer2 = "Authorization: Bearer " + tok2.json()["token"].get<std::string>();

  auto open = [&](SseClient& c, const std::string& credential) {
    ASSERT_TRUE(c.open(s.process->port(), "/api/events", {credential}));
    ASSERT_EQ(c.read_status(), 200);
  };
  // Whether the stream ends within `limit` of `t0` (taken just before the request that
  // ended its credentials was sent).
  auto closes_within = [](SseClient& c, Clock::time_point t0, std::chrono::milliseconds limit) {
    bool eof = c.read_to_eof(limit);
    std::cout << "  stream closed: " << (eof ? "yes" : "no") << ", " << ms_since(t0)
              << " ms after the request was sent\n";
    return eof && ms_since(t0) < static_cast<double>(limit.count());
  };
  SseClient a, b, t, t2;
  open(a, first.cookie);
  open(b, second.cookie);
  open(t, bearer);
  open(t2, bearer2);

  // Logout ends that session's stream, and only that one.
  auto t0 = Clock::now();
  ASSERT_EQ(call({.method = "POST", .url = s.url("/api/logout"), .headers = second.headers()}).status, 204);
  EXPECT_TRUE(closes_within(b, t0, 1s)) << "after logout";
  EXPECT_FALSE(a.read_to_eof(200ms)) << "another session's stream stays";

  // Revoking a token ends its streams.
  t0 = Clock::now();
  ASSERT_EQ(call({.method = "DELETE", .url = s.url("/api/tokens/" + std::to_string(tok.json()["id"].get<int64_t>())),
                  .headers = first.headers()})
                .status,
            204);
  EXPECT_TRUE(closes_within(t, t0, 1s)) << "after revocation";

  // A password change ends the other sessions' streams and (by default) every token's.
  Session third = LiveServer::session_of(s.login());
  SseClient c;
  open(c, third.cookie);
  t0 = Clock::now();
  Reply pw = call({.method = "POST", .url = s.url("/api/password"),
                   .body = Json{{"current", kAdminPassword}, {"new", "a-brand-new-password"}}.dump(),
                   .headers = first.headers()});
  ASSERT_EQ(pw.status, 204) << pw.body;
  EXPECT_TRUE(closes_within(c, t0, 1s)) << "another session, after the password change";
  EXPECT_TRUE(closes_within(t2, t0, 1s)) << "an API token, after the password change";
  EXPECT_FALSE(a.read_to_eof(200ms)) << "the session that changed the password keeps its stream";
  EXPECT_EQ(call({.url = s.url("/api/session"), .headers = {bearer2}}).status, 401);
}

}  // namespace
}  // namespace stacksnap::it
