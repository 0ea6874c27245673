// Reading a serialized OpenMM System from a file, with errors that name the
// file (see openmm_system.h).
#include "openmm_system.h"

#include <OpenMM.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "energyloss/error.h"

namespace energyloss {
namespace {

// XmlSerializer casts whatever the file holds to the requested type, so an
// Integrator or State file must be turned away before deserializing.
bool root_element_is_system(const std::string& text) {
  size_t at = 0;
  while ((at = text.find('<', at)) != std::string::npos) {
    const char next = at + 1 < text.size() ? text[at + 1] : '\0';
    if (next != '?' && next != '!') return text.compare(at, 7, "<System") == 0;
    ++at;
  }
  return false;
}

}  // namespace

std::unique_ptr<OpenMM::System> read_openmm_system(const std::string& path) {
  std::error_code ignored;
  require(!std::filesystem::is_directory(path, ignored), "OpenMM system file '", path,
          "' is a directory");
  std::ifstream file(path);
  require(file.good(), "OpenMM system file '", path, "' cannot be opened (missing?)");
  const std::string text{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  require(root_element_is_system(text), "OpenMM system file '", path,
          "' does not hold a serialized System (expected a <System> root element)");
  std::istringstream stream(text);
  try {
    std::unique_ptr<OpenMM::System> system(
        OpenMM::XmlSerializer::deserialize<OpenMM::System>(stream));
    require(system != nullptr, "OpenMM system file '", path, "' could not be deserialized");
    return system;
  } catch (const OpenMM::OpenMMException& error) {
    fail("OpenMM system file '", path, "' is not a valid serialized System: ", error.what());
  }
}

}  // namespace energyloss
