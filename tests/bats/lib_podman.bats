#!/usr/bin/env bats
#
# tools/lib/podman through both front ends (helpers/front_ends): the
# package and the drop-in that opens podman.socket to one group; and
# tools/lib/docker's choice of engine, its socket and unit.

load helpers/fake_devstack
load helpers/front_ends

check_install() {
    local dropin=$NOVA_DOCKER_SYSTEMD_DIR/podman.socket.d/nova-docker.conf
    [ "$(nd_podman_dropin)" = "$dropin" ]
    nd_podman_install docker THE_SETTING
    nd_calls '^(apt-get|dnf) .*install .*podman$' | grep -q .
    # root's and the group's, nobody else's
    grep -qxF '[Socket]' "$dropin"
    grep -qxF 'SocketUser=root' "$dropin"
    grep -qxF 'SocketGroup=docker' "$dropin"
    grep -qxF 'SocketMode=0660' "$dropin"
    grep -q 'THE_SETTING' "$dropin"
    [ "$(stat -c %a "$dropin")" = 644 ]
    nd_calls '^systemctl daemon-reload$' | grep -q .
    # the same group: nothing changes, the socket needs no restart
    : > "$ND_CALLS"
    run nd_podman_install docker THE_SETTING
    [ "$status" -eq 1 ]
    [ -z "$(nd_calls '^(apt-get|dnf|systemctl|install) ')" ]
    # another: written anew
    nd_podman_install nova THE_SETTING
    grep -qxF 'SocketGroup=nova' "$dropin"
}

@test "install: the package and the drop-in, written again only when the group changes" {
    nd_each_front check_install
}

@test "engine: Docker where the distribution packages it, Podman on RHEL and its rebuilds" {
    source "$ND_REPO/tools/lib/podman"
    source "$ND_REPO/tools/lib/docker"
    local distro
    for distro in noble bookworm trixie f42 debian ubuntu fedora; do
        [ "$(nd_docker_default_engine "$distro")" = docker ]
    done
    for distro in rhel9 rhel10 centos rocky almalinux ol "Red Hat"; do
        [ "$(nd_docker_default_engine "$distro")" = podman ]
    done
    [ "$(nd_docker_default_url docker)" = unix:///var/run/docker.sock ]
    [ "$(nd_docker_default_url podman)" = unix:///run/podman/podman.sock ]
    [ "$(nd_docker_service docker)" = docker ]
    [ "$(nd_docker_service podman)" = podman.socket ]
}

check_cli() {
    ND_DOCKER_ENGINE=podman ND_DOCKER_URL=unix:///run/podman/podman.sock
    nd_docker_cli ps -q
    nd_calls '^podman --url unix:///run/podman/podman.sock ps -q$' | grep -q .
    ND_DOCKER_ENGINE=docker ND_DOCKER_URL=unix:///var/run/docker.sock
    nd_docker_cli ps -q
    nd_calls '^docker --host unix:///var/run/docker.sock ps -q$' | grep -q .
    run nd_docker_check_engine lxd THE_SETTING
    [ "$status" -ne 0 ]
    [[ "$output" == *"THE_SETTING must be 'docker' or 'podman', not 'lxd'"* ]]
}

@test "the CLI of the engine chosen, through the API nova uses; a wrong engine is a clear error" {
    nd_each_front check_cli
}
