// The parts of `quail queue`: listing and showing (list.cpp), commands for
// queue-send (command.cpp). Each returns the exit code of man/quail-queue.8.
#pragma once
#include <string>
#include <string_view>

#include "queue_command.hpp"
#include "queue_file.hpp"

namespace quail::queue_tool {

// Every message, oldest first, each recipient with why it waits.
int list(const std::string& root, const QueueDirs& dirs);
// One message: envelope, header section, each recipient's state.
int show(const std::string& root, const QueueDirs& dirs, std::string_view id);
// Drops the command in queue/cmd/, wakes queue-send and waits until it is done.
int command(const QueueDirs& dirs, QueueCommand c);

}  // namespace quail::queue_tool
