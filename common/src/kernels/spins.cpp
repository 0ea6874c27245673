#include "energyloss/spins.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "energyloss/error.h"

namespace energyloss {
namespace {

// ---- numerics of a two-state distribution q(+1) = sigmoid(z), stable for any finite z

double sigmoid(double z) {
  const double e = std::exp(-std::abs(z));
  return z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

double softplus(double z) {
  return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
}

// H(sigmoid(z)) = softplus(z) - z sigmoid(z); this even form avoids the
// cancellation of the two terms at large |z|.
double binary_entropy_of_logit(double z) {
  const double a = std::abs(z);
  return std::log1p(std::exp(-a)) + a * sigmoid(-a);
}

// sigmoid(z) sigmoid(-z) = q (1 - q) = (1 - m^2) / 4 = dq/dz.
double bernoulli_variance(double z) {
  const double e = std::exp(-std::abs(z));
  return e / ((1.0 + e) * (1.0 + e));
}

// ---- validation

// A [batch, rows, columns] array, or a [batch, rows] one when `flat`; names
// the position of a flat index for error messages.
struct ArrayShape {
  int64_t batch, rows, columns;
  bool flat = false;

  static ArrayShape sites(int64_t batch, int64_t sites) { return {batch, sites, 1, true}; }
  int64_t per_system() const { return rows * columns; }
  int64_t size() const { return batch * per_system(); }
  std::string position(int64_t index) const {
    const int64_t b = index / per_system(), within = index % per_system();
    std::ostringstream text;  // (not "[" + std::string: GCC 12 -Wrestrict false positive in C++20)
    text << "[" << b << ", ";
    if (flat) {
      text << within << "]";
    } else {
      text << within / columns << ", " << within % columns << "]";
    }
    return text.str();
  }
};

template <typename T>
void check_finite_values(const T* values, const ArrayShape& shape, const char* name) {
  for (int64_t index = 0; index < shape.size(); ++index) {
    if (!std::isfinite(values[index])) {
      fail(name, " has a non-finite value (", values[index], ") at ", shape.position(index));
    }
  }
}

template <typename T>
void check_plus_minus_one(const T* values, const ArrayShape& shape, const char* name) {
  const int64_t per_system = shape.rows * shape.columns;
  for (int64_t index = 0; index < shape.size(); ++index) {
    if (values[index] == T(1) || values[index] == T(-1)) continue;
    const int64_t within = index % per_system;
    fail(name, " must hold spins +1 or -1, got ", values[index], " at [", index / per_system, ", ",
         within / shape.columns, ", ", within % shape.columns, "]");
  }
}

void check_temperature(double temperature) {
  require(std::isfinite(temperature) && temperature >= 0,
          "temperature must be finite and >= 0, got ", temperature);
}

template <typename T>
ArrayShape site_shape(const SpinLattice<T>& lattice) {
  return {lattice.batch, lattice.side, lattice.side};
}

// ---- one lattice instance

template <typename T>
struct Instance {
  const T* horizontal;  // [L, L-1]
  const T* vertical;    // [L-1, L]
  int64_t side;
};

template <typename T>
Instance<T> instance(const SpinLattice<T>& lattice, int64_t b) {
  const int64_t bonds = lattice.bonds_per_direction();
  return {lattice.horizontal + b * bonds, lattice.vertical + b * bonds, lattice.side};
}

// h_i = sum_j J_ij y_j; each bond adds to both of its ends.
template <typename T, typename In, typename Out>
void fields_of(const Instance<T>& lattice, const In* y, Out* h) {
  const int64_t L = lattice.side;
  std::fill(h, h + L * L, Out(0));
  for (int64_t r = 0; r < L; ++r) {
    for (int64_t c = 0; c + 1 < L; ++c) {
      const int64_t i = r * L + c;
      const Out J = lattice.horizontal[r * (L - 1) + c];
      h[i] += J * y[i + 1];
      h[i + 1] += J * y[i];
    }
  }
  for (int64_t r = 0; r + 1 < L; ++r) {
    for (int64_t c = 0; c < L; ++c) {
      const int64_t i = r * L + c;
      const Out J = lattice.vertical[r * L + c];
      h[i] += J * y[i + L];
      h[i + L] += J * y[i];
    }
  }
}

// -sum_<ij> J_ij y_i y_j, each bond once.
template <typename T, typename In>
double energy_of(const Instance<T>& lattice, const In* y) {
  const int64_t L = lattice.side;
  double energy = 0;
  for (int64_t r = 0; r < L; ++r) {
    for (int64_t c = 0; c + 1 < L; ++c) {
      const int64_t i = r * L + c;
      energy -= double(lattice.horizontal[r * (L - 1) + c]) * y[i] * y[i + 1];
    }
  }
  for (int64_t r = 0; r + 1 < L; ++r) {
    for (int64_t c = 0; c < L; ++c) {
      const int64_t i = r * L + c;
      energy -= double(lattice.vertical[r * L + c]) * y[i] * y[i + L];
    }
  }
  return energy;
}

// Runs body(b, scratch) for every system on OpenMP threads, each thread with
// its own scratch from make_scratch(). An allocation failure on any thread is
// rethrown here instead of terminating the process; every thread still
// reaches the work-sharing loop so none waits forever at its barrier.
template <typename MakeScratch, typename Body>
void for_each_system(int64_t batch, MakeScratch make_scratch, Body body) {
  std::exception_ptr failure;
#pragma omp parallel if (batch > 1)
  {
    decltype(make_scratch()) scratch{};
    bool ready = false;
    try {
      scratch = make_scratch();
      ready = true;
    } catch (...) {
#pragma omp critical(energyloss_spins_failure)
      if (!failure) failure = std::current_exception();
    }
#pragma omp for schedule(static)
    for (int64_t b = 0; b < batch; ++b) {
      if (ready) body(b, scratch);
    }
  }
  if (failure) std::rethrow_exception(failure);
}

// ---- exact ground state of one instance

struct GroundStateScratch {
  std::vector<double> cost, next_cost;  // [2^L]: best energy so far per frontier state
  std::vector<uint64_t> choices;        // [L^2, words]: per site and new state, the argmin bit
};

int64_t choice_words(int64_t side) {
  return std::max<int64_t>(1, (int64_t{1} << side) / 64);
}

// Packs 8 flags (bytes 0 or 1) into the low 8 bits, flag k -> bit k: the
// multiplier moves byte k to bit 56 + k without carries.
uint64_t pack_flags(const uint8_t* flags) {
  uint64_t bytes = 0;
  for (int k = 0; k < 8; ++k) bytes |= uint64_t{flags[k]} << (8 * k);
  return (bytes * 0x0102040810204080ULL) >> 56;
}

// Transfer matrix over the sites in row-major order. The frontier is the last
// L sites visited, as a shift register: before site (r, c) its top bit L-1 is
// (r-1, c), the up neighbour, and bit 0 is (r, c-1), the left neighbour (bit 1
// = spin +1). Adding the site shifts the top bit out and the new spin in at
// bit 0: new state 2t + s comes from old states t and t + 2^(L-1), so both
// reads and writes are contiguous. Open boundaries are zero couplings.
template <typename T>
void ground_state_of(const Instance<T>& lattice, GroundStateScratch& scratch, T* spins, T* energy) {
  const int64_t L = lattice.side;
  const int64_t states = int64_t{1} << L, half = states / 2;
  const int64_t words = choice_words(L), pairs_per_word = std::min<int64_t>(32, half);
  std::fill(scratch.cost.begin(), scratch.cost.end(), 0.0);
  for (int64_t r = 0; r < L; ++r) {
    for (int64_t c = 0; c < L; ++c) {
      const double up = r > 0 ? double(lattice.vertical[(r - 1) * L + c]) : 0.0;
      const double left = c > 0 ? double(lattice.horizontal[r * (L - 1) + c - 1]) : 0.0;
      const double* old_cost = scratch.cost.data();
      double* new_cost = scratch.next_cost.data();
      uint64_t* choice = scratch.choices.data() + (r * L + c) * words;
      for (int64_t word = 0; word < words; ++word) {
        uint8_t from_plus[64] = {};  // per new state: did the best path have the up spin +1?
        for (int64_t k = 0; k < pairs_per_word; ++k) {
          const int64_t t = word * 32 + k;
          const double up_minus = old_cost[t], up_plus = old_cost[t + half];
          const double left_field = (t & 1) ? left : -left;  // J_left y_left
          // A new spin s costs -s (up * y_up + left_field).
          const double minus_a = up_minus - up, minus_b = up_plus + up;
          const double plus_a = up_minus + up, plus_b = up_plus - up;
          from_plus[2 * k] = minus_b < minus_a;
          from_plus[2 * k + 1] = plus_b < plus_a;
          new_cost[2 * t] = std::min(minus_a, minus_b) + left_field;
          new_cost[2 * t + 1] = std::min(plus_a, plus_b) - left_field;
        }
        uint64_t bits = 0;
        for (int64_t byte = 0; byte < 2 * pairs_per_word; byte += 8)
          bits |= pack_flags(from_plus + byte) << byte;
        choice[word] = bits;
      }
      std::swap(scratch.cost, scratch.next_cost);
    }
  }
  const std::vector<double>& cost = scratch.cost;
  int64_t state = std::min_element(cost.begin(), cost.end()) - cost.begin();
  *energy = T(cost[state]);
  for (int64_t site = L * L - 1; site >= 0; --site) {
    spins[site] = (state & 1) ? T(1) : T(-1);
    const uint64_t word = scratch.choices[site * words + (state >> 6)];
    state = (state >> 1) | (int64_t((word >> (state & 63)) & 1) << (L - 1));
  }
}

}  // namespace

template <typename T>
void check_spin_lattice(const SpinLattice<T>& lattice) {
  // An empty batch (B = 0) is valid and writes nothing.
  require(lattice.batch >= 0, "spin lattice: negative batch size ", lattice.batch);
  require(lattice.side >= 1, "spin lattice: side L must be >= 1, got ", lattice.side);
  check_finite_values(lattice.horizontal, {lattice.batch, lattice.side, lattice.side - 1}, "Jh");
  check_finite_values(lattice.vertical, {lattice.batch, lattice.side - 1, lattice.side}, "Jv");
}

template <typename T>
void local_fields(const SpinLattice<T>& lattice, const T* spins, T* fields) {
  check_spin_lattice(lattice);
  check_finite_values(spins, site_shape(lattice), "spins");
  const int64_t n = lattice.sites();
  for_each_system(
      lattice.batch, [] { return 0; },
      [&](int64_t b, int) { fields_of(instance(lattice, b), spins + b * n, fields + b * n); });
}

template <typename T>
void ising_energy(const SpinLattice<T>& lattice, const T* spins, T* energy, T* grad_spins) {
  check_spin_lattice(lattice);
  check_finite_values(spins, site_shape(lattice), "spins");
  const int64_t n = lattice.sites();
  for_each_system(
      lattice.batch, [] { return 0; },
      [&](int64_t b, int) {
        const Instance<T> system = instance(lattice, b);
        energy[b] = T(energy_of(system, spins + b * n));
        if (grad_spins == nullptr) return;
        T* grad = grad_spins + b * n;
        fields_of(system, spins + b * n, grad);
        for (int64_t i = 0; i < n; ++i) grad[i] = -grad[i];
      });
}

template <typename T>
void local_field_energy_loss(const SpinLattice<T>& lattice, const T* logits, const T* target,
                             double temperature, double h0, T* loss, T* grad_logits) {
  check_spin_lattice(lattice);
  check_finite_values(logits, site_shape(lattice), "logits");
  check_plus_minus_one(target, site_shape(lattice), "target");
  check_temperature(temperature);
  require(std::isfinite(h0), "h0 must be finite, got ", h0);
  const int64_t n = lattice.sites();
  for_each_system(
      lattice.batch, [n] { return std::vector<double>(n); },
      [&](int64_t b, std::vector<double>& fields) {
        const T* z = logits + b * n;
        const T* y = target + b * n;
        fields_of(instance(lattice, b), y, fields.data());
        double total = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double weight = y[i] * fields[i] + h0;  // half the cost of flipping spin i, + h0
          // (1 - y m) / 2 = q(spin != y) = sigmoid(-y z)
          total += weight * sigmoid(-y[i] * z[i]) - temperature * binary_entropy_of_logit(z[i]);
          if (grad_logits != nullptr) {
            grad_logits[b * n + i] =
                T(bernoulli_variance(z[i]) * (temperature * z[i] - weight * y[i]));
          }
        }
        loss[b] = T(total);
      });
}

template <typename T>
void spin_true_energy_loss(const SpinLattice<T>& lattice, const T* logits, double temperature,
                           T* loss, T* grad_logits) {
  check_spin_lattice(lattice);
  check_finite_values(logits, site_shape(lattice), "logits");
  check_temperature(temperature);
  const int64_t n = lattice.sites();
  for_each_system(
      lattice.batch, [n] { return std::vector<double>(2 * n); },
      [&](int64_t b, std::vector<double>& scratch) {
        const T* z = logits + b * n;
        double* m = scratch.data();
        double* fields = scratch.data() + n;
        for (int64_t i = 0; i < n; ++i) m[i] = std::tanh(0.5 * z[i]);
        const Instance<T> system = instance(lattice, b);
        double total = energy_of(system, m);
        fields_of(system, m, fields);
        for (int64_t i = 0; i < n; ++i) {
          total -= temperature * binary_entropy_of_logit(z[i]);
          // dE/dm_i = -h_i(m) and dm/dz = 2 q (1 - q)
          if (grad_logits != nullptr) {
            grad_logits[b * n + i] =
                T(bernoulli_variance(z[i]) * (temperature * z[i] - 2.0 * fields[i]));
          }
        }
        loss[b] = T(total);
      });
}

template <typename T>
void spin_bce_loss(int64_t batch, int64_t sites, const T* logits, const T* target, T* loss,
                   T* grad_logits) {
  require(batch >= 0 && sites >= 1, "spin_bce_loss: negative batch or empty system (batch ", batch,
          ", sites ", sites, ")");
  check_finite_values(logits, ArrayShape::sites(batch, sites), "logits");
  check_plus_minus_one(target, ArrayShape::sites(batch, sites), "target");
  for_each_system(
      batch, [] { return 0; },
      [&](int64_t b, int) {
        double total = 0;
        for (int64_t i = b * sites; i < (b + 1) * sites; ++i) {
          const double signed_logit = double(target[i]) * logits[i];
          total += softplus(-signed_logit);
          if (grad_logits != nullptr) grad_logits[i] = T(-target[i] * sigmoid(-signed_logit));
        }
        loss[b] = T(total);
      });
}

template <typename T>
void spin_margin_loss(int64_t batch, int64_t sites, const T* logits, const T* target, double margin,
                      T* loss, T* grad_logits) {
  require(batch >= 0 && sites >= 1, "spin_margin_loss: negative batch or empty system (batch ",
          batch, ", sites ", sites, ")");
  check_finite_values(logits, ArrayShape::sites(batch, sites), "logits");
  check_plus_minus_one(target, ArrayShape::sites(batch, sites), "target");
  require(std::isfinite(margin), "margin must be finite, got ", margin);
  for_each_system(
      batch, [] { return 0; },
      [&](int64_t b, int) {
        double total = 0;
        for (int64_t i = b * sites; i < (b + 1) * sites; ++i) {
          const double violation = margin - double(target[i]) * logits[i];
          total += std::max(violation, 0.0);
          if (grad_logits != nullptr) grad_logits[i] = violation > 0 ? -target[i] : T(0);
        }
        loss[b] = T(total);
      });
}

template <typename T>
void ising_ground_state(const SpinLattice<T>& lattice, T* spins, T* energy) {
  check_spin_lattice(lattice);
  require(lattice.side <= kMaxGroundStateSide, "ising_ground_state: side L = ", lattice.side,
          " exceeds the supported maximum ", kMaxGroundStateSide,
          " (the exact programme needs L^2 2^L bits per instance)");
  const int64_t L = lattice.side, n = lattice.sites();
  for_each_system(
      lattice.batch,
      [L] {
        GroundStateScratch scratch;
        scratch.cost.resize(size_t{1} << L);
        scratch.next_cost.resize(size_t{1} << L);
        scratch.choices.resize(size_t(L * L * choice_words(L)));
        return scratch;
      },
      [&](int64_t b, GroundStateScratch& scratch) {
        ground_state_of(instance(lattice, b), scratch, spins + b * n, energy + b);
      });
}

#define ENERGYLOSS_INSTANTIATE_SPINS(T)                                                       \
  template void check_spin_lattice<T>(const SpinLattice<T>&);                                 \
  template void local_fields<T>(const SpinLattice<T>&, const T*, T*);                         \
  template void ising_energy<T>(const SpinLattice<T>&, const T*, T*, T*);                     \
  template void local_field_energy_loss<T>(const SpinLattice<T>&, const T*, const T*, double, \
                                           double, T*, T*);                                   \
  template void spin_true_energy_loss<T>(const SpinLattice<T>&, const T*, double, T*, T*);    \
  template void spin_bce_loss<T>(int64_t, int64_t, const T*, const T*, T*, T*);               \
  template void spin_margin_loss<T>(int64_t, int64_t, const T*, const T*, double, T*, T*);    \
  template void ising_ground_state<T>(const SpinLattice<T>&, T*, T*);

ENERGYLOSS_INSTANTIATE_SPINS(float)
ENERGYLOSS_INSTANTIATE_SPINS(double)

#undef ENERGYLOSS_INSTANTIATE_SPINS

}  // namespace energyloss
