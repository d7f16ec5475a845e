// Unit tests for lib/queue_file against queue-layout/README.md: the 56-byte header,
// QueueWriter's S1 -> S2 (tmp/ -> todo/<inode>), read_queue_file, ids, the trigger.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "queue_file.hpp"
#include "temp_queue.hpp"

using quail::Envelope;
using quail::ErrorKind;
using quail::QueueDirs;
using quail::QueueHeader;
using quail::QueueWriter;
using quail::Recipient;

namespace fs = std::filesystem;

namespace {

Envelope sample_envelope() {
  Envelope e;
  e.sender = "bob@example.test";
  e.ret = "HDRS";
  e.recipients = {Recipient{"alice@example.test", "FAILURE", "rfc822;alice@example.test"},
                  Recipient{"carol@example.org", "", ""}};
  return e;
}

std::string message_of(const quail::QueueFile& f) {
  std::string m(f.header.message_length, '\0');
  REQUIRE(::pread(f.fd.get(), m.data(), m.size(), static_cast<off_t>(f.message_offset())) ==
          static_cast<ssize_t>(m.size()));
  return m;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spew(const std::string& path, const std::string& data) { std::ofstream(path, std::ios::binary) << data; }

}  // namespace

TEST_CASE("queue file: the header is 56 bytes of fixed-width decimal fields") {
  std::string h = quail::format_queue_header(QueueHeader{1234, 1700000000123456789});
  CHECK(h == "QUAIL-QUEUE 1 00000000000000001234 01700000000123456789\n");
  CHECK(h.size() == quail::queue_header_size);
  CHECK(quail::queue_header_size == 56);
  CHECK(quail::format_queue_header(QueueHeader{}).size() == 56);
  CHECK(quail::format_queue_header(QueueHeader{UINT64_MAX, INT64_MAX}).size() == 56);
}

TEST_CASE("queue file: header format and parse round trip") {
  const QueueHeader cases[] = {{0, 0},
                               {1, 1},
                               {1u << 20, 1700000000000000000},
                               {uint64_t{INT64_MAX} - quail::queue_header_size, quail::max_queue_time_ns}};
  for (const auto& c : cases) {
    auto h = quail::parse_queue_header(quail::format_queue_header(c));
    REQUIRE(h.ok());
    CHECK(h->message_length == c.message_length);
    CHECK(h->birth_ns == c.birth_ns);
  }
  // The message follows the header; parse looks at the first 56 bytes only.
  auto h = quail::parse_queue_header(quail::format_queue_header({5, 6}) + "Received: ...");
  REQUIRE(h.ok());
  CHECK(h->message_length == 5);
}

TEST_CASE("queue file: a damaged header is refused") {
  const std::string good = quail::format_queue_header({42, 1700000000000000000});
  auto with = [&](size_t pos, char c) {
    std::string s = good;
    s[pos] = c;
    return s;
  };
  struct Case {
    const char* why;
    std::string bytes;
  };
  const Case cases[] = {
      {"empty", ""},
      {"55 bytes", good.substr(0, 55)},
      {"the placeholder of an uncommitted file", std::string(56, ' ')},
      {"all NUL", std::string(56, '\0')},
      {"wrong magic", "QUAIL-QUEUX" + good.substr(11)},
      {"lowercase magic", "quail-queue" + good.substr(11)},
      {"version 2", with(12, '2')},
      {"no space after version", with(13, '0')},
      {"letter in length", with(20, 'x')},
      {"space in length", with(20, ' ')},
      {"plus sign in length", with(14, '+')},
      {"minus sign in length", with(14, '-')},
      {"no separator", with(34, '0')},
      {"letter in birth", with(40, 'x')},
      {"space in birth", with(54, ' ')},
      {"no newline", with(55, ' ')},
      {"CR instead of newline", with(55, '\r')},
      {"length over 2^64", "QUAIL-QUEUE 1 99999999999999999999 " + good.substr(35)},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.why));
    auto r = quail::parse_queue_header(c.bytes);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::format);
  }
}

