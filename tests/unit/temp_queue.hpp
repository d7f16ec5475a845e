// A fresh ROOT with queue/ made by create_queue_dirs, removed at the end: the
// fixture of the queue-file and queue-pool unit tests.
#pragma once
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/stat.h>

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
