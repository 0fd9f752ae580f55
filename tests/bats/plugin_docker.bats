#!/usr/bin/env bats
#
# stack pre-install: the Docker engine (packages, catatonit, the docker
# group, the service) and the wait for it.
# Against the harness (or the real DevStack functions when DEVSTACK_DIR is
# set); helpers/plugin has what the plugin's bats files share.

load helpers/fake_devstack
load helpers/plugin

setup() {
    nd_setup
}

# --- pre-install -----------------------------------------------------------

@test "pre-install: dies clearly without VIRT_DRIVER=docker" {
    VIRT_DRIVER=libvirt
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"VIRT_DRIVER=docker"*"local.conf"* ]]
    [ -z "$(nd_calls '^(apt-get|dnf) ')" ]
}

@test "pre-install: Debian/Ubuntu distro package, group, service, wait" {
    nd_distro ubuntu
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*install docker.io$' | grep -q .
    # the init the driver runs in containers
    nd_calls '^apt-get .*install catatonit$' | grep -q .
    grep -qxF "package catatonit" "$NOVA_DOCKER_STATE_DIR/installed"
    [ -z "$(nd_calls '^dnf ')" ]
    nd_calls '^usermod -a -G docker stack$' | grep -q .
    nd_calls '^systemctl enable docker$' | grep -q .
    nd_calls '^systemctl start docker$' | grep -q .
    nd_calls '^docker --host unix:///var/run/docker.sock version$' | grep -q .
    grep -qxF "package docker.io" "$NOVA_DOCKER_STATE_DIR/installed"
    grep -qxF "member stack:docker" "$NOVA_DOCKER_STATE_DIR/installed"
}

@test "pre-install: Fedora distro package is moby-engine" {
    nd_distro fedora
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^dnf install -y moby-engine$' | grep -q .
    nd_calls '^dnf install -y catatonit$' | grep -q .
    [ -z "$(nd_calls '^apt-get ')" ]
}

@test "pre-install: docker-ce on Ubuntu adds Docker's apt repository" {
    nd_distro ubuntu
    DOCKER_PACKAGE_SOURCE=docker-ce
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^curl .*https://download.docker.com/linux/ubuntu/gpg$' | grep -q .
    grep -q "^deb \[arch=amd64 signed-by=$NOVA_DOCKER_APT_DIR/keyrings/docker.asc\] https://download.docker.com/linux/ubuntu noble stable$" \
        "$NOVA_DOCKER_APT_DIR/sources.list.d/docker.list"
    nd_calls '^apt-get .*install docker-ce docker-ce-cli containerd.io$' | grep -q .
}

@test "pre-install: unknown DOCKER_PACKAGE_SOURCE dies" {
    DOCKER_PACKAGE_SOURCE=snap
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"package source must be 'distro' or 'docker-ce', not 'snap'"* ]]
}

@test "pre-install: an installed Docker engine is used as it is" {
    ln -s "$ND_BIN/service" "$ND_BIN/dockerd"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^(apt-get|dnf) .*(docker|moby)')" ]
    run ! grep -q "^package docker" "$NOVA_DOCKER_STATE_DIR/installed"
}

@test "pre-install: what was there before is not recorded as installed" {
    nd_installed docker.io
    nd_installed catatonit
    nd_installed lxcfs
    echo docker > "$ND_STATE/member-stack"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^usermod')" ]
    # only the plugin's own drop-in for lxcfs.service
    [ "$(cat "$NOVA_DOCKER_STATE_DIR/installed")" = \
        "file $NOVA_DOCKER_SYSTEMD_DIR/lxcfs.service.d/nova-docker.conf" ]
}

@test "pre-install: creates the docker group when no package did" {
    : > "$ND_STATE/groups"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^groupadd --system docker$' | grep -q .
    grep -qxF "group docker" "$NOVA_DOCKER_STATE_DIR/installed"
}

@test "pre-install: never opens the Docker socket to everyone" {
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls 'docker\.sock' | grep -vE ' (version|info .*)$')" ]
    [ -z "$(nd_calls '^(chmod|chown|setfacl)')" ]
    run grep -nE 'chmod|chown|setfacl' "$ND_REPO/devstack/lib/nova_docker"
    [[ "$output" != *docker.sock* ]]
    [[ "$output" != *666* && "$output" != *777* && "$output" != *o+* ]]
}

@test "pre-install: twice gives the same files" {
    run_stack pre-install
    nd_snapshot "$BATS_TEST_TMPDIR/one"
    cp "$NOVA_DOCKER_STATE_DIR/installed" "$BATS_TEST_TMPDIR/one/state"
    run_stack pre-install
    nd_snapshot "$BATS_TEST_TMPDIR/two"
    cmp "$BATS_TEST_TMPDIR/one/state" "$NOVA_DOCKER_STATE_DIR/installed"
    diff -r "$BATS_TEST_TMPDIR/one/files" "$BATS_TEST_TMPDIR/two/files"
}

# --- nova_docker_wait_for_engine ------------------------------------------

@test "nova_docker_wait_for_engine: dies when the engine is down" {
    nd_docker down
    NOVA_DOCKER_WAIT_TIMEOUT=1
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"Docker engine at unix:///var/run/docker.sock did not answer within 1s (NOVA_DOCKER_WAIT_TIMEOUT)"* ]]
}

@test "nova_docker_wait_for_engine: returns once the engine answers" {
    source "$ND_REPO/devstack/lib/nova_docker"
    nd_docker down
    (sleep 2; nd_docker up) &
    NOVA_DOCKER_WAIT_TIMEOUT=20
    run nova_docker_wait_for_engine
    wait
    [ "$status" -eq 0 ]
    [ "$(nd_calls ' version$' | wc -l)" -ge 2 ]
}
