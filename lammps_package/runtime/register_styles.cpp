#include "register_styles.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "energylossplugin.h"
#include "error.h"
#include "input.h"
#include "lammps.h"
#include "modify.h"

using namespace LAMMPS_NS;

namespace {

// What the PLUGIN package's plugin_register() does for these style kinds:
// put the plugin's creator into the instance's map (a lammpsplugin_regfunc).
// The command creators are remembered to recognise instances that asked.
std::vector<Input::CommandCreator> our_commands;

void register_style(lammpsplugin_t* plugin, void* instance) {
  auto* lmp = static_cast<LAMMPS*>(instance);
  const std::string kind = plugin->style;
  if (kind == "compute") {
    (*lmp->modify->compute_map)[plugin->name] =
        reinterpret_cast<Modify::ComputeCreator>(plugin->creator.v2);
  } else if (kind == "fix") {
    (*lmp->modify->fix_map)[plugin->name] =
        reinterpret_cast<Modify::FixCreator>(plugin->creator.v2);
  } else if (kind == "command") {
    const auto creator = reinterpret_cast<Input::CommandCreator>(plugin->creator.v1);
    (*lmp->input->command_map)[plugin->name] = creator;
    if (std::find(our_commands.begin(), our_commands.end(), creator) == our_commands.end())
      our_commands.push_back(creator);
  } else {
    lmp->error->all(FLERR, "energyloss: cannot register {} style {}", kind, plugin->name);
  }
}

// The styles the package's headers declare (plugin/energylossplugin.h).
void register_package_styles(LAMMPS* lmp) {
  offer_energyloss_styles(lmp, nullptr, &register_style);
}

// An instance asked for our styles when its (persistent) command map holds
// one of our commands: that marks instances across `clear`, and a later
// LAMMPS instance that did not ask (same address or not) is left alone.
bool asked_for_styles(LAMMPS* lmp) {
  if (lmp == nullptr || lmp->input == nullptr || lmp->input->command_map == nullptr) return false;
  for (const auto& [name, creator] : *lmp->input->command_map) {
    if (std::find(our_commands.begin(), our_commands.end(), creator) != our_commands.end())
      return true;
  }
  return false;
}

// --- re-registration after `clear` -----------------------------------------
// compute and fix live in Modify's style maps, which `clear` throws away with
// Modify itself (Input::clear() = destroy(); create(); post_create()); the
// command map lives in Input, which survives `clear`. LAMMPS (29Sep2021,
// without the PLUGIN package) offers no hook after `clear` rebuilds Modify.
// Input::clear() ends by calling LAMMPS::post_create() through liblammps's
// procedure linkage table, so we point that table entry (and any other
// object's entry for the same function) at a wrapper that calls the real
// post_create() and then registers the styles again on instances that had
// asked for them. This works the same in lmp_energyloss
// and in stock lmp, where the library arrives by dlopen long after start-up
// (symbol interposition could not reach liblammps there).
constexpr const char* kPostCreateSymbol = "_ZN9LAMMPS_NS6LAMMPS11post_createEv";
using PostCreate = void (*)(LAMMPS*);
PostCreate real_post_create = nullptr;

void post_create_then_register(LAMMPS* lmp) {
  real_post_create(lmp);
  if (asked_for_styles(lmp)) register_package_styles(lmp);
}

// d_ptr values are already relocated by glibc for most objects, file offsets
// (below the load base) for a few (the vDSO).
uintptr_t dynamic_address(const ElfW(Dyn) & entry, uintptr_t base) {
  const auto value = static_cast<uintptr_t>(entry.d_un.d_ptr);
  return value < base ? value + base : value;
}

struct PatchSearch {
  int slots_patched = 0;
};

// Writes `hook` into every GOT slot of `info`'s object whose relocation
// names kPostCreateSymbol; restores read-only protection for RELRO slots.
template <typename Relocation>
void patch_relocations(const dl_phdr_info* info, const Relocation* relocations, size_t bytes,
                       const ElfW(Sym) * symbols, const char* strings, PatchSearch* search) {
  const uintptr_t base = info->dlpi_addr;
  const size_t count = bytes / sizeof(Relocation);
  const auto page_size = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  for (size_t r = 0; r < count; ++r) {
    const auto type = ELF64_R_TYPE(relocations[r].r_info);
    if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
    const auto symbol = ELF64_R_SYM(relocations[r].r_info);
    if (symbol == 0 || std::strcmp(strings + symbols[symbol].st_name, kPostCreateSymbol) != 0) {
      continue;
    }
    auto* slot = reinterpret_cast<PostCreate*>(base + relocations[r].r_offset);
    if (*slot == &post_create_then_register) {
      ++search->slots_patched;
      continue;
    }
    const uintptr_t page = reinterpret_cast<uintptr_t>(slot) & ~(page_size - 1);
    bool read_only = false;
    for (int p = 0; p < info->dlpi_phnum; ++p) {
      const auto& header = info->dlpi_phdr[p];
      const uintptr_t start = base + header.p_vaddr;
      if (header.p_type == PT_GNU_RELRO && reinterpret_cast<uintptr_t>(slot) >= start &&
          reinterpret_cast<uintptr_t>(slot) < start + header.p_memsz) {
        read_only = true;
      }
    }
    if (read_only && mprotect(reinterpret_cast<void*>(page), page_size, PROT_READ | PROT_WRITE)) {
      continue;
    }
    *slot = &post_create_then_register;
    if (read_only) mprotect(reinterpret_cast<void*>(page), page_size, PROT_READ);
    ++search->slots_patched;
  }
}

int patch_object(dl_phdr_info* info, size_t /*size*/, void* data) {
  auto* search = static_cast<PatchSearch*>(data);
  const ElfW(Dyn)* dynamic = nullptr;
  for (int p = 0; p < info->dlpi_phnum; ++p) {
    if (info->dlpi_phdr[p].p_type == PT_DYNAMIC) {
      dynamic = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[p].p_vaddr);
    }
  }
  if (dynamic == nullptr) return 0;
  const uintptr_t base = info->dlpi_addr;
  const ElfW(Sym)* symbols = nullptr;
  const char* strings = nullptr;
  uintptr_t jump_relocations = 0, relocations = 0;
  size_t jump_bytes = 0, relocation_bytes = 0;
  long jump_kind = DT_RELA;
  for (const ElfW(Dyn)* entry = dynamic; entry->d_tag != DT_NULL; ++entry) {
    switch (entry->d_tag) {
      case DT_SYMTAB:
        symbols = reinterpret_cast<const ElfW(Sym)*>(dynamic_address(*entry, base));
        break;
      case DT_STRTAB:
        strings = reinterpret_cast<const char*>(dynamic_address(*entry, base));
        break;
      case DT_JMPREL:
        jump_relocations = dynamic_address(*entry, base);
        break;
      case DT_PLTRELSZ:
        jump_bytes = entry->d_un.d_val;
        break;
      case DT_PLTREL:
        jump_kind = static_cast<long>(entry->d_un.d_val);
        break;
      case DT_RELA:
        relocations = dynamic_address(*entry, base);
        break;
      case DT_RELASZ:
        relocation_bytes = entry->d_un.d_val;
        break;
      default:
        break;
    }
  }
  if (symbols == nullptr || strings == nullptr) return 0;
  if (jump_relocations != 0 && jump_kind == DT_RELA) {
    patch_relocations(info, reinterpret_cast<const ElfW(Rela)*>(jump_relocations), jump_bytes,
                      symbols, strings, search);
  }
  if (relocations != 0) {
    patch_relocations(info, reinterpret_cast<const ElfW(Rela)*>(relocations), relocation_bytes,
                      symbols, strings, search);
  }
  return 0;
}

