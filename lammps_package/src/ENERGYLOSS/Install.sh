# Install/uninstall the ENERGYLOSS package in a LAMMPS source tree for the
# traditional make build: `make yes-energyloss` runs `sh Install.sh 1` in
# this folder (inside lammps/src), `make no-energyloss` runs `sh Install.sh 0`,
# `make package-update` runs `sh Install.sh 2`.
# mode = 0/1/2 for uninstall/install/update.
#
# The styles call the installed energyloss libraries: where they live is
# taken from the environment at install time,
#   ENERGYLOSS_PREFIX  energyloss's install prefix (default /usr/local)
#   ENERGYLOSS_LIBDIR  its library folder (default $ENERGYLOSS_PREFIX/lib)
# and written into ../Makefile.package.settings; ../Makefile.package gets the
# include folder, the libraries and an rpath. Every word added names
# energyloss, so uninstalling removes exactly what was added.

mode=$1
LC_ALL=C
export LC_ALL

if (test "$mode" != 0 && test "$mode" != 1 && test "$mode" != 2) then
  echo "usage: sh Install.sh 0|1|2 (uninstall, install, update)" >&2
  exit 1
fi

# Copies (1, 2) or removes (0) one package file in ../
action () {
  if (test $mode = 0) then
    rm -f ../$1
  elif (! cmp -s $1 ../$1) then
    cp $1 ..
    if (test $mode = 2) then
      echo "  updating src/$1"
    fi
  fi
}

for file in *.cpp *.h; do
  test -f ${file} && action ${file}
done

# Drops what an earlier install added to the two Makefile.package files (a
# word never starts at "=": "PKG_PATH =-L..." keeps its "=").
forget_settings () {
  if (test -e ../Makefile.package) then
    sed -i -e 's/[^ \t=]*energyloss[^ \t]* //g' ../Makefile.package
  fi
  if (test -e ../Makefile.package.settings) then
    sed -i -e '/^energyloss_/d' ../Makefile.package.settings
  fi
}

forget_settings
if (test $mode = 1 || test $mode = 2) then
  prefix=${ENERGYLOSS_PREFIX:-/usr/local}
  libdir=${ENERGYLOSS_LIBDIR:-$prefix/lib}
  if (test ! -e "$prefix/include/energyloss/pair_energy.h") then
    echo "ENERGYLOSS: no energyloss headers in $prefix/include (install energyloss there," \
         "or set ENERGYLOSS_PREFIX to its prefix)" >&2
  fi
  if (test -e ../Makefile.package) then
    sed -i -e 's|^PKG_INC =[ \t]*|&-I$(energyloss_PREFIX)/include |' ../Makefile.package
    sed -i -e 's|^PKG_PATH =[ \t]*|&-L$(energyloss_LIBDIR) |' ../Makefile.package
    sed -i -e 's|^PKG_LIB =[ \t]*|&-lenergyloss_oracles_torch -lenergyloss |' ../Makefile.package
    sed -i -e 's|^PKG_SYSLIB =[ \t]*|&-Wl,-rpath,$(energyloss_LIBDIR) |' ../Makefile.package
  fi
  if (test -e ../Makefile.package.settings) then
    echo "energyloss_PREFIX = $prefix" >> ../Makefile.package.settings
    echo "energyloss_LIBDIR = $libdir" >> ../Makefile.package.settings
  fi
fi
