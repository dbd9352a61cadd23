#!/bin/sh
# One virtual environment per peer tool, beside the benchmark output, never in the
# project's venv: each peer brings its own pins (pandas, matplotlib, opencv, ...).
# torch comes from constraints.txt, as everywhere: the CPU build.
#
#     bench/peers/setup.sh bench/out/peers
set -eu
root=$1
mkdir -p "$root"
for peer in clustimage imagededup imagehash; do
    venv="$root/venv-$peer"
    if [ ! -f "$venv/.installed" ]; then
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --upgrade "pip>=24"
        "$venv/bin/python" -m pip install --quiet -c constraints.txt "$peer"
        touch "$venv/.installed"
    fi
done
