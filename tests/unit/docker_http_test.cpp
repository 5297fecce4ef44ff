// Pure parts of the Engine API transport: chunked decoding, response heads, bodies.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <thread>

#include "base/fd.h"
#include "docker/http.h"

namespace stacksnap::docker::http {
namespace {

// Decodes `wire` fed in pieces of `piece` bytes, reading payload `max` bytes at a time.
Result<std::string> decode(std::string_view wire, size_t piece, size_t max, size_t* consumed_total = nullptr) {
  ChunkedDecoder d;
  std::string out, pending;
  size_t fed = 0, consumed = 0;
  while (!d.done()) {
    if (pending.empty()) {
      if (fed >= wire.size()) break;
      size_t n = std::min(piece, wire.size() - fed);
      pending.append(wire.substr(fed, n));
      fed += n;
    }
    auto st = d.step(pending, max);
    if (!st.ok()) return std::move(st).error();
    out.append(pending.substr(st->payload_offset, st->payload_size));
    pending.erase(0, st->consumed);
    consumed += st->consumed;
  }
  if (!d.done()) return data_loss("incomplete");
  if (consumed_total) *consumed_total = consumed;
  return out;
}

TEST(DockerHttpChunked, DecodesAtEverySplitPoint) {
  const std::string wire = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
  for (size_t piece = 1; piece <= wire.size(); ++piece) {
    for (size_t max : {size_t{1}, size_t{3}, size_t{64}}) {
      size_t consumed = 0;
      auto out = decode(wire, piece, max, &consumed);
      ASSERT_TRUE(out.ok()) << "piece " << piece << ": " << out.error().message();
      EXPECT_EQ(*out, "hello 0123456789") << "piece " << piece << " max " << max;
      EXPECT_EQ(consumed, wire.size());
    }
  }
}

TEST(DockerHttpChunked, StopsAtTheEndAndLeavesFollowingBytes) {
  ChunkedDecoder d;
  std::string wire = "3\r\nabc\r\n0\r\n\r\nNEXT";
  std::string out;
  std::string_view in = wire;
  while (!d.done()) {
    auto st = d.step(in, 100);
    ASSERT_TRUE(st.ok());
    out.append(in.substr(st->payload_offset, st->payload_size));
    in.remove_prefix(st->consumed);
  }
  EXPECT_EQ(out, "abc");
  EXPECT_EQ(in, "NEXT");
}

TEST(DockerHttpChunked, LargeChunkSizes) {
  std::string payload(100000, 'z');
  char head[32];
  std::snprintf(head, sizeof head, "%zX\r\n", payload.size());
  std::string wire = std::string(head) + payload + "\r\n0\r\n\r\n";
  auto out = decode(wire, 4096, 1000);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, payload);
}

TEST(DockerHttpChunked, RejectsMalformedInput) {
  for (std::string bad : {std::string("zz\r\nabc\r\n0\r\n\r\n"), std::string("3\r\nabcX\r\n0\r\n\r\n"), std::string("3\rXabc"), std::string(5000, '1')}) {
    auto out = decode(bad, 7, 64);
    EXPECT_FALSE(out.ok()) << bad.substr(0, 20);
    if (!out.ok()) {
      EXPECT_EQ(out.error().code(), Code::kDataLoss);
    }
  }
}

TEST(DockerHttpHead, ParsesStatusAndHeaders) {
  auto h = parse_response_head(
      "HTTP/1.1 404 Not Found\r\nApi-Version: 1.41\r\ncontent-type:  application/json \r\nContent-Length: 38\r\n\r\n");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 404);
  EXPECT_EQ(h->reason, "Not Found");
  EXPECT_EQ(h->headers.get("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(h->headers.get("API-VERSION").value_or(""), "1.41");
  EXPECT_FALSE(h->headers.get("X-Missing").has_value());

  auto up = parse_response_head("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->status, 101);

  EXPECT_FALSE(parse_response_head("SSH-2.0-OpenSSH\r\n\r\n").ok());
  EXPECT_FALSE(parse_response_head("HTTP/1.1 2x0 OK\r\n\r\n").ok());
  EXPECT_FALSE(parse_response_head("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n").ok());
}

TEST(DockerHttpHead, BodyKinds) {
  uint64_t len = 0;
  auto head = [](std::string_view text) { return *parse_response_head(text); };
  EXPECT_EQ(body_kind(head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"), "GET", &len), BodyKind::kLength);
  EXPECT_EQ(len, 12u);
  EXPECT_EQ(body_kind(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), "GET", &len), BodyKind::kChunked);
  EXPECT_EQ(body_kind(head("HTTP/1.1 200 OK\r\n\r\n"), "GET", &len), BodyKind::kUntilClose);
  EXPECT_EQ(body_kind(head("HTTP/1.1 204 No Content\r\n\r\n"), "POST", &len), BodyKind::kNone);
  EXPECT_EQ(body_kind(head("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"), "HEAD", &len), BodyKind::kNone);
  EXPECT_EQ(body_kind(head("HTTP/1.1 101 UPGRADED\r\n\r\n"), "POST", &len), BodyKind::kNone);
}

TEST(DockerHttp, UrlEncode) {
  EXPECT_EQ(url_encode("a-b_c.d~9"), "a-b_c.d~9");
  EXPECT_EQ(url_encode("{\"label\":[\"a=b c\"]}"), "%7B%22label%22%3A%5B%22a%3Db%20c%22%5D%7D");
  EXPECT_EQ(url_encode("/srv/grüße"), "%2Fsrv%2Fgr%C3%BC%C3%9Fe");
}

// A response read from a real socket, written in awkward pieces.
TEST(DockerHttpConnection, ReadsHeadAndChunkedBodyAcrossWrites) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd server(sv[1]);
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n";
  std::thread t([&] {
    for (size_t i = 0; i < wire.size(); i += 3) {
      ASSERT_TRUE(write_all(server.get(), as_bytes(std::string_view(wire).substr(i, 3)), "test").ok());
    }
    server.reset();
  });
  Connection conn(UniqueFd(sv[0]), ConnectionOptions{std::chrono::milliseconds(5000), "test"});
  auto head = conn.read_head();
  ASSERT_TRUE(head.ok()) << head.error().message();
  BodyReader body(conn, *head, "GET");
  auto text = read_all(body, 1000);
  t.join();
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_EQ(*text, "abcdefghij");
}

TEST(DockerHttpConnection, TruncatedLengthBodyIsUnavailable) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  {
    UniqueFd server(sv[1]);
    ASSERT_TRUE(write_all(server.get(), as_bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), "t").ok());
  }
  Connection conn(UniqueFd(sv[0]), ConnectionOptions{std::chrono::milliseconds(5000), "unix:///test.sock"});
  auto head = conn.read_head();
  ASSERT_TRUE(head.ok());
  BodyReader body(conn, *head, "GET");
  auto text = read_all(body, 1000);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code(), Code::kUnavailable);
  EXPECT_NE(text.error().message().find("unix:///test.sock"), std::string::npos);
}

TEST(DockerHttpConnection, SilentPeerHitsTheDeadline) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd server(sv[1]);
  Connection conn(UniqueFd(sv[0]), ConnectionOptions{std::chrono::milliseconds(50), "test"});
  auto head = conn.read_head();
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.error().code(), Code::kDeadlineExceeded);
}

TEST(DockerHttpConnection, StopTokenCancelsABlockedRead) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd server(sv[1]);
  StopSource stop;
  Connection conn(UniqueFd(sv[0]), ConnectionOptions{std::chrono::milliseconds(0), "test"});
  conn.bind_stop(stop.get_token());
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop.request_stop();
  });
  auto head = conn.read_head();
  t.join();
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.error().code(), Code::kCancelled);
}

}  // namespace
}  // namespace stacksnap::docker::http
