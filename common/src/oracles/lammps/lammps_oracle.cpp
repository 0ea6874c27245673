// LAMMPS oracle, client side: every LAMMPS instance lives in its own
// energyloss_lammps_worker process (LAMMPS calls exit() on errors), driven
// over a socket (lammps_protocol.h). A batch is split into contiguous chunks,
// one per worker, evaluated concurrently.
//
// What a deck must contain: units, atoms (IDs exactly 1..N), force field;
// no fixes and no `run` that moves atoms. It runs in its own directory. The
// worker then sets `neigh_modify every 1 delay 0 check yes`, `thermo_style
// custom step pe`, `thermo_modify norm no`, `thermo 1` and adds `fix
// energyloss_oracle all external pf/callback 1 1`. Positions and forces are in
// atom-ID order, in the units of the deck's `units` style. Element names are
// the LAMMPS atom types ("1", "2", ...).
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/lammps_units.h"
#include "energyloss/oracles/lammps_oracle.h"
#include "lammps_protocol.h"

extern char** environ;

namespace energyloss {
namespace {

namespace proto = lammps_protocol;

std::string absolute_path(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    const int error = errno;
    fail("make_lammps_oracle: deck '", path, "' cannot be opened (", std::strerror(error), ")");
  }
  return resolved;
}

bool is_executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

// ENERGYLOSS_LAMMPS_WORKER, else ../libexec next to this library (build tree
// and install tree alike), else the configured install location.
std::string find_worker_executable() {
  if (const char* path = std::getenv("ENERGYLOSS_LAMMPS_WORKER"); path != nullptr && *path) {
    require<RuntimeError>(is_executable(path), "ENERGYLOSS_LAMMPS_WORKER='", path,
                          "' is not an executable");
    return path;
  }
  std::vector<std::string> candidates;
  Dl_info library{};
  if (::dladdr(reinterpret_cast<void*>(&find_worker_executable), &library) != 0 &&
      library.dli_fname != nullptr) {
    std::string directory = library.dli_fname;
    directory = directory.substr(0, directory.rfind('/') + 1);
    candidates.push_back(directory + "../libexec/energyloss_lammps_worker");
    candidates.push_back(directory + "energyloss_lammps_worker");
  }
#ifdef ENERGYLOSS_LAMMPS_WORKER_INSTALLED
  candidates.push_back(ENERGYLOSS_LAMMPS_WORKER_INSTALLED);
#endif
  for (const auto& candidate : candidates) {
    if (is_executable(candidate)) return candidate;
  }
  std::string tried;
  for (const auto& candidate : candidates) tried += " " + candidate;
  fail<RuntimeError>("make_lammps_oracle: energyloss_lammps_worker not found (tried", tried,
                     "); set ENERGYLOSS_LAMMPS_WORKER to its path");
}

OracleUnits units_of_style(const std::string& style) {
  const LammpsUnitStyle* known = find_lammps_unit_style(style);
  require(known != nullptr, "LAMMPS oracle: unknown LAMMPS units style '", style, "'");
  return {known->length_unit, known->energy_unit};
}

// The environment for a worker: ours, minus the MPI launcher variables a
// process that already initialised MPI carries (a worker is an MPI singleton).
std::vector<std::string> worker_environment() {
  std::vector<std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string variable = *entry;
    if (variable.rfind("OMPI_", 0) == 0 || variable.rfind("PMIX_", 0) == 0 ||
        variable.rfind("OPAL_", 0) == 0) {
      continue;
    }
    variables.push_back(variable);
  }
  return variables;
}

// One worker process and its socket. A worker that has died (LAMMPS error,
// crash) is reaped and started again on the next evaluation.
class WorkerProcess {
 public:
  WorkerProcess(std::string executable, std::vector<std::string> arguments, std::string label)
      : executable_(std::move(executable)),
        arguments_(std::move(arguments)),
        label_(std::move(label)) {}
  ~WorkerProcess() { stop(); }
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  bool running() const { return pid_ > 0; }
  const std::string& label() const { return label_; }

