// Test inputs written by a script once per build tree: ctest runs every test
// in its own process, so the first process to need a folder writes it into a
// private scratch folder and renames it into place; later ones reuse it while
// it is newer than the script that writes it.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace energyloss::test_support {

// Runs each of `commands` (shell command lines; "{}" stands for the scratch
// folder) unless `folder` is already complete and newer than `script`. Fails
// the current test (ASSERT) when a command fails.
inline void generate_folder_once(const std::filesystem::path& folder,
                                 const std::filesystem::path& script,
                                 const std::vector<std::string>& commands) {
  namespace fs = std::filesystem;
  const fs::path stamp = folder / "complete";
  const auto fresh = [&] {
    return fs::exists(stamp) && fs::last_write_time(stamp) > fs::last_write_time(script);
  };
  if (fresh()) return;
  const fs::path scratch = folder.string() + ".tmp" + std::to_string(::getpid());
  fs::create_directories(scratch);
  for (std::string command : commands) {
    for (size_t at; (at = command.find("{}")) != std::string::npos;) {
      command.replace(at, 2, scratch.string());
    }
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  std::ofstream(scratch / "complete") << "made by " << script << "\n";
  std::error_code taken;  // another test process may have got there first
  fs::rename(scratch, folder, taken);
  if (!taken) return;
  if (fresh()) {
    fs::remove_all(scratch);
  } else {
    fs::remove_all(folder);
    fs::rename(scratch, folder);
  }
}

}  // namespace energyloss::test_support