TEST_CASE("queue file: a sign in the birth field is refused (20 decimal digits)") {
  // README.md: "<birth: 20 decimal digits>". from_chars for a signed type takes a '-'.
  std::string h = quail::format_queue_header({42, 1});
  h[35] = '-';
  CHECK_FALSE(quail::parse_queue_header(h).ok());
}

TEST_CASE("queue file: ids are decimal inode numbers without leading zeros") {
  for (const char* ok : {"1", "9", "123456", "9223372036854775807", "9223372036854775808", "18446744073709551615"}) {
    CAPTURE(std::string(ok));
    CHECK(quail::valid_queue_id(ok));
    CHECK(std::to_string(quail::parse_queue_id(ok).value()) == ok);
  }
  // An inode number is a uint64_t: a 20-digit name past it names no queue file
  // (queue-send once threw out of std::stoull on one in todo/).
  for (const char* bad : {"", "0", "0123", "12a", "-1", "+1", " 1", "1 ", "1.2", "18446744073709551616",
                          "99999999999999999999", "123456789012345678901", "../1", "1/2"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(quail::valid_queue_id(bad));
    CHECK_FALSE(quail::parse_queue_id(bad).has_value());
  }
}

TEST_CASE("queue file: header numbers at and past INT64_MAX and UINT64_MAX are refused, never wrapped") {
  auto header = [](const char* length, const char* birth) {
    return std::string("QUAIL-QUEUE 1 ") + length + " " + birth + "\n";
  };
  const char* birth = "01700000000000000000";
  const char* length = "00000000000000000042";
  // The length is an off_t with room for the header: at most INT64_MAX - 56.
  CHECK(quail::parse_queue_header(header("09223372036854775751", birth))->message_length == 9223372036854775751u);
  // The birth is at most max_queue_time_ns (2^33 s, year 2242).
  CHECK(quail::parse_queue_header(header(length, "08589934592000000000"))->birth_ns == quail::max_queue_time_ns);
  struct Case {
    const char* why;
    std::string bytes;
  };
  const Case cases[] = {
      {"length INT64_MAX - 55", header("09223372036854775752", birth)},
      {"length INT64_MAX", header("09223372036854775807", birth)},
      {"length INT64_MAX + 1", header("09223372036854775808", birth)},
      {"length UINT64_MAX", header("18446744073709551615", birth)},
      {"length UINT64_MAX + 1", header("18446744073709551616", birth)},
      {"length of 21 digits", header("123456789012345678901", birth)},
      {"birth one past max_queue_time_ns", header(length, "08589934592000000001")},
      {"birth INT64_MAX", header(length, "09223372036854775807")},
      {"birth INT64_MAX + 1", header(length, "09223372036854775808")},
      {"birth UINT64_MAX", header(length, "18446744073709551615")},
      {"birth of 20 nines", header(length, "99999999999999999999")},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.why));
    CHECK_FALSE(quail::parse_queue_header(c.bytes).ok());
  }
}

TEST_CASE("queue file: create_queue_dirs makes the layout and may run twice") {
  TempQueue q;
  for (const auto& d : {q.dirs.tmp(), q.dirs.todo(), q.dirs.mess(), q.dirs.stat(), q.dirs.queue + "/lock"}) {
    CAPTURE(d);
    CHECK(fs::is_directory(d));
  }
  CHECK(fs::is_fifo(q.dirs.trigger()));
  CHECK(quail::create_queue_dirs(q.dirs).ok());
}

