# `make run` and `make test` work on a fresh machine: they create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLES ?=

.PHONY: run test install samples bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet "pip>=24"
	# torch first, alone and pinned, so nothing can pull a CUDA build in its place.
	$(BIN)/python -m pip install --quiet -c constraints.txt torch
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Until the desktop window lands, the main job is a scan of the sample folder followed by
# a find-similar query on one of its images.
run: $(STAMP)
	@folder=$$($(BIN)/organizer samples $(SAMPLES)) && \
	$(BIN)/organizer scan "$$folder" && \
	query=$$(ls "$$folder" | grep '^normal-chevron__c00' | head -n 1) && \
	echo "Images most like $$query:" && \
	$(BIN)/organizer similar "$$folder" "$$folder/$$query" -k 8

test: $(STAMP)
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/embed.py
	$(BIN)/python bench/quality.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
