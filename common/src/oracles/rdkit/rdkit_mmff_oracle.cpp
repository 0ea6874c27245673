// The RDKit MMFF94 / MMFF94s energy oracle: a molecule read from an MDL mol
// block (hydrogens explicit, sanitized by RDKit), one RDKit ForceField per
// worker thread, the batch shared out among the workers.
#include <ForceField/ForceField.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/ForceFieldHelpers/MMFF/AtomTyper.h>
#include <GraphMol/ForceFieldHelpers/MMFF/Builder.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/SanitException.h>

#include <algorithm>
#include <exception>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "batch_workers.h"
#include "energyloss/error.h"
#include "energyloss/oracles/rdkit_mmff_oracle.h"

namespace energyloss {
namespace {

// RDKit's default cut-off (angstrom, at the file's coordinates): every pair of
// a molecule is inside it.
constexpr double kNonBondedThreshold = 100.0;

bool is_mol_block(const std::string& molecule) {
  return molecule.find('\n') != std::string::npos;
}

// How messages name the molecule: the file, or the mol block by its title line.
std::string name_molecule(const std::string& molecule) {
  if (!is_mol_block(molecule)) return "molecule file '" + molecule + "'";
  const std::string title = molecule.substr(0, molecule.find_first_of("\r\n"));
  return title.empty() ? "untitled mol block" : "mol block '" + title + "'";
}

std::string read_mol_text(const std::string& molecule, const std::string& name) {
  if (is_mol_block(molecule)) return molecule;
  std::ifstream file(molecule);
  require(file.good(), "RDKit MMFF oracle: ", name, " cannot be opened (missing?)");
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// The first record of `text`, sanitized, hydrogens kept; parse errors and
// chemistry RDKit rejects are told apart.
std::unique_ptr<RDKit::RWMol> parse_molecule(const std::string& text, const std::string& name) {
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::MolBlockToMol(text, /*sanitize=*/true, /*removeHs=*/false));
  } catch (const RDKit::MolSanitizeException& error) {
    fail("RDKit MMFF oracle: RDKit cannot sanitize ", name, ": ", error.what());
  } catch (const std::exception& error) {
    fail("RDKit MMFF oracle: ", name, " is not a readable MDL mol block: ", error.what());
  }
  require(mol != nullptr && mol->getNumAtoms() > 0, "RDKit MMFF oracle: ", name,
          " holds no atoms (an empty or truncated mol block?)");
  return mol;
}

// Implicit hydrogens would have no positions, so the force field would miss them.
void require_explicit_hydrogens(const RDKit::ROMol& mol, const std::string& name) {
  for (const RDKit::Atom* atom : mol.atoms()) {
    const unsigned hydrogens = atom->getTotalNumHs(/*includeNeighbors=*/false);
    require(hydrogens == 0, "RDKit MMFF oracle: atom ", atom->getIdx(), " (", atom->getSymbol(),
            ") of ", name, " carries ", hydrogens,
            " implicit hydrogen(s); every hydrogen must be an atom with coordinates "
            "(e.g. RDKit's AddHs(mol, addCoords=True))");
  }
}

// Names every atom MMFF has no type (hence no parameters) for.
void require_mmff_types(RDKit::MMFF::MMFFMolProperties& properties, const RDKit::ROMol& mol,
                        const std::string& variant, const std::string& name) {
  if (properties.isValid()) return;
  std::string untyped;
  for (const RDKit::Atom* atom : mol.atoms()) {
    if (properties.getMMFFAtomType(atom->getIdx()) != 0) continue;
    untyped += (untyped.empty() ? "" : ", ") + std::string("atom ") +
               std::to_string(atom->getIdx()) + " (" + atom->getSymbol() + ")";
  }
  fail("RDKit MMFF oracle: ", variant, " has no parameters for ", untyped, " of ", name);
}

struct Worker {
  std::unique_ptr<ForceFields::ForceField> field;
  std::vector<double> positions, gradient;  // RDKit takes non-const arrays
};

class RDKitMMFFOracle final : public EnergyOracle {
 public:
  RDKitMMFFOracle(const std::string& molecule, const std::string& variant, int workers)
      : name_(name_molecule(molecule)), variant_(variant) {
    require(variant == "MMFF94" || variant == "MMFF94s",
            "variant: expected 'MMFF94' or 'MMFF94s', got '", variant, "'");
    require(workers >= 1, "workers: expected >= 1, got ", workers);
    mol_ = parse_molecule(read_mol_text(molecule, name_), name_);
    require_explicit_hydrogens(*mol_, name_);
    properties_ = std::make_unique<RDKit::MMFF::MMFFMolProperties>(*mol_, variant);
    require_mmff_types(*properties_, *mol_, variant, name_);
    atoms_ = mol_->getNumAtoms();
    for (const RDKit::Atom* atom : mol_->atoms()) elements_.push_back(atom->getSymbol());
    for (int w = 0; w < workers; ++w) {
      Worker& worker = workers_.emplace_back();
      worker.field.reset(RDKit::MMFF::constructForceField(*mol_, properties_.get(),
                                                          kNonBondedThreshold, /*confId=*/-1,
                                                          /*ignoreInterfragInteractions=*/false));
      worker.positions.resize(size_t(3 * atoms_));
      worker.gradient.resize(size_t(3 * atoms_));
    }
  }

