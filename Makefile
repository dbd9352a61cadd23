# `make run` and `make test` work on a fresh machine: they create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLES ?=
# The Linux bundle and its .deb (make package); named here because make bench measures them too.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
BUNDLE := build/dist/pattern-organizer
DEB := build/pattern-organizer_$(VERSION)_amd64.deb

.PHONY: run test install samples bench bench-installer bench-rescan bench-peers clean package package-test

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet "pip>=24"
	# torch first, alone and pinned, so nothing can pull a CUDA build in its place.
	$(BIN)/python -m pip install --quiet -c constraints.txt torch
	# The distributed extra too, so the Dask engine's test runs: about 4 MB of wheels, 35 MB installed.
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,distributed]"
	touch $(STAMP)

install: $(STAMP)

# Opens the app on the built-in sample folder (rendered into the user data dir on first use).
run: $(STAMP)
	$(BIN)/organizer "$$($(BIN)/organizer samples $(SAMPLES))"

test: $(STAMP)
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# Each script prints its figures and writes them between its markers in docs/benchmarks.md
# (bench/report.py; BENCH_DOC=PATH writes into another file, BENCH_NO_DOC=1 into none).
# bench/first_results.py needs no X server: its window runs on Qt's offscreen platform (bench/gui.py child_env).
bench: $(STAMP)
	$(BIN)/python bench/embed.py
	$(BIN)/python bench/runtimes.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/sorting.py
	$(BIN)/python bench/analysis.py --parts map
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/gui.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/first_results.py
	# 100,000 images end to end, about 9 minutes on 2 quiet cores; the folder is rendered once.
	$(BIN)/python bench/scale.py
	# Last, and allowed to fail: it builds the installer, which needs PyInstaller's install and dpkg-deb.
	-$(MAKE) bench-installer

# The installer's sizes beside issue 19's goals (it builds the package first).
bench-installer: $(DEB)
	$(BIN)/python bench/installer.py --bundle $(BUNDLE) --deb $(DEB)

# The unchanged rescan of bench/scale.py's folder alone (after one `make bench` or bench/scale.py):
# a new process a round, with AGAINST=path/to/other/src alternating against another tree's engine.
bench-rescan: $(STAMP)
	$(BIN)/python bench/scale.py --rescan-only $(if $(AGAINST),--against $(AGAINST))

# Our engine against clustimage, imagededup and imagehash, each in its own venv (bench/peers/).
bench-peers: $(STAMP)
	bench/peers/setup.sh bench/out/peers
	$(BIN)/python bench/peers/run.py

# The Linux bundle (PyInstaller, one folder) and its .deb; see packaging/ and the README.
PACKAGING_STAMP := $(VENV)/.packaging

$(PACKAGING_STAMP): $(STAMP) constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt pyinstaller
	touch $@

# The default model's exported taps: the bundle runs them on OpenVINO without torch, which it leaves out.
EXPORTS := build/models
$(EXPORTS)/.exported: $(STAMP) packaging/export_models.py $(wildcard src/organizer/embedding/*.py)
	rm -rf $(EXPORTS)
	$(BIN)/python packaging/export_models.py $(EXPORTS)
	touch $@

$(BUNDLE)/organizer: $(PACKAGING_STAMP) $(EXPORTS)/.exported packaging/organizer.spec packaging/launcher.py packaging/strip_bundle.py $(shell find src -name '*.py') $(wildcard resources/*)
	$(BIN)/pyinstaller --noconfirm --clean --log-level ERROR --distpath build/dist --workpath build/pyinstaller packaging/organizer.spec
	$(BIN)/python packaging/strip_bundle.py $(BUNDLE)
	touch $@

$(DEB): $(BUNDLE)/organizer $(wildcard packaging/linux/*) $(wildcard resources/*)
	packaging/linux/build_deb.sh $(BUNDLE) $@ $(VERSION)

package: $(DEB)
	@du -sh $(BUNDLE) $(DEB)

package-test: $(DEB)
	packaging/linux/test_package.sh $(DEB)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
