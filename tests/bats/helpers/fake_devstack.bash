#!/bin/bash
#
# Test harness for the nova-docker DevStack plugin and tools.
#
# Gives a test DevStack's functions, every config file and directory under
# BATS_TEST_TMPDIR, and recorders (fake_command.bash) in place of the
# commands that would change the machine: sudo, package managers,
# systemctl (which mounts LXCFS), user and group tools, curl, docker,
# openstack, pip. Each
# recorder appends "name args" to $ND_CALLS.
#
# With DEVSTACK_DIR pointing at a DevStack checkout, its real ``functions``
# and ``stackrc`` are sourced and only the commands are recorded; without
# it, devstack_functions.bash stands in for DevStack's functions.

# This file sets DevStack's globals for the code under test to read.
# shellcheck disable=SC2034

bats_require_minimum_version 1.5.0

ND_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
ND_SHARED=${NOVADOCKER_SHARED:-$ND_REPO/../shared}

# nd_real_devstack: is DEVSTACK_DIR a DevStack checkout?
function nd_real_devstack {
    [[ -n "${DEVSTACK_DIR:-}" && -f $DEVSTACK_DIR/stackrc && -f $DEVSTACK_DIR/functions ]]
}

# nd_require_real_devstack: skip the test without a DevStack checkout
function nd_require_real_devstack {
    if ! nd_real_devstack; then
        skip "needs DEVSTACK_DIR pointing at a DevStack checkout"
    fi
}

# nd_require_cirros_rootfs: ROOTFS, the real cirros 0.5.3 rootfs, or skip
# the test (not in a command substitution: skip must run in the test's shell)
function nd_require_cirros_rootfs {
    ROOTFS=$ND_SHARED/cirros/cirros-0.5.3-x86_64-lxc.tar.xz
    if [[ ! -f $ROOTFS ]]; then
        skip "no cirros rootfs at $ROOTFS (set NOVADOCKER_SHARED)"
    fi
}

# nd_require_docker: skip the test without a Docker engine we may use
function nd_require_docker {
    if ! command -v docker > /dev/null || ! docker version > /dev/null 2>&1; then
        skip "needs a running Docker engine and the docker CLI"
    fi
}

# the commands fake_command.bash stands in for
ND_FAKES="sudo systemctl service apt-get dnf dpkg rpm usermod gpasswd groupadd groupdel getent id curl docker podman openstack pip edit-constraints mount"

# the commands run for real although they may live beside dockerd
ND_REAL_TOOLS="mkfs.xfs mkfs.ext4 blkid xfs_db losetup mountpoint umount"

# _nd_path_without <command>: PATH without the directories holding it
function _nd_path_without {
    local dir path=""
    local IFS=:
    for dir in $PATH; do
        if [[ ! -x $dir/$1 ]]; then
            path+=${path:+:}$dir
        fi
    done
    echo "$path"
}

# nd_distro ubuntu|debian|fedora|rhel: what DevStack's GetOSVersion says
function nd_distro {
    case "$1" in
        ubuntu) os_VENDOR=Ubuntu os_PACKAGE=deb os_CODENAME=noble DISTRO=noble ;;
        debian) os_VENDOR=Debian os_PACKAGE=deb os_CODENAME=bookworm DISTRO=bookworm ;;
        fedora) os_VENDOR=Fedora os_PACKAGE=rpm os_CODENAME=n/a DISTRO=f42 ;;
        rhel) os_VENDOR="Red Hat" os_PACKAGE=rpm os_CODENAME=n/a DISTRO=rhel9 ;;
    esac
    os_RELEASE=n/a
}

# nd_docker up|down|hang: how the fake Docker engine behaves
function nd_docker {
    echo "$1" > "$ND_STATE/docker"
}

# nd_installed <package>: a package that was there before stack.sh
function nd_installed {
    echo "$1" >> "$ND_STATE/packages"
}

# nd_calls <pattern>: the recorded calls matching an extended regexp
function nd_calls {
    grep -E "$1" "$ND_CALLS" || true
}

# nd_phase <mode> [phase]: run the plugin as stack.sh does, in a new bash
# with errexit (bats' ``run`` and ``||`` would switch errexit off in a
# subshell), given this shell's variables and functions; with ND_NOUNSET
# set, also with nounset (stack.sh's NOUNSET=1)
function nd_phase {
    local env=$BATS_TEST_TMPDIR/phase-env name
    {
        for name in $(compgen -v); do
            if [[ ! $name =~ ^(BASH.*|SHELLOPTS|EUID|UID|PPID|GROUPS|FUNCNAME|SECONDS|RANDOM|SRANDOM|LINENO|HISTCMD|EPOCH.*|COMP_.*|DIRSTACK|PIPESTATUS|_)$ ]]; then
                declare -p "$name"
            fi
        done
        declare -f
    } > "$env" 2> /dev/null
    bash -c 'source "$1"; shift; set -o errexit; [[ -z "${ND_NOUNSET:-}" ]] || set -o nounset
        source "$ND_REPO/devstack/plugin.sh" "$@"' \
        nd_phase "$env" "$@"
}

# nd_snapshot <dir>: the configuration files the phases write
function nd_snapshot {
    local out=$1
    mkdir -p "$out"
    (cd "$ND_ROOT" && find etc -type f -print0 | sort -z | xargs -0 -r cat) > "$out/files"
    (cd "$ND_ROOT" && find etc -type f -printf '%p %m %u\n' | sort) > "$out/modes"
}


