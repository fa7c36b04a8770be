#pragma once
// A pid that belongs to no process, for tests of what is left behind by one that died.

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mosh2::test {

/// A child that has been reaped: its pid is free until the system reuses it.
inline pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

}  // namespace mosh2::test
