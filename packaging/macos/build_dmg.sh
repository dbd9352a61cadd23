#!/bin/sh
# macOS: the .app bundle and a .dmg (not runnable on the Linux build machines).
#
# On a Mac with Python 3.11, from the repository root:
#   python3.11 -m venv .venv
#   .venv/bin/python -m pip install -c constraints.txt torch              # the macOS wheel (MPS-enabled)
#   .venv/bin/python -m pip install -c constraints.txt -e . pyinstaller
#   packaging/macos/build_dmg.sh 0.1.0
#
# Signing and notarisation need an Apple Developer ID; set these to do both:
#   CODESIGN_IDENTITY="Developer ID Application: Your Name (TEAMID)"
#   NOTARY_PROFILE=<a keychain profile made with `xcrun notarytool store-credentials`>
# Without them the .dmg is unsigned: users must right-click ▸ Open the first time.
set -eu
version=${1:-0.1.0}
cd "$(dirname "$0")/../.."
.venv/bin/python packaging/export_models.py build/models  # the exports the bundle runs without torch
.venv/bin/pyinstaller --noconfirm --clean --distpath build/dist --workpath build/pyinstaller packaging/organizer.spec

app="build/dist/Pattern Organizer.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp -R build/dist/pattern-organizer/. "$app/Contents/MacOS/"
iconset=build/organizer.iconset
mkdir -p "$iconset"
for size in 16 32 128 256 512; do
    sips -z $size $size resources/icon.png --out "$iconset/icon_${size}x${size}.png" >/dev/null
    sips -z $((size * 2)) $((size * 2)) resources/icon.png --out "$iconset/icon_${size}x${size}@2x.png" >/dev/null
done
iconutil -c icns "$iconset" -o "$app/Contents/Resources/organizer.icns"
cat > "$app/Contents/Info.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>CFBundleName</key><string>Pattern Organizer</string>
  <key>CFBundleIdentifier</key><string>org.pattern-organizer.app</string>
  <key>CFBundleVersion</key><string>$version</string>
  <key>CFBundleShortVersionString</key><string>$version</string>
  <key>CFBundleExecutable</key><string>organizer</string>
  <key>CFBundleIconFile</key><string>organizer.icns</string>
  <key>CFBundlePackageType</key><string>APPL</string>
  <key>LSMinimumSystemVersion</key><string>11.0</string>
  <key>NSHighResolutionCapable</key><true/>
  <key>CFBundleDocumentTypes</key><array><dict>
    <key>CFBundleTypeName</key><string>Folder</string>
    <key>CFBundleTypeRole</key><string>Viewer</string>
    <key>LSItemContentTypes</key><array><string>public.folder</string></array>
  </dict></array>
</dict></plist>
PLIST
"$app/Contents/MacOS/organizer" --self-test

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --deep --force --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$app"
fi
dmg="build/PatternOrganizer-$version.dmg"
rm -f "$dmg"
hdiutil create -volname "Pattern Organizer" -srcfolder "$app" -ov -format UDZO "$dmg"
if [ -n "${CODESIGN_IDENTITY:-}" ] && [ -n "${NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$dmg" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$dmg"
fi
echo "$dmg"
