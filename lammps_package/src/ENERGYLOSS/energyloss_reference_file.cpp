#include "energyloss_reference_file.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <mpi.h>

#include "atom.h"
#include "energyloss_errors.h"
#include "lammps.h"
#include "utils.h"

namespace LAMMPS_NS {
namespace {

// A problem with the file's contents; the message names the file and line.
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void file_error(const std::string& path, int line, const std::string& what) {
  throw FileError(fmt::format("file '{}' line {}: {}", path, line, what));
}

std::vector<std::string> words_of(const std::string& line) {
  std::istringstream stream(line.substr(0, line.find('#')));
  std::vector<std::string> words;
  for (std::string word; stream >> word;) words.push_back(word);
  return words;
}

double number_at(const std::string& path, int line, const std::string& word) {
  if (!utils::is_double(word)) file_error(path, line, fmt::format("'{}' is not a number", word));
  errno = 0;
  const double value = std::strtod(word.c_str(), nullptr);
  if (errno == ERANGE || !std::isfinite(value))
    file_error(path, line, fmt::format("'{}' is not a finite number in range", word));
  return value;
}

// An integer (atom count, ID, image flag) that fits a long long.
long long integer_at(const std::string& path, int line, const std::string& word, const char* what) {
  if (!utils::is_integer(word))
    file_error(path, line, fmt::format("{} '{}' is not an integer", what, word));
  errno = 0;
  const long long value = std::strtoll(word.c_str(), nullptr, 10);
  if (errno == ERANGE) file_error(path, line, fmt::format("{} '{}' is out of range", what, word));
  return value;
}

std::vector<double> read_xyz(std::istream& in, const std::string& path,
                             const std::vector<tagint>& tags) {
  std::string text;
  std::getline(in, text);
  const std::vector<std::string> first = words_of(text);
  if (first.empty() || !utils::is_integer(first[0]))
    file_error(path, 1, "an xyz file starts with its atom count");
  const long long count = integer_at(path, 1, first[0], "atom count");
  if (count != static_cast<long>(tags.size()))
    throw FileError(fmt::format("file '{}' has {} atoms but the group has {} (wrong atom count)",
                                path, count, tags.size()));
  std::getline(in, text);  // comment line
  std::vector<double> x(3 * tags.size());
  for (size_t atom = 0; atom < tags.size(); ++atom) {
    const int line = static_cast<int>(atom) + 3;
    if (!std::getline(in, text))
      file_error(path, line, fmt::format("ends after {} of {} atoms", atom, tags.size()));
    const std::vector<std::string> words = words_of(text);
    if (words.size() < 4) file_error(path, line, "expected 'name x y z'");
    for (int d = 0; d < 3; ++d) x[3 * atom + d] = number_at(path, line, words[1 + d]);
  }
  return x;
}

// Column of x in the Atoms section for the atom style named in its header
// comment (write_data always writes one).
int x_column_of(const std::string& path, int line, const std::string& atom_style) {
  static const std::map<std::string, int> columns = {{"atomic", 2}, {"charge", 3},    {"bond", 3},
                                                     {"angle", 3},  {"molecular", 3}, {"full", 4}};
  const auto found = columns.find(atom_style);
  if (found == columns.end())
    file_error(path, line,
               fmt::format("Atoms section of style '{}'; supported: atomic, charge, bond, angle, "
                           "molecular, full",
                           atom_style));
  return found->second;
}

std::vector<double> read_data(std::istream& in, const std::string& path,
                              const std::vector<tagint>& tags) {
  double box_length[3] = {0.0, 0.0, 0.0};
  const char* bounds[3] = {"xlo", "ylo", "zlo"};
  std::string text;
  int line = 0;
  int x_column = -1;
  long long declared = -1;  // the header's "N atoms"
  while (std::getline(in, text)) {
    ++line;
    const std::vector<std::string> words = words_of(text);
    if (words.size() == 2 && words[1] == "atoms")
      declared = integer_at(path, line, words[0], "atom count");
    if (words.size() == 4) {
      for (int d = 0; d < 3; ++d)
        if (words[2] == bounds[d])
          box_length[d] = number_at(path, line, words[1]) - number_at(path, line, words[0]);
    }
    // Image flags of a tilted box would need the tilt factors too.
    if (words.size() == 6 && words[3] == "xy" &&
        (number_at(path, line, words[0]) != 0.0 || number_at(path, line, words[1]) != 0.0 ||
         number_at(path, line, words[2]) != 0.0))
      file_error(path, line, "triclinic boxes are not supported; write the reference as .xyz");
    if (!words.empty() && words[0] == "Atoms") {
      const size_t hint = text.find('#');
      const std::vector<std::string> style = hint == std::string::npos
                                                 ? std::vector<std::string>{"atomic"}
                                                 : words_of(text.substr(hint + 1));
      x_column = x_column_of(path, line, style.empty() ? "atomic" : style[0]);
      break;
    }
  }
  if (x_column < 0) throw FileError(fmt::format("file '{}' has no Atoms section", path));

  std::vector<double> x(3 * tags.size());
  std::vector<bool> found(tags.size(), false);
  bool started = false;
  long long listed = 0;
  while (std::getline(in, text)) {
    ++line;
    const std::vector<std::string> words = words_of(text);
    if (words.empty()) {
      if (started) break;
      continue;
    }
    started = true;
    const size_t plain = x_column + 3;
    if ((words.size() != plain && words.size() != plain + 3) || !utils::is_integer(words[0]))
      file_error(path, line,
                 fmt::format("expected {} or {} columns (atom ID first)", plain, plain + 3));
    const tagint tag = static_cast<tagint>(integer_at(path, line, words[0], "atom ID"));
    ++listed;
    const auto it = std::lower_bound(tags.begin(), tags.end(), tag);
    if (it == tags.end() || *it != tag) continue;  // not in the group
    const size_t slot = it - tags.begin();
    if (found[slot]) file_error(path, line, fmt::format("atom ID {} appears twice", tag));
    for (int d = 0; d < 3; ++d) {
      double value = number_at(path, line, words[x_column + d]);
      if (words.size() == plain + 3) {
        const long long image = integer_at(path, line, words[plain + d], "image flag");
        if (image > 1000000 || image < -1000000)
          file_error(path, line, fmt::format("image flag '{}' is out of range", words[plain + d]));
        value += static_cast<double>(image) * box_length[d];
      }
      x[3 * slot + d] = value;
    }
    found[slot] = true;
  }
  if (declared >= 0 && listed != declared)
    throw FileError(fmt::format("file '{}' declares {} atoms but its Atoms section lists {}", path,
                                declared, listed));
  const auto missing = std::find(found.begin(), found.end(), false);
  if (missing != found.end())
    throw FileError(fmt::format("file '{}' has no atom with ID {} (of the group)", path,
                                tags[missing - found.begin()]));
  return x;
}

bool has_xyz_suffix(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".xyz") == 0;
}

// An edges file's atom ID as the slot of its atom in `tags` (ascending).
// `largest_tag`: the largest atom ID of the system.
int64_t group_slot_at(const std::string& path, int line, const std::string& word,
                      const std::vector<tagint>& tags, const std::string& group_name,
                      tagint largest_tag) {
  const long long tag = integer_at(path, line, word, "atom ID");
  if (tag < 1 || tag > largest_tag)
    file_error(path, line, fmt::format("no atom has ID {} (IDs go up to {})", word, largest_tag));
  const auto it = std::lower_bound(tags.begin(), tags.end(), static_cast<tagint>(tag));
  if (it == tags.end() || *it != tag)
    file_error(path, line, fmt::format("atom ID {} is not in group {}", word, group_name));
  return it - tags.begin();
}

EdgeFileSprings read_springs(std::istream& in, const std::string& path,
                             const std::vector<tagint>& tags, const std::string& group_name,
                             tagint largest_tag) {
  EdgeFileSprings springs;
  std::set<std::pair<int64_t, int64_t>> seen;
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    const std::vector<std::string> words = words_of(text);
    if (words.empty()) continue;
    if (words.size() != 3)
      file_error(path, line, fmt::format("expected 3 fields 'ID_I ID_J K', got {}", words.size()));
    const int64_t i = group_slot_at(path, line, words[0], tags, group_name, largest_tag);
    const int64_t j = group_slot_at(path, line, words[1], tags, group_name, largest_tag);
    if (i == j) file_error(path, line, fmt::format("pair joins atom ID {} to itself", words[0]));
    if (!seen.insert({std::min(i, j), std::max(i, j)}).second)
      file_error(path, line,
                 fmt::format("pair {} {} is listed twice (in either order)", words[0], words[1]));
    errno = 0;
    const double k = std::strtod(words[2].c_str(), nullptr);
    if (!utils::is_double(words[2]) || errno == ERANGE || !std::isfinite(k))
      file_error(path, line, fmt::format("K '{}' is not a finite number", words[2]));
    if (k < 0.0) file_error(path, line, fmt::format("K '{}' is negative", words[2]));
    springs.edges.push_back(i);
    springs.edges.push_back(j);
    springs.k.push_back(k);
  }
  if (springs.k.empty()) throw FileError(fmt::format("edges file '{}' lists no pairs", path));
  return springs;
}

}  // namespace

