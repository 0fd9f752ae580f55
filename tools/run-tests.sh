#!/usr/bin/env bash
# Install what the tests need on a Debian or Ubuntu machine and run every
# tier: style, unit, Nova's functional harness on the real Docker engine
# and (a part of it) on Podman, editable nova, the DevStack plugin's bats
# tests, shellcheck, bashate and the documentation's build.
# Docker, Podman, Open vSwitch and LXCFS run for the functional tests.
#
# usage: tools/run-tests.sh [TOX_ENV ...]     (as root; it uses sudo if not)
#
# The last line sums up every tier: "N passed, N failed".

set -o nounset
set -o pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS=${NOVADOCKER_RESULTS:-$REPO_DIR/.tox/results}
TIERS=("$@")
if [[ ${#TIERS[@]} -eq 0 ]]; then
    TIERS=(pep8 unit functional functional-podman editable bats shellcheck
        bashate docs)
fi
# Root installs the packages, and the networking tests plug veths and OVS
# ports through privsep as nova-compute does.
if [[ $EUID -ne 0 ]]; then
    exec sudo --preserve-env=TOX_CONSTRAINTS_FILE,NOVADOCKER_RESULTS \
        "$0" "$@"
fi

# shellcheck source=tools/lib/host
source "$REPO_DIR/tools/lib/host"

# What the tiers use besides the engine: bats, the linters' and the test
# images' tools, Open vSwitch for the networking tests, lxcfs for the
# guests' view of their flavor, a C compiler and static libc for the
# system calls the guests' safety tests make, loop devices' and file
# systems' tools for the volume tests.
SYSTEM_PACKAGES=(
    bats shellcheck busybox-static git python3-venv python3-pip xz-utils
    iproute2 openvswitch-switch iptables lxcfs gcc libc6-dev
    util-linux e2fsprogs xfsprogs btrfs-progs zstd catatonit
)

# tox in a venv of its own: a distribution's python3 is externally managed.
TOX_VENV=$REPO_DIR/.tox/.tox-bootstrap
function install_tox {
    if [[ ! -x "$TOX_VENV/bin/tox" ]]; then
        python3 -m venv "$TOX_VENV" &&
            "$TOX_VENV/bin/pip" install -q --disable-pip-version-check \
                'tox>=4.6'
    fi
}

# OpenStack pins its Python dependencies with upper-constraints; use the
# copy in the shared files (NOVADOCKER_SHARED, by default ../shared beside
# the repository) where there is one (no network to opendev).
function pick_constraints {
    local shared=${NOVADOCKER_SHARED:-$REPO_DIR/../shared}/upper-constraints.txt
    if [[ -z "${TOX_CONSTRAINTS_FILE:-}" && -f "$shared" ]]; then
        TOX_CONSTRAINTS_FILE=$(cd "$(dirname "$shared")" && pwd)/$(basename "$shared")
        export TOX_CONSTRAINTS_FILE
    fi
    echo "=== constraints: ${TOX_CONSTRAINTS_FILE:-the URL in tox.ini (no $shared)}"
}

function run_tiers {
    local tier
    rm -rf "$RESULTS"
    mkdir -p "$RESULTS"
    export NOVADOCKER_RESULTS=$RESULTS
    for tier in "${TIERS[@]}"; do
        echo "=== tox -e $tier"
        if (cd "$REPO_DIR" && "$TOX_VENV/bin/tox" -e "$tier"); then
            echo passed > "$RESULTS/$tier.status"
        else
            echo failed > "$RESULTS/$tier.status"
        fi
    done
}

nd_host_install_packages "${SYSTEM_PACKAGES[@]}" || exit 1
nd_host_install_docker || exit 1
nd_host_start_docker || exit 1
nd_host_start_ovs || exit 1
nd_host_start_lxcfs || exit 1
if [[ " ${TIERS[*]} " == *" functional-podman "* ]]; then
    nd_host_start_podman || exit 1
fi
# Here the networking, LXCFS and volume tests must run, not skip.
export NOVADOCKER_REQUIRE_OVS=1 NOVADOCKER_REQUIRE_LXCFS=1 \
    NOVADOCKER_REQUIRE_VOLUMES=1
install_tox || exit 1
pick_constraints
run_tiers
python3 "$REPO_DIR/tools/summarize-results.py" "$RESULTS" "${TIERS[@]}"
