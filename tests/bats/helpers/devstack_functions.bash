#!/bin/bash
#
# Stand-ins for the DevStack functions the plugin uses, for runs without a
# DevStack checkout (DEVSTACK_DIR). They behave like DevStack's: die ends
# the (sub)shell, install_package goes through sudo to apt-get or dnf,
# iniset adds a missing option right under its section's header.

# os_VENDOR and os_PACKAGE come from GetOSVersion (here: nd_distro).
# shellcheck disable=SC2154

function die {
    local line=$1
    shift
    echo "[ERROR] ${BASH_SOURCE[1]}:$line $*" >&2
    exit 1
}

function warn {
    echo "WARNING: $*" >&2
}

function echo_summary {
    echo "$@"
}

function is_service_enabled {
    local service
    for service in "$@"; do
        if [[ ,${ENABLED_SERVICES}, == *,${service},* ]]; then
            return 0
        fi
    done
    return 1
}

function GetOSVersion {
    nd_distro ubuntu
}

function is_ubuntu {
    [[ "$os_PACKAGE" == "deb" ]]
}

function is_fedora {
    [[ "$os_VENDOR" =~ ^(Fedora|Red\ Hat|CentOS|CentOSStream|RockyLinux|AlmaLinux)$ ]]
}

function install_package {
    if is_ubuntu; then
        sudo apt-get --assume-yes install "$@"
    else
        sudo dnf install -y "$@"
    fi
}

function uninstall_package {
    if is_ubuntu; then
        sudo apt-get --assume-yes purge "$@"
    else
        sudo dnf remove -y "$@"
    fi
}

function is_package_installed {
    if is_ubuntu; then
        dpkg -s "$@" > /dev/null 2>&1
    else
        rpm --quiet -q "$@"
    fi
}

function add_user_to_group {
    sudo usermod -a -G "$2" "$1"
}

function start_service {
    sudo /bin/systemctl start "$1"
}

function restart_service {
    sudo /bin/systemctl restart "$1"
}

function stop_service {
    sudo /bin/systemctl stop "$1"
}

function pip_install {
    "$DEVSTACK_VENV/bin/pip" install -c "$REQUIREMENTS_DIR/upper-constraints.txt" "$@"
}

function pip_uninstall {
    sudo python3 -m pip uninstall -y "$1"
}

# take the package out of upper-constraints, then install it editable
# with the constraints; like DevStack's, it takes the name from setup.cfg
# first (a failure there ends the run under errexit)
function setup_develop {
    local name
    name=$(awk '/^name.*=/ { print $3 }' "$1/setup.cfg")
    if [[ -z "$name" ]]; then
        name=$(awk -F'"' '/^name *=/ { print $2; exit }' "$1/pyproject.toml")
    fi
    "$REQUIREMENTS_DIR/.venv/bin/edit-constraints" \
        "$REQUIREMENTS_DIR/upper-constraints.txt" -- "$name"
    pip_install -e "$(cd "$1" && pwd)"
}

function iniget {
    if [[ -f $1 ]]; then
        awk -v s="[$2]" -v o="$3" '
            /^\[/ { insec = ($0 == s); next }
            insec && $0 ~ "^" o "[ \t]*=" { sub(/^[^=]*=[ \t]*/, ""); print }
        ' "$1"
    fi
}

function ini_has_option {
    [[ -f $1 ]] && awk -v s="[$2]" -v o="$3" '
        /^\[/ { insec = ($0 == s); next }
        insec && $0 ~ "^" o "[ \t]*=" { found = 1 }
        END { exit !found }
    ' "$1"
}

function iniset {
    local file=$1 section=$2 option=$3 mode=add tmp
    if ! grep -qxF "[$section]" "$file" 2>/dev/null; then
        printf '\n[%s]\n' "$section" >> "$file"
    fi
    if ini_has_option "$file" "$section" "$option"; then
        mode=replace
    fi
    tmp=$(mktemp)
    ND_VALUE=$4 awk -v s="[$section]" -v o="$option" -v mode="$mode" '
        /^\[/ {
            insec = ($0 == s); print
            if (insec && mode == "add") { print o " = " ENVIRON["ND_VALUE"]; mode = "done" }
            next
        }
        insec && mode == "replace" && $0 ~ "^" o "[ \t]*=" { print o " = " ENVIRON["ND_VALUE"]; next }
        { print }
    ' "$file" > "$tmp"
    cat "$tmp" > "$file"
    rm -f "$tmp"
}

function define_plugin {
    :
}
