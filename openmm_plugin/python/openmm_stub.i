/* The OpenMM classes our wrappers mention. Debian does not ship OpenMM's own
   SWIG interface files, so this declares just enough for SWIG to know the
   types and that their Python proxies live in openmm.openmm (it is only
   %import'ed: no wrappers are generated from it). */
%{
#include "OpenMM.h"
%}
namespace OpenMM {
class Force {
 public:
  virtual ~Force();
};
class System;
class Context;
}  // namespace OpenMM
