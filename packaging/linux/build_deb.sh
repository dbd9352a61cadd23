#!/bin/sh
# Package the PyInstaller bundle as a .deb: the app in /opt/pattern-organizer, an
# `organizer` command, a desktop entry that opens folders, and the icon.
#
#     packaging/linux/build_deb.sh build/dist/pattern-organizer build/pattern-organizer_VERSION_amd64.deb VERSION
set -eu
bundle=$1
out=$2
version=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
         "$root/usr/share/icons/hicolor/512x512/apps"
cp -a "$bundle" "$root/opt/pattern-organizer"
ln -s /opt/pattern-organizer/organizer "$root/usr/bin/organizer"
ln -s /opt/pattern-organizer/organizer-cli "$root/usr/bin/organizer-cli"
cp "$here/../../resources/pattern-organizer.desktop" "$root/usr/share/applications/"
cp "$here/../../resources/icon.png" "$root/usr/share/icons/hicolor/512x512/apps/pattern-organizer.png"
size_kb=$(du -sk "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: pattern-organizer
Version: $version
Section: graphics
Priority: optional
Architecture: amd64
Installed-Size: $size_kb
Depends: libc6 (>= 2.28), libgl1, libegl1, libfontconfig1, libxkbcommon0, libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-shape0
Maintainer: Pattern Organizer <maintainers@pattern-organizer.invalid>
Description: Sort libraries of pattern images by visual similarity
 Drop a folder of pattern images (friendship-bracelet charts, textiles, tiles,
 wallpapers) on the window: every image is embedded with a pretrained CNN, shown on a
 zoomable similarity map and in clusters, and exported as a sorted copy.
 The default model is bundled; no internet connection is needed.
CONTROL
# zstd: the bundle compresses in seconds, where xz takes minutes. Level 12 makes the .deb 9 % smaller
# than the default level 3 in 14 s on 2 cores; level 19 saves 9 % more but takes 140 s.
dpkg-deb -Zzstd -z12 --root-owner-group --build "$root" "$out"
