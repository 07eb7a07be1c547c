#!/usr/bin/env bash
# install.sh - make install into a DESTDIR, then build examples/ against it
#
# Usage: tests/install.sh BUILD_DIR      (run by make test through
#        tests/install/test_install.c; BUILD_DIR as the Makefile's $(B))
#
# 1. make install DESTDIR=<tmp> (PREFIX /usr/local): the static library,
#    libzraft.so.VERSION with its soname link libzraft.so.0 and its dev
#    link libzraft.so, include/zraft.h, lib/pkgconfig/libzraft.pc whose
#    prefix is PREFIX, every program of bin/*.c and every man page of
#    docs/man/*.1 must be where they belong; the soname is checked with
#    readelf -d. A second install with another PREFIX and LIBDIR must
#    land there and name them in its libzraft.pc.
# 2. Every examples/*.c is compiled and linked with the flags of
#    pkg-config alone (PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR into the
#    DESTDIR; no -I or -L of the source or build tree): zraft.h must come
#    from the DESTDIR (the compiler's dependency list says so), the
#    program must need libzraft.so.0 (readelf -d) and ldd must resolve it
#    to the DESTDIR's copy.
#    The first example also builds with BUILD_DIR/libzraft.pc, the one
#    for use from the build tree.
# 3. make uninstall DESTDIR=<tmp> must leave no file behind.
# Fails (exit 1, a line saying why) on the first check that does not
# hold, and when examples/ holds no .c file. INSTALL_EXAMPLES_DIR
# replaces examples/ (the test of that failure uses it).
set -euo pipefail

me=install.sh
fail() { echo "$me: FAIL: $*" >&2; exit 1; }
say() { echo "$me: $*"; }

