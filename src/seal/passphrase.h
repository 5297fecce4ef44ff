// Reading a passphrase from the controlling terminal without echo.
#pragma once

#include <string_view>

#include "base/error.h"
#include "seal/key.h"

namespace stacksnap::seal {

enum class Confirm { kOnce, kTwice };

// Prompts on /dev/tty (echo off) and reads one line. Unauthenticated when there is no
// terminal or, with kTwice, when the two entries differ; Cancelled on EOF.
Result<SecretString> prompt_passphrase(std::string_view prompt, Confirm confirm = Confirm::kOnce);

}  // namespace stacksnap::seal
