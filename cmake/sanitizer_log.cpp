// Linked into every program of a sanitizer build configured with QUAIL_SANITIZE_LOG
// (make e2e-asan): ASan and UBSan write each report to a file named by that
// prefix (plus the program's name and pid) instead of fd 2, whatever environment
// the program was given -- local-spawn clears a delivery's, and a service's fd 2
// is a log file that its temporary root takes away. The run then checks that no
// report file appeared. The environment (ASAN_OPTIONS, UBSAN_OPTIONS) still wins.
// Leak checking is off: a set-uid program (queue-inject, remote-deliver) may not
// be ptrace'd by LeakSanitizer's helper, which then fails the program itself;
// `make unit` checks leaks in lib/.

extern "C" const char* __asan_default_options() {
  return "log_path=" QUAIL_SANITIZE_LOG ":log_exe_name=1:detect_leaks=0:print_summary=1";
}

extern "C" const char* __ubsan_default_options() {
  return "log_path=" QUAIL_SANITIZE_LOG ":log_exe_name=1:print_stacktrace=1";
}