[ $# -eq 1 ] || { echo "usage: tests/install.sh BUILD_DIR" >&2; exit 64; }
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
examples=${INSTALL_EXAMPLES_DIR:-$root/examples}
prefix=/usr/local

shopt -s nullglob
sources=("$examples"/*.c)
[ ${#sources[@]} -gt 0 ] \
    || fail "no .c file in $examples: nothing to build against the install"
programs=("$root"/bin/*.c)
manpages=("$root"/docs/man/*.1)
shopt -u nullglob

for tool in pkg-config readelf ldd make; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done
cc=${CC:-cc}
version=$(sed -n 's/^VERSION *:= *//p' "$root/Makefile")
[ -n "$version" ] || fail "no VERSION in the Makefile"

tmp=$(mktemp -d /tmp/zraft-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

# A make of our own: not the jobserver of the make that runs the suite.
unset MAKEFLAGS MFLAGS MAKELEVEL
install_into() {        # DESTDIR [VAR=VALUE...]
    local destdir=$1; shift
    make -C "$root" -s --no-print-directory B="$build" DESTDIR="$destdir" \
        "$@" install >"$tmp/make.out" 2>&1 \
        || { cat "$tmp/make.out" >&2; fail "make install DESTDIR=$destdir $*"; }
}

# ------------------------------------------------------------ 1. install
install_into "$dest"
lib=$dest$prefix/lib
[ -f "$lib/libzraft.a" ] || fail "no $prefix/lib/libzraft.a"
real=libzraft.so.$version
if [ ! -f "$lib/$real" ] || [ -L "$lib/$real" ]; then
    fail "no file $prefix/lib/$real"
fi
[ "$(readlink "$lib/libzraft.so.0")" = "$real" ] \
    || fail "$prefix/lib/libzraft.so.0 is not a link to $real"
[ "$(readlink "$lib/libzraft.so")" = libzraft.so.0 ] \
    || fail "$prefix/lib/libzraft.so is not a link to libzraft.so.0"
soname=$(readelf -d "$lib/$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libzraft.so.0 ] || fail "$real has soname '$soname', not libzraft.so.0"
cmp -s "$root/include/zraft.h" "$dest$prefix/include/zraft.h" \
    || fail "$prefix/include/zraft.h is not include/zraft.h"
pc=$lib/pkgconfig/libzraft.pc
[ -f "$pc" ] || fail "no $prefix/lib/pkgconfig/libzraft.pc"
grep -qx "prefix=$prefix" "$pc" || fail "libzraft.pc: prefix is not $prefix"
for p in "${programs[@]}"; do
    name=$(basename "$p" .c)
    [ -x "$dest$prefix/bin/$name" ] || fail "no program $prefix/bin/$name"
done
for m in "${manpages[@]}"; do
    cmp -s "$m" "$dest$prefix/share/man/man1/$(basename "$m")" \
        || fail "no man page $prefix/share/man/man1/$(basename "$m")"
done
say "installed: libzraft.a, $real (soname $soname), libzraft.so.0," \
    "libzraft.so, zraft.h, libzraft.pc, ${#programs[@]} programs," \
    "${#manpages[@]} man pages"

other=$tmp/other
install_into "$other" PREFIX=/opt/zraft LIBDIR=/opt/zraft/lib64
[ -f "$other/opt/zraft/lib64/$real" ] || fail "PREFIX=/opt/zraft LIBDIR=/opt/zraft/lib64: no lib64/$real"
opc=$other/opt/zraft/lib64/pkgconfig/libzraft.pc
grep -qx 'prefix=/opt/zraft' "$opc" \
    || fail "PREFIX=/opt/zraft: libzraft.pc does not name it"
# shellcheck disable=SC2016
grep -qx 'libdir=${prefix}/lib64' "$opc" \
    || fail "LIBDIR=/opt/zraft/lib64: libzraft.pc does not name it"
say "PREFIX=/opt/zraft LIBDIR=/opt/zraft/lib64: installed there, named in libzraft.pc"

# ------------------------------------------------ 2. examples, pkg-config
export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
pkg-config --exists libzraft || fail "pkg-config does not find libzraft"
[ "$(pkg-config --modversion libzraft)" = "$version" ] \
    || fail "pkg-config --modversion libzraft is not $version"
pkg-config --print-requires libzraft | grep -qx libczmq \
    || fail "libzraft.pc: Requires lacks libczmq (the API hands out zsock_t)"
cflags=$(pkg-config --cflags libzraft)
libs=$(pkg-config --libs libzraft)
case " $cflags $libs " in
    *"$root"*) fail "pkg-config names the source tree: $cflags $libs" ;;
esac
case " $cflags " in
    *" -I$dest$prefix/include "*) ;;
    *) fail "pkg-config --cflags libzraft lacks -I$dest$prefix/include: $cflags" ;;
esac
for src in "${sources[@]}"; do
    name=$(basename "$src" .c)
    out=$tmp/examples/$name
    mkdir -p "$tmp/examples"
    # Built outside the tree, so no header is found beside the source.
    cp "$src" "$tmp/examples/$name.c"
    # shellcheck disable=SC2086
    $cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $cflags \
        -MD -MF "$out.d" -o "$out" "$tmp/examples/$name.c" $libs \
        >"$tmp/cc.out" 2>&1 \
        || { cat "$tmp/cc.out" >&2; fail "examples/$name.c does not build against the install"; }
    header=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /\/zraft\.h$/) print $i }' "$out.d")
    [ "$header" = "$dest$prefix/include/zraft.h" ] \
        || fail "examples/$name.c: zraft.h came from '${header:-nowhere}', not the install"
    readelf -d "$out" | grep -q 'NEEDED.*\[libzraft\.so\.0\]' \
        || fail "examples/$name does not need libzraft.so.0"
    resolved=$(LD_LIBRARY_PATH=$lib ldd "$out" | awk '$1 == "libzraft.so.0" {print $3}')
    [ "$resolved" = "$lib/libzraft.so.0" ] \
        || fail "examples/$name: ldd resolves libzraft.so.0 to '${resolved:-nothing}'"
    say "examples/$name.c: built with pkg-config alone, needs libzraft.so.0 ->" \
        "DESTDIR$prefix/lib"
done
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# The build tree's libzraft.pc points at the checkout: the first example
# builds with it too, and needs the same soname.
case $build in /*) tree=$build ;; *) tree=$root/$build ;; esac
PKG_CONFIG_PATH=$tree pkg-config --exists libzraft \
    || fail "no $build/libzraft.pc for the build tree"
name=$(basename "${sources[0]}" .c)
# shellcheck disable=SC2046
$cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
    $(PKG_CONFIG_PATH=$tree pkg-config --cflags libzraft) \
    -o "$tmp/tree-$name" "$tmp/examples/$name.c" \
    $(PKG_CONFIG_PATH=$tree pkg-config --libs libzraft) >"$tmp/cc.out" 2>&1 \
    || { cat "$tmp/cc.out" >&2; fail "examples/$name.c does not build with $build/libzraft.pc"; }
readelf -d "$tmp/tree-$name" | grep -q 'NEEDED.*\[libzraft\.so\.0\]' \
    || fail "examples/$name, built from the tree, does not need libzraft.so.0"
say "examples/$name.c: built with $build/libzraft.pc (the build tree) too"

# ----------------------------------------------------------- 3. uninstall
make -C "$root" -s --no-print-directory B="$build" DESTDIR="$dest" uninstall \
    >"$tmp/make.out" 2>&1 || { cat "$tmp/make.out" >&2; fail "make uninstall"; }
left=$(find "$dest" \( -type f -o -type l \) | sed "s|^$dest||")
[ -z "$left" ] || fail "make uninstall left: $left"
say "uninstalled: no file left"
say "ok"