  void spawn() {
    int sockets[2];
    require<RuntimeError>(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) == 0,
                          label_, ": socketpair failed (", std::strerror(errno), ")");
    int error_pipe[2];
    if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
      ::close(sockets[0]);
      ::close(sockets[1]);
      fail<RuntimeError>(label_, ": pipe failed (", std::strerror(errno), ")");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, error_pipe[1], 2);
    posix_spawn_file_actions_adddup2(&actions, sockets[1], proto::kWorkerSocketFd);

    std::vector<char*> argv{const_cast<char*>(executable_.c_str())};
    for (auto& argument : arguments_) argv.push_back(argument.data());
    argv.push_back(nullptr);
    auto environment = worker_environment();
    std::vector<char*> envp;
    for (auto& variable : environment) envp.push_back(variable.data());
    envp.push_back(nullptr);

    pid_t pid = 0;
    const int spawned =
        ::posix_spawn(&pid, executable_.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(sockets[1]);
    ::close(error_pipe[1]);
    if (spawned != 0) {
      ::close(sockets[0]);
      ::close(error_pipe[0]);
      fail<RuntimeError>(label_, ": cannot start ", executable_, " (", std::strerror(spawned), ")");
    }
    pid_ = pid;
    stderr_tail_.clear();
    socket_ = sockets[0];
    stderr_ = error_pipe[0];
    ::fcntl(stderr_, F_SETFL, O_NONBLOCK);
  }

  // Reads the start-up announcement: atom count, units style, atom types.
  void read_announcement(int64_t& atoms, std::string& units_style, std::vector<int32_t>& types) {
    expect_ok("while running the deck");
    receive(&atoms, sizeof atoms, "while running the deck");
    units_style = receive_string("while running the deck");
    types.resize(size_t(atoms));
    receive(types.data(), types.size() * sizeof(int32_t), "while running the deck");
    drain_stderr();
  }

  void send_request(const double* positions, int64_t first_entry, int64_t count, int64_t atoms,
                    bool want_forces) {
    const proto::RequestHeader header{count, first_entry, want_forces ? 1 : 0};
    auto writer = [this](const char* data, size_t bytes) {
      return ::send(socket_, data, bytes, MSG_NOSIGNAL);
    };
    if (!proto::write_all_with(writer, &header, sizeof header) ||
        !proto::write_all_with(writer, positions, size_t(count * atoms * 3) * sizeof(double))) {
      died("while receiving positions");
    }
  }

  void receive_reply(double* energies, double* forces, int64_t count, int64_t atoms) {
    expect_ok("while evaluating");
    receive(energies, size_t(count) * sizeof(double), "while evaluating");
    if (forces != nullptr) {
      receive(forces, size_t(count * atoms * 3) * sizeof(double), "while evaluating");
    }
    drain_stderr();
  }

  void stop() {
    if (pid_ <= 0) return;
    ::close(socket_);  // the worker exits at end of input
    for (int waited_ms = 0; waited_ms < 2000; waited_ms += 10) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        close_pipes_and_forget();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    close_pipes_and_forget();
  }

 private:
  void receive(void* data, size_t bytes, const char* doing) {
    if (!proto::read_all(socket_, data, bytes)) died(doing);
  }

  std::string receive_string(const char* doing) {
    uint32_t length = 0;
    receive(&length, sizeof length, doing);
    std::string text(length, '\0');
    receive(text.data(), length, doing);
    return text;
  }

  // Reads a status; on an error reply throws with the worker's message,
  // reaping the worker when it announced that it exits (any LAMMPS error).
  void expect_ok(const char* doing) {
    int32_t status = -1;
    receive(&status, sizeof status, doing);
    if (status == proto::kOk) return;
    int64_t entry = -1;
    receive(&entry, sizeof entry, doing);
    const std::string message = receive_string(doing);
    if (status == proto::kFatal) reap();
    if (entry >= 0) fail(label_, ": batch entry ", entry, ": ", message);
    fail(label_, " ", doing, ": ", message);
  }

  [[noreturn]] void died(const char* doing) {
    const std::string how = reap();
    fail<RuntimeError>(label_, ": the worker process ", how, " ", doing,
                       stderr_tail_.empty() ? "" : "; its stderr: ", stderr_tail_);
  }

  // Waits for the (dying) worker and says how it ended.
  std::string reap() {
    ::close(socket_);
    int status = 0;
    std::string how = "ended";
    if (::waitpid(pid_, &status, 0) == pid_) {
      if (WIFEXITED(status)) how = "exited with status " + std::to_string(WEXITSTATUS(status));
      if (WIFSIGNALED(status)) how = "was killed by signal " + std::to_string(WTERMSIG(status));
    }
    drain_stderr();
    close_pipes_and_forget();
    return how;
  }

  // Keeps the tail of the worker's stderr (MPI messages, crashes), reading
  // it as it comes so that a chatty worker never blocks on a full pipe.
  void drain_stderr() {
    if (stderr_ < 0) return;
    char buffer[4096];
    ssize_t got = 0;
    while ((got = ::read(stderr_, buffer, sizeof buffer)) > 0)
      stderr_tail_.append(buffer, size_t(got));
    constexpr size_t kKeep = 2000;
    if (stderr_tail_.size() > kKeep)
      stderr_tail_ = "..." + stderr_tail_.substr(stderr_tail_.size() - kKeep);
  }

  void close_pipes_and_forget() {
    ::close(stderr_);
    stderr_ = -1;
    pid_ = -1;
  }

  std::string executable_;
  std::vector<std::string> arguments_;
  std::string label_;
  pid_t pid_ = -1;
  int socket_ = -1;
  int stderr_ = -1;
  std::string stderr_tail_;
};

