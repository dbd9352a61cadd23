"""The build's one step that pyproject.toml cannot say: copy the top-level resources/ into the package.

setuptools packages only files inside a package's folder, and the resources live at the
repository's root (where the design puts them, beside packaging/), so a wheel would lack the icon.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads resources/ in place (organizer.resources.SOURCE_FOLDER)
        target = Path(self.build_lib, "organizer", "resources")
        for source in sorted(Path(__file__).resolve().parent.joinpath("resources").iterdir()):
            if source.is_file():
                self.copy_file(str(source), str(target / source.name))


setup(cmdclass={"build_py": BuildWithResources})
