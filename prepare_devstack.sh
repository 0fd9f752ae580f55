#!/bin/bash
#
# prepare_devstack.sh [DEVSTACK_DIR]
#
# Points a DevStack checkout (default /opt/stack/devstack) at nova-docker:
# writes the enable_plugin line, VIRT_DRIVER=docker and
# DEFAULT_IMAGE_NAME=cirros into local.conf's [[local|localrc]] section, or
# into localrc where the checkout has one (DevStack then ignores that
# section). Every other setting stays; running it again changes nothing.
#
# NOVA_DOCKER_REPO and NOVA_DOCKER_BRANCH choose what enable_plugin clones
# (default: this checkout and its current branch).

set -o errexit
set -o nounset
set -o pipefail

NOVA_DOCKER_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

function usage {
    cat <<EOF
Usage: $0 [DEVSTACK_DIR]

Configure the DevStack checkout in DEVSTACK_DIR (default /opt/stack/devstack)
to deploy nova-docker: adds to local.conf's [[local|localrc]] section (or to
localrc, if the checkout has one)

    enable_plugin nova-docker <repo> <branch>
    VIRT_DRIVER=docker
    DEFAULT_IMAGE_NAME=cirros

Environment: NOVA_DOCKER_REPO (default $NOVA_DOCKER_TOP),
NOVA_DOCKER_BRANCH (default: the checkout's current branch).
EOF
}

function fail {
    echo "prepare_devstack.sh: $*" >&2
    exit 1
}

function plugin_branch {
    local branch
    branch=$(git -C "$NOVA_DOCKER_TOP" rev-parse --abbrev-ref HEAD 2>/dev/null || true)
    if [[ -z "$branch" || "$branch" == "HEAD" ]]; then
        branch=main
    fi
    echo "$branch"
}

# set_lines <file> <in section: 0 = whole file, 1 = [[local|localrc]] only>
# Replaces each managed line where it stands, adds the missing ones at the
# end of the section; everything else is copied as it is.
function set_lines {
    local file=$1 in_section=$2 tmp
    tmp=$(mktemp "$file.XXXXXX")
    awk -v only_section="$in_section" \
        -v plugin="$PLUGIN_LINE" -v driver="VIRT_DRIVER=docker" \
        -v image="DEFAULT_IMAGE_NAME=cirros" '
        function flush_missing() {
            if (!seen["plugin"]) print plugin
            if (!seen["driver"]) print driver
            if (!seen["image"]) print image
            seen["plugin"] = seen["driver"] = seen["image"] = 1
        }
        function managed(line) {
            if (line ~ /^[ \t]*enable_plugin[ \t]+nova-docker([ \t]|$)/) return "plugin"
            if (line ~ /^[ \t]*(export[ \t]+)?VIRT_DRIVER=/) return "driver"
            if (line ~ /^[ \t]*(export[ \t]+)?DEFAULT_IMAGE_NAME=/) return "image"
            return ""
        }
        BEGIN { active = !only_section }
        /^\[\[.*\]\]/ && only_section {
            if (active) { flush_missing(); printf "%s", blanks; blanks = "" }
            active = ($0 ~ /^\[\[[ \t]*local[ \t]*\|[ \t]*localrc[ \t]*\]\]/)
            print
            next
        }
        active && /^[ \t]*$/ { blanks = blanks $0 "\n"; next }
        {
            printf "%s", blanks; blanks = ""
            key = active ? managed($0) : ""
            if (key == "") { print; next }
            if (seen[key]) next
            seen[key] = 1
            if (key == "plugin") print plugin
            else if (key == "driver") print driver
            else print image
        }
        END { if (active) flush_missing(); printf "%s", blanks }
    ' "$file" > "$tmp"
    # keep the file itself (owner, mode) and only its content changes
    cat "$tmp" > "$file"
    rm -f "$tmp"
}

function main {
    local devstack_dir=${1:-/opt/stack/devstack}
    local repo=${NOVA_DOCKER_REPO:-$NOVA_DOCKER_TOP}
    local branch=${NOVA_DOCKER_BRANCH:-$(plugin_branch)}

    case "$devstack_dir" in
        -h|--help) usage; return 0 ;;
        -*) usage >&2; fail "unknown option: $devstack_dir" ;;
    esac
    if [[ ! -f $devstack_dir/stack.sh || ! -f $devstack_dir/stackrc ]]; then
        fail "$devstack_dir is not a DevStack checkout (no stack.sh and stackrc); clone https://opendev.org/openstack/devstack first"
    fi
    PLUGIN_LINE="enable_plugin nova-docker $repo $branch"

    if [[ -f $devstack_dir/localrc ]]; then
        set_lines "$devstack_dir/localrc" 0
        echo "Configured $devstack_dir/localrc for nova-docker"
        return 0
    fi
    local conf=$devstack_dir/local.conf
    if [[ ! -f $conf ]]; then
        cp "$NOVA_DOCKER_TOP/devstack/local.conf.sample" "$conf"
    elif ! grep -Eq '^\[\[[[:space:]]*local[[:space:]]*\|[[:space:]]*localrc[[:space:]]*\]\]' "$conf"; then
        # DevStack reads the section wherever it is; put it first, as usual
        { echo "[[local|localrc]]"; echo; cat "$conf"; } > "$conf.new"
        cat "$conf.new" > "$conf"
        rm -f "$conf.new"
    fi
    set_lines "$conf" 1
    echo "Configured $conf for nova-docker"
}

main "$@"
