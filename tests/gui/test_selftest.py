"""`organizer --self-test`, the check the installers run on a bundle, works from the source tree too."""

import os
import subprocess
import sys


def test_self_test_scans_searches_and_passes(tmp_path):
    # The real user dirs under a fake home, to check the self-test leaves nothing in them.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ORGANIZER_", "XDG_"))}
    env.update(HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-m", "organizer", "--self-test"], capture_output=True, text=True,
                            timeout=600, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "self-test: PASS"
    assert any("pretrained model: weights" in line and "efficientnet-lite1" in line for line in lines)
    assert any(line.startswith("self-test: scanned 54 images") for line in lines)
    assert "self-test: a stoppable step in a child process: 6**7 = 279936" in lines
    # It cleans up after itself: no leftover cache in the user's real dirs.
    assert any(f"user cache dir: {tmp_path}" in line for line in lines)
    assert not (tmp_path / ".cache" / "pattern-organizer").exists()
