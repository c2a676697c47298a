#!/bin/sh
# Builds verigate_<version>_<arch>.deb with dpkg-deb from a tree staged by `make install
# DESTDIR=<root> PREFIX=/usr` (`make deb` calls this; README "Install and run as a service").
# Depends: the packages holding the shared libraries the binary names (its ELF NEEDED entries),
# found with dpkg -S, as dpkg-shlibdeps would, without version floors.
# Usage: build-deb.sh ROOT BINARY VERSION ARCH OUTDIR COMPRESSION
# A library no package holds (the Swift runtime of a build without --static-swift-stdlib) stops
# the build, unless DEB_ALLOW_UNPACKAGED=1 (a package for this machine only, as the tests build).
set -eu
root=$1 binary=$2 version=$3 arch=$4 outdir=$5 compression=$6
here=$(dirname "$0")

depends=""
unpackaged=""
for lib in $(objdump -p "$binary" | awk '$1 == "NEEDED" { print $2 }'); do
    case $lib in ld-linux*) continue ;; esac # the dynamic loader: libc6, like libc.so.6
    # `libc6:amd64: /usr/lib/…/libc.so.6` (or `a:amd64, b:amd64: …` when two packages hold it): the first.
    package=$(dpkg -S "*/$lib" 2>/dev/null | sed -n "s/^\([^ ,:]*\):$arch[:,] .*/\1/p" | head -n 1)
    if [ -z "$package" ]; then
        unpackaged="$unpackaged $lib"
    else
        case ", $depends, " in *", $package, "*) ;; *) depends="${depends:+$depends, }$package" ;; esac
    fi
done
if [ -n "$unpackaged" ]; then
    if [ "${DEB_ALLOW_UNPACKAGED:-0}" = 1 ]; then
        echo "build-deb: no Debian package holds:$unpackaged (kept: DEB_ALLOW_UNPACKAGED=1, this package runs only where they are)" >&2
    else
        echo "build-deb: no Debian package holds:$unpackaged; build verigate with 'make release' (--static-swift-stdlib), or set DEB_ALLOW_UNPACKAGED=1 for a package for this machine only" >&2
        exit 1
    fi
fi

install -d -m 0755 "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: verigate
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-Verigate maintainers <verigate@localhost>}
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends
Section: net
Priority: optional
Description: self-hosted phone-number verification server
 Verigate proves that a person holds a phone number: SMS codes, voice calls
 that read a code, call-in codes by caller ID, missed-call verification and
 codes keyed on the phone's keypad, behind one REST API, with its own SIP/RTP
 voice gateway. Runs as the systemd service verigate.service.
CONTROL
echo /etc/default/verigate > "$root/DEBIAN/conffiles"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
    install -m 0755 "$here/$script" "$root/DEBIAN/$script"
done
mkdir -p "$outdir"
deb="$outdir/verigate_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"$compression" --build "$root" "$deb" >/dev/null
echo "$deb"
