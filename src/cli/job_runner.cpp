#include "cli/job_runner.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <thread>

#include "app/job_notify.h"
#include "app/state.h"
#include "base/scope.h"
#include "cli/event_printer.h"
#include "seal/passphrase.h"

namespace stacksnap::cli {

Result<std::unique_ptr<catalog::Catalog>> open_state(const Globals& g) {
  return app::open_state(g.data_dir, print_note);
}

void print_note(const std::string& message) { std::cerr << "stacksnap: " << message << std::endl; }

namespace {
seal::KeyFlags key_flags(const Globals& g, const std::string& key_file, bool check) {
  seal::KeyFlags f{.key_file = key_file, .data_dir = g.data_dir, .check_record = check};
  f.prompt = [](std::string_view prompt) { return seal::prompt_passphrase(prompt); };
  return f;
}
}  // namespace

Result<seal::MasterKey> sealing_key(const Globals& g, const std::string& key_file) {
  auto src = TRY(seal::resolve_key_source(key_flags(g, key_file, true)));
  const seal::MasterKey* k = TRY(src.key_for_writing());
  return k->clone();
}

Result<seal::KeySource> reading_keys(const Globals& g, const std::string& key_file) {
  return seal::resolve_key_source(key_flags(g, key_file, false));
}

Outcome run_cli_job(const Globals& g, catalog::Catalog& cat, const job::JobSpec& spec, const job::JobBody& body,
                    const std::function<std::string(const nlohmann::json&)>& render_ok) {
  // Signals become a stop request: blocked in every thread, taken by one waiter thread.
  sigset_t signals, previous;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  auto restore_mask = on_scope_exit([&] { pthread_sigmask(SIG_SETMASK, &previous, nullptr); });
  StopSource stop;
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    while (!done) {
      timespec ts{0, 200 * 1000 * 1000};
      int sig = sigtimedwait(&signals, nullptr, &ts);
      if (sig == SIGINT || sig == SIGTERM) {
        if (!g.json) std::fprintf(stderr, "\nstacksnap: %s received, cancelling (cleaning up)…\n",
                                  sig == SIGINT ? "interrupt" : "terminate");
        stop.request_stop();
      }
    }
  });
  auto join = on_scope_exit([&] {
    done = true;
    waiter.join();
  });

  auto warn = [](const std::string& m) { std::fprintf(stderr, "stacksnap: warning: %s\n", m.c_str()); };
  app::JobNotifier notifier(cat, app::cli_notify_poster(), app::cli_notify_retry(), warn);
  auto notify_stop = on_scope_exit([&] { notifier.stop(); });

  JsonLinesPrinter json_printer;
  TerminalPrinter term_printer;
  job::EventSink& live = g.json ? static_cast<job::EventSink&>(json_printer) : term_printer;
  job::JobSpec locked = spec;
  if (locked.lock_dir.empty()) locked.lock_dir = g.data_dir;
  auto outcome = job::run_job(cat, locked, live, stop.get_token(), body, [&](int64_t id) {
    if (auto rec = cat.get_job(id); rec.ok()) notifier.job_event(*rec, "job_started");
  });
  if (outcome.job_id > 0) {
    auto rec = cat.get_job(outcome.job_id);
    if (!outcome.recorded.ok()) {
      warn(outcome.recorded.error().message() + "; it reads \"running\" until the server's start-up repair "
           "finishes it from its summary");
    }
    if (rec.ok()) {
      job::apply_finish(outcome.finish, *rec);
      notifier.job_event(*rec, "job_finished");
    }
  }
  if (!outcome.result.ok()) {
    if (!g.json) {
      const std::string findings = render_findings(outcome.finish.summary);
      if (!findings.empty()) std::cout << findings.substr(1) << std::endl;
    }
    return Outcome(outcome.result.error());
  }
  if (!g.json) {
    std::string line = render_ok ? render_ok(*outcome.result) : std::string();
    line += render_findings(*outcome.result);
    if (!line.empty()) std::cout << line << std::endl;
  }
  Outcome out;
  if (outcome.finish.state == catalog::JobState::kPartial) out.partial = outcome.finish.message;
  return out;
}

}  // namespace stacksnap::cli
