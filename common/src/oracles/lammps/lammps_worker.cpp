// energyloss_lammps_worker: one LAMMPS instance serving energy/force requests
// from the LAMMPS oracle over the socket on fd 3 (see lammps_protocol.h).
//
// Usage: energyloss_lammps_worker DECK [NAME VALUE]...
// The deck runs in its own directory (so it can name data files next to it),
// with each NAME VALUE pair given to LAMMPS as `-var NAME VALUE`.
//
// LAMMPS (Debian's build has no LAMMPS_EXCEPTIONS) calls exit() on any error
// after printing "ERROR: ..." to its screen. The screen is therefore a stream
// of ours: it forwards the error text to the client as an error reply before
// the process ends, and throws everything else (thermo output) away.
//
// Only LAMMPS's C library interface is used (Debian's liblammps-dev lacks the
// headers that the C++ classes need). Fast evaluation path, after one full
// `run 0`: write atom->x in place (minimum image relative to the current
// coordinates, so the neighbour list stays valid unless atoms really moved
// more than half the skin) and advance one step with no integrator fix and
// `neigh_modify every 1 delay 0 check yes` (`run 1 pre no post no`; a batch
// of K configurations is one `run K pre no post no`, see evaluate_batch).
#include <library.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

#include "lammps_protocol.h"

namespace proto = energyloss::lammps_protocol;

namespace {

// Batch entry being evaluated, named in error replies (-1: deck setup).
int64_t current_entry = -1;
bool error_sent = false;

bool send_bytes(const void* data, size_t bytes) {
  return proto::write_all_with(
      [](const char* p, size_t n) { return ::write(proto::kWorkerSocketFd, p, n); }, data, bytes);
}

template <typename T>
bool send_value(const T& value) {
  return send_bytes(&value, sizeof(T));
}

bool send_string(const std::string& text) {
  const auto length = uint32_t(text.size());
  return send_value(length) && send_bytes(text.data(), length);
}

void send_error_reply(proto::Status status, const std::string& message) {
  send_value(status);
  send_value(current_entry);
  send_string(message);
}

// The last words of a worker about to exit: sent once.
void send_error(const std::string& message) {
  if (error_sent) return;
  error_sent = true;
  send_error_reply(proto::kFatal, message);
}

// LAMMPS's screen. Error::all prints "ERROR: ..." then "Last command: ..."
// and calls exit(); Error::one prints "ERROR on proc N: ..." and calls
// MPI_Abort. Collect the first, send at the second or at exit.
std::string screen_line;
std::string pending_error;

void flush_pending_error() {
  if (!pending_error.empty()) send_error(pending_error);
}

void screen_text_line(const std::string& line) {
  if (line.rfind("ERROR on proc", 0) == 0) {
    send_error(line);
  } else if (line.rfind("ERROR", 0) == 0) {
    if (pending_error.empty()) pending_error = line;
  } else if (!pending_error.empty() && line.rfind("Last command:", 0) == 0) {
    pending_error += "\n" + line;
    flush_pending_error();
  }
}

ssize_t screen_write(void*, const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      screen_text_line(screen_line);
      screen_line.clear();
    } else if (screen_line.size() < 4096) {
      screen_line.push_back(data[i]);
    }
  }
  return ssize_t(size);
}

FILE* open_screen() {
  cookie_io_functions_t functions{};
  functions.write = screen_write;
  FILE* screen = fopencookie(nullptr, "w", functions);
  if (screen != nullptr) setvbuf(screen, nullptr, _IONBF, 0);  // see each line before exit()
  return screen;
}

[[noreturn]] void fail_and_exit(const std::string& message) {
  send_error(message);
  std::_Exit(1);
}

