#!/usr/bin/env bash
# Install nova from its source release as an editable checkout, the way
# DevStack's setup_develop does, and this driver editable beside it.
#
# usage: install-editable-nova.sh VENV_DIR
# Honours NOVA_VERSION (default 34.0.0) and TOX_CONSTRAINTS_FILE.

set -o errexit
set -o nounset
set -o pipefail

VENV_DIR=$1
NOVA_VERSION=${NOVA_VERSION:-34.0.0}
SRC_DIR=$VENV_DIR/src
NOVA_DIR=$SRC_DIR/nova-$NOVA_VERSION
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PIP=("$VENV_DIR/bin/python" -m pip --disable-pip-version-check -q)

constraints=()
if [[ -n "${TOX_CONSTRAINTS_FILE:-}" ]]; then
    constraints=(-c "$TOX_CONSTRAINTS_FILE")
fi

function fetch_nova_source {
    if [[ -f "$NOVA_DIR/setup.cfg" ]]; then
        return
    fi
    mkdir -p "$SRC_DIR"
    "${PIP[@]}" download --no-deps --no-binary :all: \
        "nova==$NOVA_VERSION" -d "$SRC_DIR"
    tar -xzf "$SRC_DIR/nova-$NOVA_VERSION.tar.gz" -C "$SRC_DIR"
}

function install_editable {
    "${PIP[@]}" install "${constraints[@]}" -e "$NOVA_DIR" \
        openstack-placement pytest
    "${PIP[@]}" install "${constraints[@]}" -e "$REPO_DIR"
}

fetch_nova_source
install_editable
