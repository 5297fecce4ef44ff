// SSE load benchmark (issue 7): N clients follow one job's event stream while a prober
// measures authenticated API latency (GET /api/session: cookie → SQLite session lookup).
//
//   stacksnap_sse_load [--clients 200] [--seconds 20] [--rate 50] [--event-bytes 300]
//                      [--probe-hz 20] [--io-threads 2] [--workers 4]
//
// Everything runs in this process on loopback: the real server (http::Server with the
// core routes and the catalog-backed job event route), a producer appending job events to
// the catalog and publishing them (as run_job does), the SSE clients on their own io
// thread, and the prober. Prints a human summary and one JSON line.
#include <sys/resource.h>

#include <utility>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "http/auth.h"
#include "http/core_routes.h"
#include "http/job_stream.h"
#include "http/rate_limit.h"
#include "http/router.h"
#include "http/server.h"
#include "http/sse.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Json = nlohmann::json;
using namespace stacksnap;
using Steady = std::chrono::steady_clock;

namespace {

struct Config {
  int clients = 200;
  int seconds = 20;
  int rate = 50;  // job events per second
  int event_bytes = 300;
  int probe_hz = 20;
  int io_threads = 2;
  int workers = 4;
};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now().time_since_epoch()).count();
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return 0;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

// One blocking HTTP/1.1 request on a keep-alive stream.
bhttp::response<bhttp::string_body> request(beast::tcp_stream& s, bhttp::verb verb, const std::string& target,
                                            const std::string& cookie = {}, const std::string& body = {}) {
  bhttp::request<bhttp::string_body> req{verb, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  if (!cookie.empty()) req.set(bhttp::field::cookie, cookie);
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  bhttp::write(s, req);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res);
  return res;
}

// An SSE client counting events and their delivery latency (the producer stamps "t").
class Follower : public std::enable_shared_from_this<Follower> {
 public:
  Follower(net::io_context& io, uint16_t port, std::string path, std::string cookie)
      : socket_(io), port_(port), path_(std::move(path)), cookie_(std::move(cookie)) {}

  void start() {
    socket_.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_),
                          [self = shared_from_this()](beast::error_code ec) {
                            if (ec) return self->fail();
                            self->request_ = "GET " + self->path_ + " HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " +
                                             self->cookie_ + "\r\nAccept: text/event-stream\r\n\r\n";
                            net::async_write(self->socket_, net::buffer(self->request_),
                                             [self](beast::error_code wec, size_t) {
                                               if (wec) return self->fail();
                                               self->read();
                                             });
                          });
  }
  void stop() {
    beast::error_code ec;
    socket_.close(ec);
  }

  std::atomic<int64_t> events{0};
  std::atomic<int64_t> last_id{0};
  std::atomic<bool> connected{false};
  std::atomic<bool> failed{false};
  std::atomic<bool> reloaded{false};
  std::vector<double> latencies_ms;  // only touched by the client io thread

 private:
  void read() {
    socket_.async_read_some(net::buffer(buf_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->fail();
      self->pending_.append(self->buf_.data(), n);
      self->parse();
      self->read();
    });
  }
  void parse() {
    if (!connected) {
      size_t end = pending_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      if (pending_.compare(0, 12, "HTTP/1.1 200") != 0) return fail();
      connected = true;
      pending_.erase(0, end + 4);
    }
    size_t pos;
    while ((pos = pending_.find("\n\n")) != std::string::npos) {
      std::string_view frame(pending_.data(), pos);
      if (frame.starts_with("id: ")) {
        events.fetch_add(1, std::memory_order_relaxed);
        last_id.store(std::atoll(frame.data() + 4), std::memory_order_relaxed);
        size_t t = frame.find("\"t\":");
        if (t != std::string_view::npos) {
          int64_t sent = std::atoll(frame.data() + t + 4);
          latencies_ms.push_back(static_cast<double>(now_ns() - sent) / 1e6);
        }
      } else if (frame.find("event: reload") != std::string_view::npos) {
        reloaded = true;
      }
      pending_.erase(0, pos + 2);
    }
  }
  void fail() { failed = true; }

  tcp::socket socket_;
  uint16_t port_;
  std::string path_;
  std::string cookie_;
  std::string request_;
  std::array<char, 16384> buf_{};
  std::string pending_;
};