class Worker {
 public:
  Worker(const std::string& deck, const std::vector<std::string>& lammps_args) {
    std::vector<char*> argv;
    for (const auto& arg : lammps_args) argv.push_back(const_cast<char*>(arg.c_str()));
    lmp_ = lammps_open_no_mpi(int(argv.size()), argv.data(), nullptr);
    if (lmp_ == nullptr) fail_and_exit("LAMMPS could not be created");
    lammps_file(lmp_, deck.c_str());
    reject_fixes();
    // Our settings for the evaluation loop: neighbour lists checked every
    // step; the total (not per-atom) potential energy tallied on every step
    // (thermo 1), read by the callback that fix external calls after forces.
    lammps_command(lmp_, "neigh_modify every 1 delay 0 check yes");
    lammps_command(lmp_, "thermo_style custom step pe");
    lammps_command(lmp_, "thermo_modify norm no lost error flush no");
    lammps_command(lmp_, "thermo 1");
    lammps_command(lmp_, "fix energyloss_oracle all external pf/callback 1 1");
    lammps_set_fix_external_callback(lmp_, "energyloss_oracle", &Worker::after_forces, this);
    lammps_command(lmp_, "run 0 post no");
    index_atoms();
  }

  ~Worker() { lammps_close(lmp_); }

  void announce() const {
    const auto* style = static_cast<const char*>(lammps_extract_global(lmp_, "units"));
    send_value(proto::kOk);
    send_value(atoms_);
    send_string(style != nullptr ? style : "");
    std::vector<int32_t> types(size_t(atoms_), 0);
    const auto* type = static_cast<const int*>(lammps_extract_atom(lmp_, "type"));
    if (type == nullptr) fail_and_exit("LAMMPS did not provide the atom types");
    for (int i = 0; i < nlocal(); ++i) types[size_t(tags()[i] - 1)] = type[i];
    send_bytes(types.data(), types.size() * sizeof(int32_t));
  }

  // Serves requests until the client closes the socket.
  void serve() {
    proto::RequestHeader header{};
    while (proto::read_all(proto::kWorkerSocketFd, &header, sizeof header)) {
      batch_.positions.resize(size_t(header.count * atoms_ * 3));
      if (!proto::read_all(proto::kWorkerSocketFd, batch_.positions.data(),
                           batch_.positions.size() * sizeof(double))) {
        return;
      }
      batch_.first_entry = header.first_entry;
      batch_.count = header.count;
      batch_.done = 0;
      batch_.first_non_finite = -1;
      batch_.energies.resize(size_t(header.count));
      batch_.forces.resize(header.want_forces ? batch_.positions.size() : 0);
      evaluate_batch();
      if (batch_.first_non_finite >= 0) {
        // An exploding configuration LAMMPS itself did not stop: report it
        // and keep serving (the next request rewrites every position).
        current_entry = batch_.first_entry + batch_.first_non_finite;
        send_error_reply(proto::kError,
                         "LAMMPS returned a non-finite potential energy or force (energy " +
                             std::to_string(batch_.energies[size_t(batch_.first_non_finite)]) +
                             ")");
        continue;
      }
      current_entry = -1;
      send_value(proto::kOk);
      send_bytes(batch_.energies.data(), batch_.energies.size() * sizeof(double));
      send_bytes(batch_.forces.data(), batch_.forces.size() * sizeof(double));
    }
  }

 private:
  int nlocal() const { return lammps_extract_setting(lmp_, "nlocal"); }
  const int* tags() const { return static_cast<const int*>(lammps_extract_atom(lmp_, "id")); }

  // Integrators and constraints would move atoms or change forces inside
  // a run; the oracle evaluates the positions it is given, so decks must
  // not define fixes.
  void reject_fixes() {
    const int fixes = lammps_id_count(lmp_, "fix");
    if (fixes == 0) return;
    std::string names;
    char name[256];
    for (int i = 0; i < fixes; ++i) {
      if (lammps_id_name(lmp_, "fix", i, name, sizeof name))
        names += (i ? ", " : "") + std::string(name);
    }
    fail_and_exit("the deck defines fix(es) " + names +
                  "; an oracle deck must not define fixes (no fix nve/nvt/shake...): remove them");
  }