std::vector<double> read_reference_coordinates(LAMMPS* lmp, const std::string& path,
                                               const std::vector<tagint>& tags, const char* style) {
  std::vector<double> x(3 * tags.size());
  // FileError, or any other exception of the reading (e.g. std::bad_alloc).
  on_rank_zero_as_lammps_errors(
      lmp, FLERR, fmt::format("{}: keyword 'reference file'", style), [&] {
        std::ifstream in(path);
        std::error_code ignored;
        if (std::filesystem::is_directory(path, ignored))
          throw FileError(fmt::format("reference file '{}' is a directory", path));
        if (!in) throw FileError(fmt::format("cannot open reference file '{}'", path));
        x = has_xyz_suffix(path) ? read_xyz(in, path, tags) : read_data(in, path, tags);
      });
  MPI_Bcast(x.data(), static_cast<int>(x.size()), MPI_DOUBLE, 0, lmp->world);
  return x;
}

EdgeFileSprings read_edge_file(LAMMPS* lmp, const std::string& path,
                               const std::vector<tagint>& tags, const std::string& group_name,
                               const char* style) {
  tagint largest_tag = 0;
  for (int i = 0; i < lmp->atom->nlocal; ++i)
    largest_tag = std::max(largest_tag, lmp->atom->tag[i]);
  MPI_Allreduce(MPI_IN_PLACE, &largest_tag, 1, MPI_LMP_TAGINT, MPI_MAX, lmp->world);
  EdgeFileSprings springs;
  on_rank_zero_as_lammps_errors(lmp, FLERR, fmt::format("{}: keyword 'edges file'", style), [&] {
    std::ifstream in(path);
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored))
      throw FileError(fmt::format("edges file '{}' is a directory", path));
    if (!in) throw FileError(fmt::format("cannot open edges file '{}'", path));
    springs = read_springs(in, path, tags, group_name, largest_tag);
  });
  long long count = static_cast<long long>(springs.k.size());
  MPI_Bcast(&count, 1, MPI_LONG_LONG, 0, lmp->world);
  springs.k.resize(count);
  springs.edges.resize(2 * count);
  MPI_Bcast(springs.k.data(), static_cast<int>(count), MPI_DOUBLE, 0, lmp->world);
  MPI_Bcast(springs.edges.data(), static_cast<int>(2 * count), MPI_INT64_T, 0, lmp->world);
  return springs;
}

}  // namespace LAMMPS_NS
