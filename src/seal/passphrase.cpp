#include "seal/passphrase.h"

#include <fcntl.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/fd.h"

namespace stacksnap::seal {

namespace {

Result<SecretString> read_line_noecho(int fd, std::string_view prompt) {
  TRY(write_all(fd, as_bytes(prompt), "terminal"));
  termios old{};
  bool restore = ::tcgetattr(fd, &old) == 0;
  if (restore) {
    termios t = old;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    t.c_lflag |= ECHONL;
    ::tcsetattr(fd, TCSAFLUSH, &t);
  }
  char buf[1024];
  size_t n = 0;
  bool eof = false;
  while (n < sizeof buf) {
    ssize_t r = ::read(fd, buf + n, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      eof = true;
      break;
    }
    if (buf[n] == '\n' || buf[n] == '\r') break;
    ++n;
  }
  if (restore) ::tcsetattr(fd, TCSAFLUSH, &old);
  auto out = SecretString::from(std::string_view(buf, n));
  sodium_memzero(buf, sizeof buf);
  if (eof && n == 0) return cancelled("no passphrase entered");
  return out;
}

}  // namespace

Result<SecretString> prompt_passphrase(std::string_view prompt, Confirm confirm) {
  auto tty = open_file("/dev/tty", O_RDWR | O_NOCTTY);
  if (!tty.ok()) return unauthenticated("a passphrase is needed but there is no terminal (set STACKSNAP_PASSPHRASE)");
  SecretString first = TRY(read_line_noecho(tty->get(), prompt));
  if (confirm == Confirm::kTwice) {
    SecretString second = TRY(read_line_noecho(tty->get(), "Repeat passphrase: "));
    if (first.view() != second.view()) return unauthenticated("the two passphrases differ");
  }
  return first;
}

}  // namespace stacksnap::seal