class LammpsOracle : public EnergyOracle {
 public:
  LammpsOracle(const std::string& deck_path, const std::map<std::string, std::string>& variables,
               int workers)
      : deck_(absolute_path(deck_path)) {
    require(workers >= 1, "make_lammps_oracle: workers must be >= 1, got ", workers);
    struct stat info {};
    require(::stat(deck_.c_str(), &info) == 0 && S_ISREG(info.st_mode),
            "make_lammps_oracle: deck '", deck_path, "' is not a regular file");
    std::vector<std::string> arguments{deck_};
    for (const auto& [name, value] : variables) {
      require(!name.empty() && value.find_first_of(" \t\n") == std::string::npos,
              "make_lammps_oracle: variable '", name, "' = '", value,
              "': names must be non-empty and values must be single words");
      arguments.push_back(name);
      arguments.push_back(value);
    }
    const std::string executable = find_worker_executable();
    for (int w = 0; w < workers; ++w) {
      workers_.push_back(std::make_unique<WorkerProcess>(
          executable, arguments, "LAMMPS worker " + std::to_string(w) + " (" + deck_ + ")"));
    }
    start_stopped_workers();
  }

  int64_t atoms() const override { return atoms_; }
  OracleUnits units() const override { return units_; }
  std::vector<std::string> elements() const override { return type_names_; }
  std::string describe() const override { return "LAMMPS deck " + deck_; }

  // Called by EnergyOracle::evaluate after it has validated the arguments.
  void compute(const double* positions, int64_t batch, double* energies, double* forces) override {
    const int64_t stride = atoms_ * 3;
    std::lock_guard<std::mutex> one_call_at_a_time(mutex_);
    start_stopped_workers();

    // Contiguous chunks, all sent before any reply is read.
    const int64_t used = std::min<int64_t>(batch, int64_t(workers_.size()));
    std::vector<int64_t> begin(size_t(used) + 1);
    for (int64_t w = 0; w <= used; ++w) begin[size_t(w)] = batch * w / used;
    // The first failure (an Error or a RuntimeError), rethrown once every
    // worker that was sent a request has replied.
    std::exception_ptr first_error;
    std::vector<bool> sent(size_t(used), false);
    for (int64_t w = 0; w < used; ++w) {
      try {
        const int64_t first = begin[size_t(w)];
        workers_[size_t(w)]->send_request(positions + first * stride, first,
                                          begin[size_t(w) + 1] - first, atoms_, forces != nullptr);
        sent[size_t(w)] = true;
      } catch (const std::exception&) {
        if (!first_error) first_error = std::current_exception();
      }
    }
    for (int64_t w = 0; w < used; ++w) {
      if (!sent[size_t(w)]) continue;
      const int64_t first = begin[size_t(w)];
      try {
        workers_[size_t(w)]->receive_reply(energies + first,
                                           forces != nullptr ? forces + first * stride : nullptr,
                                           begin[size_t(w) + 1] - first, atoms_);
      } catch (const std::exception&) {
        if (!first_error) first_error = std::current_exception();
      }
    }
    if (first_error) std::rethrow_exception(first_error);
  }

 private:
  // Starts every worker that is not running and checks they agree on the
  // system. A worker whose deck fails reports LAMMPS's message here.
  void start_stopped_workers() {
    std::vector<WorkerProcess*> starting;
    for (auto& worker : workers_) {
      if (!worker->running()) {
        worker->spawn();
        starting.push_back(worker.get());
      }
    }
    for (auto* worker : starting) {
      int64_t atoms = 0;
      std::string style;
      std::vector<int32_t> types;
      try {
        worker->read_announcement(atoms, style, types);
      } catch (const std::exception&) {
        for (auto* other : starting) other->stop();
        throw;
      }
      if (atoms_ == 0) {
        atoms_ = atoms;
        units_ = units_of_style(style);
        for (const int32_t type : types) type_names_.push_back(std::to_string(type));
      }
      require(atoms == atoms_, worker->label(), ": the deck now defines ", atoms,
              " atoms, earlier ", atoms_);
    }
  }

  std::string deck_;
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
  int64_t atoms_ = 0;
  OracleUnits units_;
  std::vector<std::string> type_names_;
  std::mutex mutex_;
};

}  // namespace

std::shared_ptr<EnergyOracle> make_lammps_oracle(
    const std::string& deck_path, const std::map<std::string, std::string>& variables,
    int workers) {
  return std::make_shared<LammpsOracle>(deck_path, variables, workers);
}

}  // namespace energyloss
