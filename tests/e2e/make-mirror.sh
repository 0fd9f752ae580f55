#!/usr/bin/env bash
# Make a directory usable as the e2e gate's E2E_GIT_BASE: a depth-1 bare
# clone of each repository, laid out as <dir>/openstack/<name>.git, the way
# DevStack's GIT_BASE expects.
#
# usage: tests/e2e/make-mirror.sh DIR SOURCE...
#
# A SOURCE is any URL or path git can clone. Its name is the last path
# component without .git; a trailing /repo and an "owner+name" form are
# understood too (openstack+nova/repo -> openstack/nova.git).

set -o errexit
set -o nounset
set -o pipefail

function mirror_name {
    local src=${1%/}
    src=${src%/repo}
    src=${src##*/}
    src=${src#*+}
    echo "${src%.git}"
}

function mirror_one {
    local dir=$1 src=$2 name dest
    name=$(mirror_name "$src")
    dest=$dir/openstack/$name.git
    if [[ -d $src && $src != *://* ]]; then
        src=file://$(cd "$src" && pwd)
    fi
    rm -rf "$dest.part"
    git clone --quiet --bare --depth 1 "$src" "$dest.part"
    rm -rf "$dest"
    mv "$dest.part" "$dest"
    echo "$dest $(git --git-dir="$dest" rev-parse --short HEAD)"
}

function main {
    if [[ $# -lt 2 ]]; then
        echo "usage: $0 DIR SOURCE..." >&2
        return 2
    fi
    local dir=$1 src
    shift
    mkdir -p "$dir/openstack"
    for src in "$@"; do
        mirror_one "$dir" "$src"
    done
}

main "$@"
