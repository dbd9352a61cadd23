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
grep -q "pretrained model: exports of the weights hashed .*, inside the bundle" "$log"  # shipped in place of the weights
grep -q "OpenVINO (.*) · without torch" "$log"  # the bundle leaves torch out, and runs its shipped exports
grep -q "networks exported by this run: none" "$log"
grep -q "a stoppable step in a child process" "$log"  # the fork server starts inside the bundle
grep -q "^self-test: PASS" "$log"
# The command-line face of the same bundle.
env -i HOME="$root/home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$root/opt/pattern-organizer/organizer-cli" --version
# The optional native libraries are imported lazily, so only using them proves the freeze kept them:
# skimage (ssim, mse), cv2 (sift), scipy's linprog (emd), pystackreg (align).
cli() { env -i HOME="$root/home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$root/opt/pattern-organizer/organizer-cli" "$@"; }
cli samples --per-family 2 --colourways 2 "$root/samples"
set -- $(LC_ALL=C ls "$root/samples" | head -n 2)  # two variants of one family and colourway; the names are fixed
for index in ssim cwssim mse sift emd; do
    cli compare "$root/samples/$1" "$root/samples/$2" --index "$index" --json >"$root/compare.json"
    grep -q "\"index\": \"$index\"" "$root/compare.json"
    echo "compare --index $index: ok"
done
mkdir "$root/align-set"
cp "$root/samples/${1%%__*}"__* "$root/align-set/"  # the first family's four images
cli align "$root/align-set" --out "$root/mean.png" --model rigid --json >/dev/null
test -s "$root/mean.png"
echo "align --model rigid: ok"
echo "package test passed: $deb"