TEST_CASE("queue file: commit puts todo/<inode> and mess/<inode> on disk with the exact message and envelope") {
  TempQueue q;
  Envelope env = sample_envelope();
  std::string msg = "Received: from localhost\nSubject: test\n\nbody\nwith a NUL \0 and \xff bytes\n";
  msg += std::string("\0\0", 2);
  int64_t before = static_cast<int64_t>(std::time(nullptr)) * 1000000000;
  std::string id;
  {
    auto w = QueueWriter::create(q.dirs);
    REQUIRE(w.ok());
    id = w->name();
    CHECK(quail::valid_queue_id(id));
    CHECK(TempQueue::count(q.dirs.tmp()) == 1);  // S1
    REQUIRE(w->append(msg.substr(0, 10)).ok());
    REQUIRE(w->append(msg.substr(10)).ok());
    REQUIRE(w->commit(env).ok());
  }
  CHECK(TempQueue::count(q.dirs.tmp()) == 0);
  CHECK(TempQueue::count(q.dirs.todo()) == 1);
  std::string path = q.dirs.todo() + "/" + id;
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(std::to_string(st.st_ino) == id);  // the id is the inode number
  // The same file is named in mess/ too: that is the durable name (queue-send
  // takes the message by dropping the todo/ one).
  struct stat in_mess;
  REQUIRE(::stat((q.dirs.mess() + "/" + id).c_str(), &in_mess) == 0);
  CHECK(in_mess.st_ino == st.st_ino);
  CHECK(st.st_nlink == 2);

  auto f = quail::read_queue_file(path);
  REQUIRE(f.ok());
  CHECK(f->header.message_length == msg.size());
  CHECK(f->header.birth_ns >= before);
  CHECK(f->header.birth_ns <= (static_cast<int64_t>(std::time(nullptr)) + 1) * 1000000000);
  CHECK(f->envelope == env);
  CHECK(message_of(*f) == msg);
  // The whole file, byte for byte: header, message, envelope.
  CHECK(slurp(path) == quail::format_queue_header(f->header) + msg + quail::serialize_envelope(env));
}

TEST_CASE("queue file: an empty message round-trips") {
  TempQueue q;
  auto w = QueueWriter::create(q.dirs);
  REQUIRE(w.ok());
  REQUIRE(w->commit(sample_envelope()).ok());
  auto f = quail::read_queue_file(q.dirs.todo() + "/" + w->name());
  REQUIRE(f.ok());
  CHECK(f->header.message_length == 0);
  CHECK(f->envelope == sample_envelope());
  CHECK(f->file_size == fs::file_size(q.dirs.todo() + "/" + w->name()));
}

TEST_CASE("queue file: a writer destroyed without commit leaves nothing in tmp/ or todo/") {
  TempQueue q;
  {
    auto w = QueueWriter::create(q.dirs);
    REQUIRE(w.ok());
    REQUIRE(w->append("partial message\n").ok());
    CHECK(TempQueue::count(q.dirs.tmp()) == 1);
  }
  CHECK(TempQueue::count(q.dirs.tmp()) == 0);
  CHECK(TempQueue::count(q.dirs.todo()) == 0);
  {
    // Also after a large message was partly flushed to disk.
    auto w = QueueWriter::create(q.dirs);
    REQUIRE(w.ok());
    REQUIRE(w->append(std::string(3 << 20, 'x')).ok());
  }
  CHECK(TempQueue::count(q.dirs.tmp()) == 0);
  CHECK(TempQueue::count(q.dirs.todo()) == 0);
}

TEST_CASE("queue file: a message over 1 MiB, flushed in parts, round-trips") {
  TempQueue q;
  std::string msg;
  for (int i = 0; msg.size() < (3u << 20) + 12345; ++i) msg += "line " + std::to_string(i) + " of a big message\n";
  auto w = QueueWriter::create(q.dirs);
  REQUIRE(w.ok());
  for (size_t off = 0; off < msg.size(); off += 100000) REQUIRE(w->append(msg.substr(off, 100000)).ok());
  REQUIRE(w->commit(sample_envelope()).ok());
  auto f = quail::read_queue_file(q.dirs.todo() + "/" + w->name());
  REQUIRE(f.ok());
  CHECK(f->header.message_length == msg.size());
  CHECK(message_of(*f) == msg);
  CHECK(f->envelope == sample_envelope());
}

TEST_CASE("queue file: a single append over 1 MiB round-trips") {
  TempQueue q;
  std::string msg(1u << 20, 'a');
  msg += "tail\n";
  auto w = QueueWriter::create(q.dirs);
  REQUIRE(w.ok());
  REQUIRE(w->append(msg).ok());
  REQUIRE(w->commit(sample_envelope()).ok());
  auto f = quail::read_queue_file(q.dirs.todo() + "/" + w->name());
  REQUIRE(f.ok());
  CHECK(message_of(*f) == msg);
}

