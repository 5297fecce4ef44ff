// Who the server answers to: Host allowlist, same-origin checks for state changes,
// trusted proxies and X-Forwarded-For, the request gate that combines them.
#include <gtest/gtest.h>

#include "http/client_address.h"
#include "http/host_policy.h"
#include "http/request_gate.h"
#include "http/server.h"

namespace stacksnap::http {
namespace {

TEST(HttpHostPolicy, ParsesHostHeadersStrictly) {
  auto h = parse_host_header("Example.COM.:8080");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->name, "example.com");
  EXPECT_EQ(h->port, 8080);
  EXPECT_EQ(parse_host_header("[0:0::1]")->name, "[::1]");
  EXPECT_EQ(parse_host_header("[::1]:80")->port, 80);
  for (const char* bad : {"", ":80", "a b", "evil.example:0", "evil.example:99999", "evil.example:80x", "::1",
                          "[::1", "[zz::1]", "user@host", "host/path", "a:1:2"}) {
    EXPECT_FALSE(parse_host_header(bad)) << bad;
  }
}

TEST(HttpHostPolicy, LoopbackNamesAlwaysPassOthersOnlyWhenAllowed) {
  HostPolicy p;
  for (const char* ok : {"localhost", "localhost:8080", "LOCALHOST.", "app.localhost", "127.0.0.1:8080",
                         "127.1.2.3", "[::1]:8080"}) {
    EXPECT_TRUE(p.allows_host(ok)) << ok;
  }
  for (const char* bad : {"evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io",
                          "192.168.1.5", "0.0.0.0", "[::]", "[fe80::1]"}) {
    EXPECT_FALSE(p.allows_host(bad)) << bad;
  }
  EXPECT_FALSE(p.allows_host(std::nullopt)) << "no Host header at all";

  auto q = HostPolicy::create({.public_url = "https://Backup.Example.com/", .allowed_hosts = {"nas.lan", "fd00::5"},
                               .listen_ip = "192.168.1.5"});
  ASSERT_TRUE(q.ok()) << q.error().message();
  for (const char* ok : {"backup.example.com", "backup.example.com:443", "nas.lan:8080", "[fd00::5]", "192.168.1.5"}) {
    EXPECT_TRUE(q->allows_host(ok)) << ok;
  }
  EXPECT_FALSE(q->allows_host("evil.example"));
  ASSERT_TRUE(q->public_origin());
  EXPECT_EQ(q->public_origin()->to_string(), "https://backup.example.com");
  auto wildcard = HostPolicy::create({.listen_ip = "0.0.0.0"});
  ASSERT_TRUE(wildcard.ok());
  EXPECT_FALSE(wildcard->allows_host("0.0.0.0"));

  EXPECT_FALSE(HostPolicy::create({.public_url = "ftp://x"}).ok());
  EXPECT_FALSE(HostPolicy::create({.public_url = "https://x.example/stacksnap"}).ok());
  EXPECT_FALSE(HostPolicy::create({.allowed_hosts = {"host:8080"}}).ok());
  EXPECT_FALSE(HostPolicy::create({.allowed_hosts = {"bad host"}}).ok());
}

TEST(HttpHostPolicy, StateChangesNeedTheServersOwnOrigin) {
  HostPolicy p;
  auto allows = [&](std::optional<std::string_view> origin, std::optional<std::string_view> site,
                    std::string_view host = "127.0.0.1:8080", std::string_view scheme = "http") {
    return p.allows_origin(origin, site, host, scheme);
  };
  EXPECT_TRUE(allows(std::nullopt, std::nullopt)) << "curl and scripts send neither";
  EXPECT_TRUE(allows("http://127.0.0.1:8080", std::nullopt));
  EXPECT_TRUE(allows("http://localhost", std::nullopt, "localhost:80"));
  EXPECT_FALSE(allows("http://evil.example:8080", std::nullopt));
  EXPECT_FALSE(allows("http://127.0.0.1:3000", std::nullopt)) << "another port is another origin";
  EXPECT_FALSE(allows("https://127.0.0.1:8080", std::nullopt)) << "another scheme is another origin";
  EXPECT_FALSE(allows("null", std::nullopt));
  EXPECT_FALSE(allows("http://127.0.0.1:8080/path", std::nullopt));
  EXPECT_TRUE(allows(std::nullopt, "same-origin"));
  EXPECT_TRUE(allows(std::nullopt, "none"));
  EXPECT_FALSE(allows(std::nullopt, "cross-site"));
  EXPECT_FALSE(allows(std::nullopt, "same-site"));
  EXPECT_FALSE(p.allows_origin("http://127.0.0.1:8080", std::nullopt, std::nullopt, "http"));

  // Behind a TLS proxy that rewrites Host: the public URL's origin is the server's own.
  auto q = *HostPolicy::create({.public_url = "https://backup.example.com"});
  EXPECT_TRUE(q.allows_origin("https://backup.example.com", "same-origin", "127.0.0.1:8080", "http"));
  EXPECT_FALSE(q.allows_origin("https://evil.example", "cross-site", "127.0.0.1:8080", "http"));
}

TEST(HttpTrustedProxies, ForwardedForCountsOnlyFromTrustedPeers) {
  auto none = TrustedProxies::parse({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->client_address("127.0.0.1", "203.0.113.9"), "127.0.0.1") << "no proxies: the header is ignored";

  auto tp = TrustedProxies::parse({"127.0.0.1", "10.0.0.0/8", "fd00::/8"});
  ASSERT_TRUE(tp.ok()) << tp.error().message();
  EXPECT_TRUE(tp->contains("10.200.3.4"));
  EXPECT_TRUE(tp->contains("::ffff:10.1.1.1"));
  EXPECT_TRUE(tp->contains("fd12::1"));
  EXPECT_FALSE(tp->contains("11.0.0.1"));
  EXPECT_EQ(tp->client_address("127.0.0.1", "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(tp->client_address("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2"), "203.0.113.9")
      << "the right-most untrusted hop; what the client wrote left of it does not count";
  EXPECT_EQ(tp->client_address("127.0.0.1", " [2001:db8::7] "), "2001:db8::7");
  EXPECT_EQ(tp->client_address("127.0.0.1", "not-an-ip"), "127.0.0.1");
  EXPECT_EQ(tp->client_address("127.0.0.1", "10.0.0.2"), "127.0.0.1") << "only proxies: the request began there";
  EXPECT_EQ(tp->client_address("127.0.0.1", std::nullopt), "127.0.0.1");
  EXPECT_EQ(tp->client_address("198.51.100.1", "203.0.113.9"), "198.51.100.1") << "an untrusted peer";
  EXPECT_EQ(tp->scheme("127.0.0.1", "https", false), "https");
  EXPECT_EQ(tp->scheme("198.51.100.1", "https", false), "http");
  EXPECT_EQ(tp->scheme("127.0.0.1", "gopher", true), "https");

  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "nonsense", "10.0.0.0/", "10.0.0.0/x"}) {
    EXPECT_FALSE(TrustedProxies::parse({bad}).ok()) << bad;
  }
}

Request request(Method m, std::vector<Header> headers, std::string peer = "127.0.0.1") {
  Request r;
  r.method = m;
  r.headers = std::move(headers);
  r.remote_ip = std::move(peer);
  return r;
}

TEST(HttpRequestGate, MisdirectedHostsAndCrossOriginStateChangesAreRefused) {
  RequestGate gate{.hosts = HostPolicy(), .proxies = *TrustedProxies::parse({"127.0.0.1"})};
  auto r = request(Method::kGet, {{"host", "evil.example:8080"}});
  auto refused = gate.screen(r);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 421);
  EXPECT_NE(refused->body.find("PermissionDenied"), std::string::npos);

  auto twice = request(Method::kGet, {{"host", "localhost"}, {"host", "evil.example"}});
  ASSERT_TRUE(gate.screen(twice)) << "two Host headers";

  auto get = request(Method::kGet, {{"host", "localhost:8080"}, {"origin", "http://evil.example"}});
  EXPECT_FALSE(gate.screen(get)) << "reads are not state changes";

  auto post = request(Method::kPost, {{"host", "localhost:8080"}, {"origin", "http://evil.example"}});
  auto cross = gate.screen(post);
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);

  auto mine = request(Method::kDelete, {{"host", "localhost:8080"}, {"origin", "http://localhost:8080"},
                                        {"x-forwarded-for", "203.0.113.5"}});
  EXPECT_FALSE(gate.screen(mine));
  EXPECT_EQ(mine.client_ip, "203.0.113.5");

  auto proxied = request(Method::kPost, {{"host", "localhost:8080"}, {"origin", "https://localhost:8080"},
                                         {"x-forwarded-proto", "https"}});
  EXPECT_FALSE(gate.screen(proxied)) << "the proxy says the client used https";
}

TEST(HttpConnectionCap, FollowsTheOpenFileLimit) {
  EXPECT_EQ(connection_cap_for(1024), 512u) << "half the descriptors, the rest for jobs";
  EXPECT_EQ(connection_cap_for(1 << 20), kMaxConnections);
  EXPECT_EQ(connection_cap_for(20), 16u);
}

}  // namespace
}  // namespace stacksnap::http