int parse_args(int argc, char** argv, Config& c) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--clients") c.clients = v;
    else if (k == "--seconds") c.seconds = v;
    else if (k == "--rate") c.rate = v;
    else if (k == "--event-bytes") c.event_bytes = v;
    else if (k == "--probe-hz") c.probe_hz = v;
    else if (k == "--io-threads") c.io_threads = v;
    else if (k == "--workers") c.workers = v;
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  if (int rc = parse_args(argc, argv, cfg)) return rc;
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);

  auto dir = TempDir::create("/tmp", "stacksnap-sse-load-");
  if (!dir.ok()) return 1;
  std::string db = dir->path() + "/state.db";
  auto cat = catalog::Catalog::open(db);
  auto auth_db = catalog::Db::open(db);
  if (!cat.ok() || !auth_db.ok()) return 1;
  SystemClock clock;
  http::AuthService auth(**auth_db, clock, {.setup_token_file = dir->path() + "/setup-token"});  // production Argon2id cost
  auto setup_token = auth.prepare_setup_token();
  if (!setup_token.ok()) return 1;
  http::LoginRateLimiter limiter(clock);
  http::SseHub hub;
  http::Router router(&auth);
  http::Server server(router, hub);
  http::register_core_routes(router, {.auth = auth, .limiter = limiter, .hub = hub,
                                      .metrics = [&server] { return server.metrics_text(); }});
  router.sse("/api/jobs/{id}/events", http::job_events_handler(**cat));
  // All followers come from 127.0.0.1: no per-client connection cap here.
  auto st = server.start({.listen = "127.0.0.1:0", .io_threads = cfg.io_threads, .worker_threads = cfg.workers,
                          .max_connections = http::kMaxConnections, .max_connections_per_client = 0});
  if (!st.ok()) {
    std::cerr << "start: " << st.error().message() << "\n";
    return 1;
  }
  uint16_t port = server.port();
  long rss_server = rss_kib();

  // Admin + session for everybody.
  net::io_context probe_io;
  beast::tcp_stream probe(probe_io);
  probe.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  request(probe, bhttp::verb::post, "/api/setup", {},
          R"({"password":"benchmark-password-1","setup_token":")" + *setup_token + R"("})");
  auto login = request(probe, bhttp::verb::post, "/api/login", {}, R"({"password":"benchmark-password-1"})");
  std::string cookie(login[bhttp::field::set_cookie]);
  cookie = cookie.substr(0, cookie.find(';'));

  int64_t job_id = *(*cat)->create_job({.kind = "backup", .project = "bench", .state = catalog::JobState::kRunning,
                                         .created_at = unix_seconds(clock.now())});
  http::SsePublisher sse(hub);
  job::PublishingSink publisher(sse);
  publisher.bind(job_id);

  // Followers.
  net::io_context client_io;
  auto guard = net::make_work_guard(client_io);
  std::thread client_thread([&] { client_io.run(); });
  std::vector<std::shared_ptr<Follower>> followers;
  std::string path = "/api/jobs/" + std::to_string(job_id) + "/events";
  for (int i = 0; i < cfg.clients; ++i) {
    followers.push_back(std::make_shared<Follower>(client_io, port, path, cookie));
    net::post(client_io, [f = followers.back()] { f->start(); });
  }
  auto connect_deadline = Steady::now() + std::chrono::seconds(20);
  while (Steady::now() < connect_deadline) {
    int up = 0;
    for (auto& f : followers) up += f->connected;
    if (up == cfg.clients) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int connected = 0;
  for (auto& f : followers) connected += f->connected;

  // Producer: persisted first, then published — exactly what run_job does.
  std::atomic<bool> running{true};
  std::atomic<int64_t> produced{0};
  std::thread producer([&] {
    auto next = Steady::now();
    auto period = std::chrono::nanoseconds(1'000'000'000 / std::max(1, cfg.rate));
    std::string pad(static_cast<size_t>(std::max(0, cfg.event_bytes - 120)), 'x');
    while (running) {
      Json data{{"step", "capture"}, {"bytes_done", produced.load() * 65536}, {"pad", pad}, {"t", now_ns()}};
      int64_t ts = job::now_ms();
      auto seq = (*cat)->append_event(job_id, ts, "progress", data);
      if (seq.ok()) {
        publisher.emit(job::Event{*seq, ts, "progress", data});
        produced.fetch_add(1);
      }
      next += period;
      std::this_thread::sleep_until(next);
    }
  });

  // Prober: authenticated API calls on a keep-alive connection, plus health on fresh ones.
  double cpu_start = cpu_seconds();
  auto t_start = Steady::now();
  std::vector<double> session_ms, health_ms;
  auto probe_period = std::chrono::nanoseconds(1'000'000'000 / std::max(1, cfg.probe_hz));
  auto next_probe = Steady::now();
  long rss_peak = 0;
  while (Steady::now() - t_start < std::chrono::seconds(cfg.seconds)) {
    auto a = Steady::now();
    auto res = request(probe, bhttp::verb::get, "/api/session", cookie);
    auto b = Steady::now();
    if (res.result_int() != 200) std::cerr << "probe: status " << res.result_int() << "\n";
    session_ms.push_back(std::chrono::duration<double, std::milli>(b - a).count());
    {
      beast::tcp_stream fresh(probe_io);
      auto c = Steady::now();
      fresh.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
      auto h = request(fresh, bhttp::verb::get, "/api/health");
      auto d = Steady::now();
      if (h.result_int() == 200) health_ms.push_back(std::chrono::duration<double, std::milli>(d - c).count());
    }
    rss_peak = std::max(rss_peak, rss_kib());
    next_probe += probe_period;
    std::this_thread::sleep_until(next_probe);
  }
  double elapsed = std::chrono::duration<double>(Steady::now() - t_start).count();
  double cpu = cpu_seconds() - cpu_start;
  running = false;
  producer.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the last events land

  int64_t expected = produced.load();
  int64_t delivered = 0, complete = 0, reloads = 0, failures = 0;
  std::vector<double> all_latency;
  net::post(client_io, [&] {
    for (auto& f : followers) {
      delivered += f->events;
      complete += f->last_id == expected;
      reloads += f->reloaded;
      failures += f->failed;
      all_latency.insert(all_latency.end(), f->latencies_ms.begin(), f->latencies_ms.end());
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string metrics = server.metrics_text();
  for (auto& f : followers) net::post(client_io, [f] { f->stop(); });
  guard.reset();
  server.stop();
  client_io.stop();
  client_thread.join();

  Json out{{"clients", cfg.clients},
           {"connected", connected},
           {"seconds", elapsed},
           {"event_rate", cfg.rate},
           {"event_bytes", cfg.event_bytes},
           {"events_produced", expected},
           {"events_delivered", delivered},
           {"clients_complete", complete},
           {"reloads", reloads},
           {"client_failures", failures},
           {"session_p50_ms", pct(session_ms, 50)},
           {"session_p99_ms", pct(session_ms, 99)},
           {"session_max_ms", pct(session_ms, 100)},
           {"health_new_conn_p50_ms", pct(health_ms, 50)},
           {"health_new_conn_p99_ms", pct(health_ms, 99)},
           {"event_delivery_p50_ms", pct(all_latency, 50)},
           {"event_delivery_p99_ms", pct(all_latency, 99)},
           {"probes", session_ms.size()},
           {"rss_server_only_kib", rss_server},
           {"rss_peak_kib", rss_peak},
           {"process_cpu_percent", 100.0 * cpu / elapsed}};
  std::printf("SSE load: %d/%d clients connected, %lld events × %d clients, %.0f s\n", connected, cfg.clients,
              static_cast<long long>(expected), cfg.clients, elapsed);
  std::printf("  GET /api/session (keep-alive, authenticated): p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu probes)\n",
              pct(session_ms, 50), pct(session_ms, 99), pct(session_ms, 100), session_ms.size());
  std::printf("  GET /api/health (new connection):            p50 %.2f ms  p99 %.2f ms\n", pct(health_ms, 50),
              pct(health_ms, 99));
  std::printf("  event delivery (publish → client parsed):    p50 %.2f ms  p99 %.2f ms\n", pct(all_latency, 50),
              pct(all_latency, 99));
  std::printf("  delivered %lld of %lld (clients complete: %lld, reloads: %lld, failures: %lld)\n",
              static_cast<long long>(delivered), static_cast<long long>(expected * cfg.clients),
              static_cast<long long>(complete), static_cast<long long>(reloads), static_cast<long long>(failures));
  std::printf("  RSS: %ld KiB with the server idle, peak %ld KiB with %d clients (clients are in this process)\n",
              rss_server, rss_peak, cfg.clients);
  std::printf("  CPU: %.0f%% of one core (server + clients + producer + prober)\n", 100.0 * cpu / elapsed);
  std::printf("  verdict: p99 %s 100 ms\n", pct(session_ms, 99) < 100 ? "<" : ">=");
  std::printf("%s\n", out.dump().c_str());
  (void)metrics;
  return 0;
}
