// Debian's libopenmm-dev lacks sfmt/SFMT.h, which openmm/cpu/CpuRandom.h
// includes. CpuRandom only holds OpenMM_SFMT::SFMT pointers, so declaring the
// class keeps CpuPlatform's layout as OpenMM compiled it.
#pragma once
namespace OpenMM_SFMT {
class SFMT;
}
