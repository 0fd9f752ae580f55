#!/usr/bin/env bats
#
# tools/lib/docker through both front ends (helpers/front_ends): the
# engine's packages and Docker's repository, catatonit, waiting for the
# engine, and nova's container labels.

load helpers/fake_devstack
load helpers/front_ends

@test "labels: the driver's own (novadocker/engine.py)" {
    source "$ND_REPO/tools/lib/docker"
    local engine=$ND_REPO/novadocker/engine.py
    grep -qxF "UUID_LABEL = '$ND_DOCKER_UUID_LABEL'" "$engine"
    grep -qxF "HOST_LABEL = '$ND_DOCKER_HOST_LABEL'" "$engine"
}

check_packages() {
    [ "$(nd_docker_packages distro deb)" = docker.io ]
    [ "$(nd_docker_packages distro rpm)" = moby-engine ]
    [ "$(nd_docker_packages docker-ce rpm)" = "docker-ce docker-ce-cli containerd.io" ]
    run nd_docker_packages snap deb
    [ "$status" -ne 0 ]
    [[ "$output" == *"package source must be 'distro' or 'docker-ce', not 'snap'"* ]]
    nd_docker_engine_package docker.io
    nd_docker_engine_package containerd.io
    run ! nd_docker_engine_package catatonit
}

@test "packages: the distribution's or Docker's" {
    nd_each_front check_packages
}

check_repo_names() {
    [ "$(nd_docker_ce_repo_name Ubuntu deb)" = ubuntu ]
    [ "$(nd_docker_ce_repo_name debian deb)" = debian ]
    [ "$(nd_docker_ce_repo_name Fedora rpm)" = fedora ]
    [ "$(nd_docker_ce_repo_name "Red Hat" rpm)" = rhel ]
    [ "$(nd_docker_ce_repo_name rhel rpm)" = rhel ]
    [ "$(nd_docker_ce_repo_name linuxmint deb)" = ubuntu ]
    [ "$(nd_docker_ce_repo_name RockyLinux rpm)" = centos ]
}

@test "Docker's repositories: os-release's ID or DevStack's os_VENDOR, one mapping" {
    nd_each_front check_repo_names
}

check_install_distro() {
    nd_front_distro "$1"
    nd_docker_install distro "$2" "$1" n/a
    nd_calls "^$3 .*install .*$4$" | grep -q .
    nd_docker_install_sandbox
    nd_calls "^$3 .*install .*catatonit$" | grep -q .
    # a second time, nothing more
    : > "$ND_CALLS"
    nd_docker_install distro "$2" "$1" n/a
    nd_docker_install_sandbox
    [ -z "$(nd_calls "^$3 ")" ]
}

@test "install: the distribution's engine and catatonit, once" {
    nd_each_front check_install_distro ubuntu deb apt-get docker.io
    nd_each_front check_install_distro fedora rpm dnf moby-engine
}

check_install_present() {
    nd_installed catatonit
    ln -s "$ND_BIN/service" "$ND_BIN/dockerd"
    run nd_docker_install distro deb Ubuntu noble
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: the Docker engine is installed ($ND_BIN/dockerd)"* ]]
    nd_docker_install_sandbox
    [ -z "$(nd_calls '^(apt-get|dnf) ')" ]
    if [[ $ND_FRONT == plugin ]]; then
        [ ! -e "$NOVA_DOCKER_STATE_DIR/installed" ]
    fi
}

@test "install: an engine and catatonit that are there are left as they are" {
    nd_each_front check_install_present
}

check_ce_apt() {
    local list=$NOVA_DOCKER_APT_DIR/sources.list.d/docker.list
    local key=$NOVA_DOCKER_APT_DIR/keyrings/docker.asc
    nd_docker_install docker-ce deb Debian bookworm
    grep -qxF "deb [arch=amd64 signed-by=$key] https://download.docker.com/linux/debian bookworm stable" "$list"
    grep -q "download.docker.com/linux/debian/gpg" "$key"
    [ "$(stat -c %a "$key")" = 644 ] && [ "$(stat -c %a "$list")" = 644 ]
    nd_calls '^apt-get .*install .*docker-ce docker-ce-cli containerd.io$' | grep -q .
    if [[ $ND_FRONT == plugin ]]; then
        grep -qxF "file $list" "$NOVA_DOCKER_STATE_DIR/installed"
        grep -qxF "file $key" "$NOVA_DOCKER_STATE_DIR/installed"
    else
        nd_calls '^apt-get update$' | grep -q .
    fi
    # once there, kept
    : > "$ND_CALLS"
    run nd_docker_install docker-ce deb Debian bookworm
    [[ "$output" == *"ok: $list"* ]]
    [ -z "$(nd_calls '^curl')" ]
}

@test "docker-ce: Docker's apt repository, key and list, once" {
    nd_each_front check_ce_apt
}

check_ce_dnf() {
    local repo=$NOVA_DOCKER_YUM_REPOS_DIR/docker-ce.repo
    nd_front_distro "$1"
    nd_docker_install docker-ce rpm "$1" n/a
    grep -q "download.docker.com/linux/$2/docker-ce.repo" "$repo"
    nd_calls '^dnf install -y docker-ce docker-ce-cli containerd.io$' | grep -q .
}

@test "docker-ce: Docker's dnf repository, Fedora's or RHEL's" {
    nd_each_front check_ce_dnf fedora fedora
    nd_each_front check_ce_dnf rhel rhel
}

check_wait() {
    nd_docker down
    run nd_docker_wait 1 THE_TIMEOUT
    [ "$status" -ne 0 ]
    [[ "$output" == *"did not answer within 1s (THE_TIMEOUT)"* ]]
    nd_docker up
    nd_docker_wait 5 THE_TIMEOUT
}

@test "wait: until the engine answers, or a clear error" {
    nd_each_front check_wait
}

@test "wait: an engine that hangs does not hang the caller" {
    check_hang() {
        nd_docker hang
        SECONDS=0
        run nd_docker_wait 1 THE_TIMEOUT
        [ "$status" -ne 0 ]
        [ "$SECONDS" -lt 15 ]
    }
    nd_each_front check_hang
}

check_instances() {
    printf 'c1\n' > "$ND_STATE/docker-ps"
    [ "$(nd_docker_containers compute-1 -a)" = c1 ]
    nd_calls '^docker .*ps -q -a --filter label=org.openstack.nova.host=compute-1$' | grep -q .
}

@test "containers: the driver's for this host only (instances, sandboxes)" {
    nd_each_front check_instances
}
