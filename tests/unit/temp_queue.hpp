// A fresh ROOT with queue/ made by create_queue_dirs, removed at the end: the
// fixture of the queue-file and queue-pool unit tests.
#pragma once
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>
#include <sys/stat.h>

#include "envelope.hpp"
#include "queue_file.hpp"

struct TempQueue {
  std::string root;
  quail::QueueDirs dirs{"/nonexistent"};
  explicit TempQueue(const char* prefix = "quail-ut-queue") {
    std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    root = tmpl;
    dirs = quail::QueueDirs(root);
    REQUIRE(quail::create_queue_dirs(dirs).ok());
  }
  ~TempQueue() { std::filesystem::remove_all(root); }
  TempQueue(const TempQueue&) = delete;
  TempQueue& operator=(const TempQueue&) = delete;
  // Commits a small message from bob to alice (todo/ and mess/), with these
  // envelope extensions; returns its id (the file's name).
  std::string commit(std::vector<std::pair<std::string, std::string>> extra = {}) {
    auto w = quail::QueueWriter::create(dirs);
    REQUIRE(w.ok());
    std::string id = w->name();
    quail::Envelope env;
    env.sender = "bob@example.test";
    env.recipients = {quail::Recipient{"alice@example.test", "", ""}};
    env.extra = std::move(extra);
    REQUIRE(w->append("Subject: x\n\nbody\n").ok());
    REQUIRE(w->commit(env).ok());
    return id;
  }
  static size_t count(const std::string& dir) {
    size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(dir); it != std::filesystem::directory_iterator(); ++it) ++n;
    return n;
  }
  static ino_t inode(const std::string& path) {
    struct stat st;
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_ino;
  }
};