// Installs the wrapper once per process; false when no call site was found
// (e.g. a LAMMPS linked statically or with -Bsymbolic), and styles then do
// not survive `clear`.
bool install_clear_hook() {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [] {
#if defined(__x86_64__) && defined(__linux__)
    real_post_create = reinterpret_cast<PostCreate>(dlsym(RTLD_DEFAULT, kPostCreateSymbol));
    if (real_post_create == nullptr) return;
    PatchSearch search;
    dl_iterate_phdr(&patch_object, &search);
    installed = search.slots_patched > 0;
    // liblammps now calls into this library: never let it be unloaded.
    Dl_info self{};
    if (installed && dladdr(reinterpret_cast<void*>(&post_create_then_register), &self) != 0 &&
        self.dli_fname != nullptr) {
      dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    }
#endif
  });
  return installed;
}

}  // namespace

void LAMMPS_NS::register_energyloss_styles(LAMMPS* lmp) {
  register_package_styles(lmp);
  if (!install_clear_hook()) {
    lmp->error->warning(FLERR,
                        "energyloss: could not hook LAMMPS's `clear`; compute/fix energyloss "
                        "must be registered again after each clear");
  }
}

extern "C" void energyloss_lammps_register(void* lmp) {
  register_energyloss_styles(static_cast<LAMMPS*>(lmp));
}
