#!/bin/sh
# Prove the .deb works on its own: unpack it into a temporary root and run the frozen app's
# self-test with a bare environment (no venv, no project, no PYTHONPATH on the way).
#
#     packaging/linux/test_package.sh build/pattern-organizer_VERSION_amd64.deb
set -eu
deb=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
test -x "$root/opt/pattern-organizer/organizer"
test -f "$root/usr/share/applications/pattern-organizer.desktop"
test -f "$root/usr/share/icons/hicolor/512x512/apps/pattern-organizer.png"
mkdir "$root/home"
log="$root/self-test.log"
env -i HOME="$root/home" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
    "$root/opt/pattern-organizer/organizer" --self-test 2>&1 | tee "$log"
grep -q "inside the bundle" "$log"
grep -q "^self-test: PASS" "$log"
# The command-line face of the same bundle.
env -i HOME="$root/home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$root/opt/pattern-organizer/organizer-cli" --version
echo "package test passed: $deb"
