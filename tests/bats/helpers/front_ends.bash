#!/bin/bash
#
# The two front ends of tools/lib, for its own tests: each test of a
# library runs once through the DevStack plugin's hooks and once through
# tools/nova-docker-provision's, in the harness of fake_devstack (load it
# first), so that both front ends are shown to set a host up one way.

ND_FRONT_ENDS="plugin provision"

# nd_front <plugin|provision>: that front end's hooks and tools/lib, in
# this shell (a subshell: the two define the same hooks), with the test's
# root for every file the libraries write
function nd_front {
    case "$1" in
        plugin)
            # shellcheck source=devstack/lib/nova_docker
            source "$ND_REPO/devstack/lib/nova_docker"
            ;;
        provision)
            # shellcheck source=tools/nova-docker-provision
            source "$ND_REPO/tools/nova-docker-provision"
            # its errexit and nounset are main's, not the test's
            set +o nounset
            DISTRO=debian
            WAIT_TIMEOUT=$NOVA_DOCKER_WAIT_TIMEOUT
            ;;
    esac
    # shellcheck disable=SC2034 # the tests' to read
    ND_FRONT=$1
    ND_COMMON_MOUNTINFO=$NOVA_DOCKER_MOUNTINFO
    ND_COMMON_SYSTEMD_DIR=$NOVA_DOCKER_SYSTEMD_DIR
    ND_DOCKER_APT_DIR=$NOVA_DOCKER_APT_DIR
    ND_DOCKER_YUM_REPOS_DIR=$NOVA_DOCKER_YUM_REPOS_DIR
    ND_ENGINE_DAEMON_JSON=$NOVA_DOCKER_DAEMON_JSON
    ND_ENGINE_FSTAB=$NOVA_DOCKER_FSTAB
}

# nd_front_distro <ubuntu|debian|fedora|rhel>: the distribution, for
# either front end
# shellcheck disable=SC2154 # os_PACKAGE: set by nd_distro
function nd_front_distro {
    nd_distro "$1"
    if [[ "$os_PACKAGE" == deb ]]; then
        DISTRO=debian
    else
        DISTRO=fedora
    fi
}

# nd_each_front <check> [args...]: the check through each front end, each
# in a subshell on a fresh fake machine of its own (nd_setup). The
# subshell is a statement of its own, so that errexit stops it at the
# first assertion that fails; the line before it names the front end.
function nd_each_front {
    local front top=$BATS_TEST_TMPDIR
    for front in $ND_FRONT_ENDS; do
        echo "through the $front front end: $*"
        (
            BATS_TEST_TMPDIR=$(mktemp -d "$top/$front.XXXX")
            nd_setup
            nd_front "$front"
            "$@"
        )
    done
}