# nd_setup: the whole harness; call it from a test file's setup()
function nd_setup {
    ND_ROOT=$BATS_TEST_TMPDIR/root
    ND_BIN=$BATS_TEST_TMPDIR/bin
    ND_STATE=$BATS_TEST_TMPDIR/state
    ND_CALLS=$BATS_TEST_TMPDIR/calls
    # the engine's configuration file, which the fake engine reads
    ND_DAEMON_JSON=$ND_ROOT/etc/docker/daemon.json
    export ND_BIN ND_STATE ND_CALLS ND_DAEMON_JSON
    mkdir -p "$ND_ROOT" "$ND_BIN" "$ND_STATE/downloads"
    : > "$ND_CALLS"
    local fake
    for fake in $ND_FAKES; do
        ln -s "$ND_REPO/tests/bats/helpers/fake_command.bash" "$ND_BIN/$fake"
    done
    # the file system tools run for real on the tests' own files; they
    # live beside dockerd, in a directory left out of PATH below
    local tool real
    for tool in $ND_REAL_TOOLS; do
        if real=$(command -v "$tool"); then
            ln -s "$real" "$ND_BIN/$tool"
        fi
    done
    # no Docker engine installed, as far as the code under test can see
    PATH=$ND_BIN:$(_nd_path_without dockerd)
    echo docker > "$ND_STATE/groups"
    printf '%s\n' stack nova > "$ND_STATE/users"
    nd_docker up

    # what local.conf's localrc section holds (see prepare_devstack.sh)
    VIRT_DRIVER=docker
    DEFAULT_IMAGE_NAME=cirros
    if nd_real_devstack; then
        TOP_DIR=$DEVSTACK_DIR
        set +o errexit
        # shellcheck source=/dev/null
        source "$DEVSTACK_DIR/functions"
        # shellcheck source=/dev/null
        source "$DEVSTACK_DIR/stackrc"
        set -o errexit
    else
        # shellcheck source=tests/bats/helpers/devstack_functions.bash
        source "$ND_REPO/tests/bats/helpers/devstack_functions.bash"
        DOCKER_GROUP=docker
        CIRROS_VERSION=0.6.3
        CIRROS_ARCH=x86_64
        GLOBAL_VENV=True
    fi
    nd_distro ubuntu
    OFFLINE=False

    STACK_USER=stack
    REGION_NAME=RegionOne
    ENABLED_SERVICES=key,n-api,n-cpu,n-cond,n-sch,placement-api,g-api,mysql,rabbit,tempest
    DEST=$ND_ROOT/opt/stack
    DATA_DIR=$DEST/data
    FILES=$ND_ROOT/devstack/files
    NOVA_CONF_DIR=$ND_ROOT/etc/nova
    NOVA_CONF=$NOVA_CONF_DIR/nova.conf
    NOVA_CPU_CONF=$NOVA_CONF_DIR/nova-cpu.conf
    GLANCE_CONF_DIR=$ND_ROOT/etc/glance
    GLANCE_API_CONF=$GLANCE_CONF_DIR/glance-api.conf
    TEMPEST_CONFIG=$ND_ROOT/etc/tempest/tempest.conf
    GLANCE_USE_IMPORT_WORKFLOW=False
    REQUIREMENTS_DIR=$DEST/requirements
    DEVSTACK_VENV=$DATA_DIR/venv
    mkdir -p "$FILES" "$NOVA_CONF_DIR" "$GLANCE_CONF_DIR" "${TEMPEST_CONFIG%/*}" \
        "$ND_ROOT/etc/apt/sources.list.d" "$ND_ROOT/etc/yum.repos.d" \
        "$REQUIREMENTS_DIR/.venv/bin" "$DEVSTACK_VENV/bin"
    touch "$REQUIREMENTS_DIR/upper-constraints.txt"
    ln -s "$ND_BIN/edit-constraints" "$REQUIREMENTS_DIR/.venv/bin/edit-constraints"
    ln -s "$ND_BIN/pip" "$DEVSTACK_VENV/bin/pip"

    # the plugin's own defaults, as DevStack's settings phase gives them
    unset "${!NOVA_DOCKER_@}" DOCKER_PACKAGE_SOURCE TEMPEST_RUN_VALIDATION
    # shellcheck source=devstack/settings
    source "$ND_REPO/devstack/settings"
    NOVA_DOCKER_DIR=$ND_REPO
    # a broken fake fails a test fast
    NOVA_DOCKER_WAIT_TIMEOUT=5
    NOVA_DOCKER_APT_DIR=$ND_ROOT/etc/apt
    NOVA_DOCKER_YUM_REPOS_DIR=$ND_ROOT/etc/yum.repos.d
    NOVA_DOCKER_SYSTEMD_DIR=$ND_ROOT/etc/systemd/system
    NOVA_DOCKER_DAEMON_JSON=$ND_DAEMON_JSON
    NOVA_DOCKER_FSTAB=$ND_ROOT/etc/fstab
    # the users that own subordinate ids
    ND_ENGINE_SUBUID=$ND_ROOT/etc/subuid
    ND_ENGINE_SUBGID=$ND_ROOT/etc/subgid
    # the machine's mount table: the root file system, and LXCFS once
    # lxcfs.service runs
    NOVA_DOCKER_MOUNTINFO=$ND_STATE/mountinfo
    echo "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw" > "$NOVA_DOCKER_MOUNTINFO"
}
