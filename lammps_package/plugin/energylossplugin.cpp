#include "energylossplugin.h"

#include <type_traits>

#include "version.h"

// The classes (style blocks skipped: no *_CLASS defined yet).
#include "compute_energyloss.h"
#include "fix_energyloss.h"
#include "seed_atoms.h"

using namespace LAMMPS_NS;

namespace {

// lammpsplugin_t's creator: LAMMPS casts it back to its map's signature.
lammpsplugin_factory2* as_factory(Compute* (*creator)(LAMMPS*, int, char**)) {
  return reinterpret_cast<lammpsplugin_factory2*>(creator);
}
lammpsplugin_factory2* as_factory(Fix* (*creator)(LAMMPS*, int, char**)) {
  return reinterpret_cast<lammpsplugin_factory2*>(creator);
}
lammpsplugin_factory1* as_factory(Command* (*creator)(LAMMPS*)) {
  return reinterpret_cast<lammpsplugin_factory1*>(creator);
}

}  // namespace

void LAMMPS_NS::offer_energyloss_styles(void* lmp, void* handle,
                                        lammpsplugin_regfunc register_style) {
  lammpsplugin_t plugin{};
  plugin.version = LAMMPS_VERSION;
  plugin.author = "the energyloss project";
  plugin.handle = handle;
  // style, name and info must outlive the plugin: LAMMPS keeps the pointers.
  auto offer = [&](const char* style, const char* name, const char* info, auto* creator) {
    plugin.style = style;
    plugin.name = name;
    plugin.info = info;
    if constexpr (std::is_same_v<decltype(creator), lammpsplugin_factory1*>)
      plugin.creator.v1 = creator;
    else
      plugin.creator.v2 = creator;
    register_style(&plugin, lmp);
  };
#define ENERGYLOSS_OFFER(kind, key, creator) \
  offer(#kind, #key, "energyloss " #kind " " #key, as_factory(creator));

#define COMPUTE_CLASS
#define ComputeStyle(key, Class) \
  ENERGYLOSS_OFFER(compute, key, (&energyloss_style_creator<Compute, Class>))
#include "compute_energyloss.h"
#undef ComputeStyle
#undef COMPUTE_CLASS
#define FIX_CLASS
#define FixStyle(key, Class) ENERGYLOSS_OFFER(fix, key, (&energyloss_style_creator<Fix, Class>))
#include "fix_energyloss.h"
#undef FixStyle
#undef FIX_CLASS
#define COMMAND_CLASS
#define CommandStyle(key, Class) ENERGYLOSS_OFFER(command, key, &energyloss_command_creator<Class>)
#include "seed_atoms.h"
#undef CommandStyle
#undef COMMAND_CLASS
#undef ENERGYLOSS_OFFER
}

extern "C" void lammpsplugin_init(void* lmp, void* handle, void* regfunc) {
  offer_energyloss_styles(lmp, handle, reinterpret_cast<lammpsplugin_regfunc>(regfunc));
}