  // The oracle's atom order is atom-ID order: IDs must be exactly 1..N.
  void index_atoms() {
    if (lammps_extract_setting(lmp_, "tagint") != 4) {
      fail_and_exit("this LAMMPS build uses 64-bit atom IDs, which the worker does not support");
    }
    atoms_ = int64_t(lammps_get_natoms(lmp_));
    if (atoms_ <= 0) fail_and_exit("the deck defines no atoms");
    if (nlocal() != atoms_) fail_and_exit("the worker expects all atoms on one process");
    std::vector<bool> seen(size_t(atoms_), false);
    for (int i = 0; i < nlocal(); ++i) {
      const int tag = tags()[i];
      if (tag < 1 || tag > atoms_ || seen[size_t(tag - 1)]) {
        fail_and_exit("atom IDs must be exactly 1.." + std::to_string(atoms_) + " (found ID " +
                      std::to_string(tag) + "); use reset_atom_ids in the deck");
      }
      seen[size_t(tag - 1)] = true;
    }
  }

  // Replaces the coordinates by `target` (atom-ID order), each moved by the
  // periodic image that brings it closest to where the atom is now.
  void write_positions(const double* target) {
    double lo[3], hi[3], xy = 0, yz = 0, xz = 0;
    int periodic[3], box_change = 0;
    lammps_extract_box(lmp_, lo, hi, &xy, &yz, &xz, periodic, &box_change);
    const double length[3] = {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]};
    auto** x = static_cast<double**>(lammps_extract_atom(lmp_, "x"));
    const int* tag = tags();
    for (int i = 0, n = nlocal(); i < n; ++i) {
      const double* wanted = target + 3 * size_t(tag[i] - 1);
      double* now = x[i];
      if (!(std::isfinite(now[0]) && std::isfinite(now[1]) && std::isfinite(now[2]))) {
        for (int d = 0; d < 3; ++d) now[d] = wanted[d];
        continue;
      }
      // The periodic image of `wanted` nearest to `now` in the triclinic cell
      // (z, then y, then x, as the tilt factors couple them), written as
      // wanted + shift, so that without a shift the coordinates are exactly
      // the ones given (coincident atoms stay coincident).
      double delta[3] = {now[0] - wanted[0], now[1] - wanted[1], now[2] - wanted[2]};
      double shift[3] = {0.0, 0.0, 0.0};
      if (periodic[2]) {
        const double images = std::round(delta[2] / length[2]);
        delta[1] -= images * yz;
        delta[0] -= images * xz;
        shift[2] += images * length[2];
        shift[1] += images * yz;
        shift[0] += images * xz;
      }
      if (periodic[1]) {
        const double images = std::round(delta[1] / length[1]);
        delta[0] -= images * xy;
        shift[1] += images * length[1];
        shift[0] += images * xy;
      }
      if (periodic[0]) shift[0] += std::round(delta[0] / length[0]) * length[0];
      for (int d = 0; d < 3; ++d) now[d] = wanted[d] + shift[d];
    }
  }

  // One `run K pre no post no` for K configurations: configuration k is in
  // place for step k; at the end of the step's force computation (post_force
  // of fix external, after ghost forces are summed) the callback reads the
  // energy and forces and writes configuration k + 1. Per configuration this
  // costs what one MD step costs, without a `run` command's start and finish.
  void evaluate_batch() {
    current_entry = batch_.first_entry;
    write_positions(batch_.positions.data());
    lammps_command(lmp_, ("run " + std::to_string(batch_.count) + " pre no post no").c_str());
    if (batch_.done != batch_.count) {
      fail_and_exit("LAMMPS evaluated " + std::to_string(batch_.done) + " of " +
                    std::to_string(batch_.count) + " configurations");
    }
  }

  static void after_forces(void* self, int64_t, int, int*, double**, double**) {
    static_cast<Worker*>(self)->collect_and_advance();
  }

  void collect_and_advance() {
    const int64_t k = batch_.done;
    if (k >= batch_.count) return;
    // Atoms outside a non-periodic boundary are dropped when this step's
    // configuration is migrated, before its forces; LAMMPS's own "Lost atoms"
    // check comes only at the step's thermo output, after the next
    // configuration is written, and would blame that one.
    if (nlocal() != atoms_) report_lost_atoms();
    const auto* energy = static_cast<const double*>(
        lammps_extract_compute(lmp_, "thermo_pe", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR));
    if (energy == nullptr) fail_and_exit("LAMMPS did not provide the potential energy");
    batch_.energies[size_t(k)] = *energy;
    bool finite = std::isfinite(*energy);
    if (!batch_.forces.empty()) {
      auto** f = static_cast<double**>(lammps_extract_atom(lmp_, "f"));
      double* out = batch_.forces.data() + size_t(k * atoms_ * 3);
      const int* tag = tags();
      for (int i = 0, n = nlocal(); i < n; ++i) {
        for (int d = 0; d < 3; ++d) {
          out[3 * size_t(tag[i] - 1) + d] = f[i][d];
          finite = finite && std::isfinite(f[i][d]);
        }
      }
    }
    if (!finite && batch_.first_non_finite < 0) batch_.first_non_finite = k;
    batch_.done = k + 1;
    if (batch_.done < batch_.count) {
      current_entry = batch_.first_entry + batch_.done;
      write_positions(batch_.positions.data() + size_t(batch_.done * atoms_ * 3));
    }
  }

  // Ends the worker naming the lost atoms (current_entry is this configuration's).
  [[noreturn]] void report_lost_atoms() {
    std::vector<bool> present(size_t(atoms_), false);
    const int* tag = tags();
    for (int i = 0, n = nlocal(); i < n; ++i) {
      if (tag[i] >= 1 && tag[i] <= atoms_) present[size_t(tag[i] - 1)] = true;
    }
    std::string missing;
    int listed = 0;
    for (int64_t id = 1; id <= atoms_; ++id) {
      if (present[size_t(id - 1)]) continue;
      if (listed++ < 8) missing += (missing.empty() ? "" : ", ") + std::to_string(id);
    }
    if (listed > 8) missing += ", ...";
    fail_and_exit("ERROR: Lost atoms: original " + std::to_string(atoms_) + " current " +
                  std::to_string(nlocal()) + " (atom ID " + missing +
                  "): this configuration puts them outside a non-periodic boundary of the box");
  }

  struct Batch {
    std::vector<double> positions, energies, forces;
    int64_t first_entry = 0, count = 0, done = 0, first_non_finite = -1;
  };

  Batch batch_;
  void* lmp_ = nullptr;
  int64_t atoms_ = 0;
};

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc % 2 != 0) {
    std::fprintf(stderr, "usage: %s DECK [NAME VALUE]...\n", argv[0]);
    return 2;
  }
  // LAMMPS writes its screen to `stdout` as it is when LAMMPS is created.
  stdout = open_screen();
  if (stdout == nullptr) fail_and_exit("could not open the LAMMPS screen stream");
  std::atexit(flush_pending_error);

  const std::string deck = argv[1];
  if (::chdir(directory_of(deck).c_str()) != 0) {
    fail_and_exit("cannot enter the deck's directory " + directory_of(deck));
  }
  std::vector<std::string> lammps_args = {"energyloss_lammps_worker", "-log", "none", "-nocite"};
  for (int i = 2; i + 1 < argc; i += 2) {
    lammps_args.insert(lammps_args.end(), {"-var", argv[i], argv[i + 1]});
  }
  {
    Worker worker(deck.substr(deck.rfind('/') + 1), lammps_args);
    worker.announce();
    worker.serve();
  }
  lammps_mpi_finalize();
  return 0;
}
