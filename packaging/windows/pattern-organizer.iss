; Inno Setup script for the Windows installer (not runnable on the Linux build machines).
;
; On Windows, from the repository root, after `make`-free equivalents of `make package`:
;   py -3.11 -m venv .venv
;   .venv\Scripts\python -m pip install -c constraints.txt torch
;   .venv\Scripts\python -m pip install -c constraints.txt -e . pyinstaller
;   .venv\Scripts\python packaging\export_models.py build\models
;   .venv\Scripts\pyinstaller --noconfirm --clean --distpath build\dist --workpath build\pyinstaller packaging\organizer.spec
;   build\dist\pattern-organizer\organizer-cli.exe --self-test
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\pattern-organizer.iss
; The installer lands in build\installer\. It installs per user (no admin prompt) unless
; the user chooses all users, adds a Start-menu entry, an optional desktop icon, and an
; "Open with Pattern Organizer" entry on folders in Explorer.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{5E0F3C1A-7A52-4C7E-9F1B-6B3C2A9D8E41}
AppName=Pattern Organizer
AppVersion={#AppVersion}
AppPublisher=Pattern Organizer
DefaultDirName={autopf}\Pattern Organizer
DefaultGroupName=Pattern Organizer
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\build\installer
OutputBaseFilename=PatternOrganizer-{#AppVersion}-setup
SetupIconFile=..\icon.ico
UninstallDisplayIcon={app}\organizer.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "folderverb"; Description: "Add ""Open with Pattern Organizer"" to folders in Explorer"

[Files]
Source: "..\..\build\dist\pattern-organizer\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Pattern Organizer"; Filename: "{app}\organizer.exe"
Name: "{group}\Uninstall Pattern Organizer"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Pattern Organizer"; Filename: "{app}\organizer.exe"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Software\Classes\Directory\shell\PatternOrganizer"; ValueType: string; ValueData: "Open with Pattern Organizer"; Flags: uninsdeletekey; Tasks: folderverb
Root: HKA; Subkey: "Software\Classes\Directory\shell\PatternOrganizer"; ValueName: "Icon"; ValueType: string; ValueData: "{app}\organizer.exe"; Tasks: folderverb
Root: HKA; Subkey: "Software\Classes\Directory\shell\PatternOrganizer\command"; ValueType: string; ValueData: """{app}\organizer.exe"" ""%1"""; Tasks: folderverb

[Run]
Filename: "{app}\organizer.exe"; Description: "{cm:LaunchProgram,Pattern Organizer}"; Flags: nowait postinstall skipifsilent