  int64_t atoms() const override { return atoms_; }
  OracleUnits units() const override { return {"angstrom", "kcal/mol"}; }
  std::vector<std::string> elements() const override { return elements_; }
  std::string describe() const override {
    return "RDKit " + variant_ + " " + name_ + " (" + std::to_string(workers_.size()) + " worker" +
           (workers_.size() > 1 ? "s" : "") + ")";
  }

  // Called by EnergyOracle::evaluate after it has validated the arguments.
  void compute(const double* positions, int64_t batch, double* energies, double* forces) override {
    const int64_t stride = atoms_ * 3;
    // A ForceField is not reentrant: concurrent callers take turns.
    std::lock_guard<std::mutex> lock(evaluating_);
    evaluate_on_workers(batch, workers_.size(), describe(), [&](size_t w, int64_t entry) {
      evaluate_one(workers_[w], positions + entry * stride, energies[entry],
                   forces == nullptr ? nullptr : forces + entry * stride);
    });
  }

 private:
  void evaluate_one(Worker& worker, const double* positions, double& energy, double* forces) const {
    std::copy_n(positions, worker.positions.size(), worker.positions.begin());
    // calcEnergy(pos) refills the distance cache that calcGrad(pos) reads
    // without refreshing: the gradient must follow the energy.
    energy = worker.field->calcEnergy(worker.positions.data());
    if (forces != nullptr) {
      // calcGrad adds to the array it is given.
      std::fill(worker.gradient.begin(), worker.gradient.end(), 0.0);
      worker.field->calcGrad(worker.positions.data(), worker.gradient.data());
      for (size_t n = 0; n < worker.gradient.size(); ++n) forces[n] = -worker.gradient[n];
    }
    require_finite_result(energy, forces, atoms_);
  }

  std::string name_;
  std::string variant_;
  // The force fields point into the molecule's conformer and its MMFF
  // properties: both outlive them.
  std::unique_ptr<RDKit::RWMol> mol_;
  std::unique_ptr<RDKit::MMFF::MMFFMolProperties> properties_;
  int64_t atoms_ = 0;
  std::vector<std::string> elements_;
  std::vector<Worker> workers_;
  std::mutex evaluating_;
};

}  // namespace

std::shared_ptr<EnergyOracle> make_rdkit_mmff_oracle(const std::string& molecule,
                                                     const std::string& variant, int workers) {
  return std::make_shared<RDKitMMFFOracle>(molecule, variant, workers);
}

}  // namespace energyloss