TEST_CASE("queue file: two writers get different ids") {
  TempQueue q;
  auto a = QueueWriter::create(q.dirs);
  auto b = QueueWriter::create(q.dirs);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->id() != b->id());
  REQUIRE(a->commit(sample_envelope()).ok());
  REQUIRE(b->commit(sample_envelope()).ok());
  CHECK(TempQueue::count(q.dirs.todo()) == 2);
}

TEST_CASE("queue file: read_queue_file refuses damaged files") {
  TempQueue q;
  auto w = QueueWriter::create(q.dirs);
  REQUIRE(w.ok());
  REQUIRE(w->append("Subject: x\n\nhello\n").ok());
  REQUIRE(w->commit(sample_envelope()).ok());
  std::string good = slurp(q.dirs.todo() + "/" + w->name());
  std::string header = good.substr(0, 56), rest = good.substr(56);
  std::string bad_path = q.dirs.mess() + "/1";

  struct Case {
    const char* why;
    std::string bytes;
  };
  const Case cases[] = {
      {"empty file", ""},
      {"header only, cut", good.substr(0, 30)},
      {"uncommitted placeholder header", std::string(56, ' ') + rest},
      {"envelope cut short", good.substr(0, good.size() - 3)},
      {"end record missing", good.substr(0, good.size() - 1)},
      {"message length past the end", quail::format_queue_header({1u << 30, 1}) + rest},
      {"message length too short", quail::format_queue_header({3, 1}) + rest},
      {"message length too long", quail::format_queue_header({rest.size() - 2, 1}) + rest},
      {"garbage after the envelope", good + "junk"},
      {"length near 2^64 wraps the envelope offset", quail::format_queue_header({UINT64_MAX - 55, 1}) + rest},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.why));
    spew(bad_path, c.bytes);
    auto r = quail::read_queue_file(bad_path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::format);
    CHECK(r.error().reason.find(bad_path) != std::string::npos);
  }
  auto missing = quail::read_queue_file(q.dirs.todo() + "/999999999");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::not_found);
}

TEST_CASE("queue file: pull_trigger does not block when nobody listens") {
  TempQueue q;
  quail::pull_trigger(q.dirs);  // FIFO without a reader: ENXIO, returns at once
  fs::remove(q.dirs.trigger());
  quail::pull_trigger(q.dirs);  // no FIFO at all
  CHECK(true);
}

TEST_CASE("queue file: pull_trigger writes one byte to a listening queue-send") {
  TempQueue q;
  int r = ::open(q.dirs.trigger().c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(r >= 0);
  quail::pull_trigger(q.dirs);
  char buf[8];
  CHECK(::read(r, buf, sizeof buf) == 1);
  ::close(r);
}

TEST_CASE("queue file: a new file is mode 0640 under a caller's umask of 077") {
  TempQueue q;
  mode_t old_mask = ::umask(077);
  std::string id;
  {
    auto w = QueueWriter::create(q.dirs);
    REQUIRE(w.ok());
    id = w->name();
    REQUIRE(w->append("Subject: x\n\nbody\n").ok());
    REQUIRE(w->commit(sample_envelope()).ok());
  }
  ::umask(old_mask);
  struct stat st;
  REQUIRE(::stat((q.dirs.todo() + "/" + id).c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);  // readable by queue-send through the queue's group
}

TEST_CASE("queue file: tmp/ names give the writer's pid and birth; anything else is not queue-inject's") {
  auto t = quail::parse_tmp_name("1234.1700000000123456789");
  REQUIRE(t.has_value());
  CHECK(t->pid == 1234);
  CHECK(t->birth_ns == 1700000000123456789LL);
  for (const char* bad : {"", ".", "1234", "1234.", ".5", "0.5", "01.5", "1.05", "-1.5", "1.-5", "1.5.6", "a.5",
                          "1.99999999999999999999", "1 .5", "1.5 ", "9223372036854775808.1"}) {
    CAPTURE(bad);
    CHECK_FALSE(quail::parse_tmp_name(bad).has_value());
  }
  CHECK(quail::parse_tmp_name("1.0").has_value());
}
