#!/usr/bin/env bats
#
# NOVA_DOCKER_ENGINE=podman, and the distributions that get Podman by
# default (RHEL and its rebuilds, which ship no Docker): its package, the
# drop-in that opens podman.socket to the docker group, nova-cpu.conf's
# api_url, unstack and clean. Against the harness (or the real DevStack
# functions when DEVSTACK_DIR is set).

load helpers/fake_devstack
load helpers/plugin

PODMAN_DROPIN=etc/systemd/system/podman.socket.d/nova-docker.conf
PODMAN_URL=unix:///run/podman/podman.sock

setup() {
    nd_setup
}

@test "pre-install: RHEL gets Podman, its API socket open to the docker group only" {
    nd_distro rhel
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^dnf install -y podman$' | grep -q .
    nd_calls '^dnf install -y catatonit$' | grep -q .
    [ -z "$(nd_calls '^dnf .*(moby-engine|docker)')" ]
    grep -qxF 'SocketGroup=docker' "$ND_ROOT/$PODMAN_DROPIN"
    grep -qxF 'SocketMode=0660' "$ND_ROOT/$PODMAN_DROPIN"
    grep -qxF 'SocketUser=root' "$ND_ROOT/$PODMAN_DROPIN"
    nd_calls '^usermod -a -G docker stack$' | grep -q .
    nd_calls '^systemctl enable podman.socket$' | grep -q .
    # the drop-in is new: the socket takes it
    nd_calls '^systemctl restart podman.socket$' | grep -q .
    [ -z "$(nd_calls '^systemctl .* docker$')" ]
    # waited for through the API nova-compute uses
    nd_calls "^podman --url $PODMAN_URL version$" | grep -q .
    grep -qxF "package podman" "$NOVA_DOCKER_STATE_DIR/installed"
    grep -qxF "file $ND_ROOT/$PODMAN_DROPIN" "$NOVA_DOCKER_STATE_DIR/installed"
}

@test "pre-install: a second stack leaves the socket's drop-in, starts the socket" {
    nd_distro rhel
    run_stack pre-install
    : > "$ND_CALLS"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^systemctl restart podman.socket$')" ]
    nd_calls '^systemctl start podman.socket$' | grep -q .
}

@test "pre-install: Fedora, Debian and Ubuntu keep Docker" {
    for distro in fedora debian ubuntu; do
        nd_distro "$distro"
        : > "$ND_CALLS"
        run nd_phase stack pre-install
        [ "$status" -eq 0 ]
        [ -z "$(nd_calls 'install -y( -qq)? podman$')" ]
        nd_calls '^systemctl start docker$' | grep -q .
    done
    [ ! -e "$ND_ROOT/$PODMAN_DROPIN" ]
}

@test "NOVA_DOCKER_ENGINE=podman on Ubuntu: Podman, and nova-cpu.conf points at its socket" {
    nd_distro ubuntu
    NOVA_DOCKER_ENGINE=podman
    run run_stack pre-install install post-config
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*install podman$' | grep -q .
    [ -z "$(nd_calls 'install docker.io$')" ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [ "$(iniget "$conf" docker api_url)" = "$PODMAN_URL" ]
        [ "$(iniget "$conf" docker engine)" = podman ]
    done
}

@test "engine settings: a wrong engine, or Docker's options with Podman, each a clear error, nothing installed" {
    NOVA_DOCKER_ENGINE=lxd
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_ENGINE must be 'docker' or 'podman', not 'lxd'"* ]]
    NOVA_DOCKER_ENGINE=podman DOCKER_PACKAGE_SOURCE=docker-ce
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_ENGINE=podman installs the distribution's podman; DOCKER_PACKAGE_SOURCE=docker-ce is Docker's"* ]]
    DOCKER_PACKAGE_SOURCE=distro NOVA_DOCKER_XFS_DATA_ROOT=True
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_XFS_DATA_ROOT is the Docker engine's (its daemon.json)"* ]]
    NOVA_DOCKER_XFS_DATA_ROOT=False NOVA_DOCKER_USERNS_REMAP=default
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_USERNS_REMAP default is the Docker engine's"*"(per-guest gives each guest a user namespace of its own)"* ]]
    [ -z "$(nd_calls '^(apt-get|dnf) ')" ]
    [ ! -e "$ND_ROOT/$PODMAN_DROPIN" ]
}

@test "pre-install: Podman whose API does not answer: a clear error naming its socket unit" {
    nd_distro rhel
    nd_docker down
    NOVA_DOCKER_WAIT_TIMEOUT=1
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"The Podman engine at $PODMAN_URL did not answer within 1s (NOVA_DOCKER_WAIT_TIMEOUT); see 'systemctl status podman.socket' and 'journalctl -u podman'"* ]]
}

@test "extra: the cirros images are built and uploaded with Podman's CLI" {
    nd_distro rhel
    put_rootfs_in_files
    run run_stack pre-install extra
    [ "$status" -eq 0 ]
    nd_calls "^podman --url $PODMAN_URL import --change CMD \[\"/sbin/init\"\] .* nova-docker/cirros:$CIRROS_VERSION$" | grep -q .
    [ "$(cat "$ND_STATE/upload-cirros")" = "docker save of nova-docker/cirros:$CIRROS_VERSION" ]
    [ -z "$(nd_calls '^docker ')" ]
}

@test "unstack and clean with Podman: its containers go, then what the plugin installed" {
    nd_distro rhel
    put_rootfs_in_files
    run_stack $ALL_PHASES
    printf 'c1\n' > "$ND_STATE/docker-ps"
    run nd_phase unstack
    [ "$status" -eq 0 ]
    nd_calls "^podman --url $PODMAN_URL ps -q -a --filter label=org.openstack.nova.host=$(uname -n)$" | grep -q .
    nd_calls "^podman --url $PODMAN_URL rm -f c1$" | grep -q .
    run nd_phase clean
    [ "$status" -eq 0 ]
    nd_calls '^systemctl stop podman.socket$' | grep -q .
    nd_calls '^systemctl stop podman$' | grep -q .
    nd_calls '^dnf remove -y podman catatonit lxcfs zstd$' | grep -q .
    [ ! -e "$ND_ROOT/$PODMAN_DROPIN" ]
    [ ! -d "$(dirname "$ND_ROOT/$PODMAN_DROPIN")" ]
    nd_calls '^systemctl daemon-reload$' | grep -q .
}

# --- per-guest user namespaces ----------------------------------------------

CONTAINERS_LINE=containers:2147483647:2147483648

@test "per-guest: the containers range in subuid and subgid, per_guest_userns in nova's configuration" {
    nd_distro rhel
    NOVA_DOCKER_USERNS_REMAP=per-guest
    mkdir -p "${ND_ENGINE_SUBUID%/*}"
    echo "stack:100000:65536" > "$ND_ENGINE_SUBUID"
    echo "stack:100000:65536" > "$ND_ENGINE_SUBGID"
    run run_stack pre-install install post-config
    [ "$status" -eq 0 ]
    [ "$(cat "$ND_ENGINE_SUBUID")" = "$(printf 'stack:100000:65536\n%s' "$CONTAINERS_LINE")" ]
    [ "$(cat "$ND_ENGINE_SUBGID")" = "$(printf 'stack:100000:65536\n%s' "$CONTAINERS_LINE")" ]
    # recorded as lines added, not as files: clean.sh keeps the files
    grep -qxF "line $ND_ENGINE_SUBUID $CONTAINERS_LINE" "$NOVA_DOCKER_STATE_DIR/installed"
    grep -qxF "line $ND_ENGINE_SUBGID $CONTAINERS_LINE" "$NOVA_DOCKER_STATE_DIR/installed"
    run ! grep -qxF "file $ND_ENGINE_SUBUID" "$NOVA_DOCKER_STATE_DIR/installed"
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [ "$(iniget "$conf" docker per_guest_userns)" = True ]
        [ "$(iniget "$conf" docker engine)" = podman ]
    done
    # a second stack: nothing more added
    : > "$ND_CALLS"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: $ND_ENGINE_SUBUID gives containers 65536 ids or more"* ]]
    [ "$(grep -c '^containers:' "$ND_ENGINE_SUBUID")" -eq 1 ]
    [ "$(grep -c '^containers:' "$ND_ENGINE_SUBGID")" -eq 1 ]
}

@test "Podman without per-guest: no per_guest_userns, the subordinate ids left alone" {
    nd_distro rhel
    local value
    for value in auto off; do
        NOVA_DOCKER_USERNS_REMAP=$value
        run run_stack pre-install install post-config
        [ "$status" -eq 0 ]
        [ -z "$(iniget "$NOVA_CONF" docker per_guest_userns)" ]
        [ -z "$(iniget "$NOVA_CPU_CONF" docker per_guest_userns)" ]
        [ ! -e "$ND_ENGINE_SUBUID" ] && [ ! -e "$ND_ENGINE_SUBGID" ]
    done
}

@test "per-guest: clean takes back the lines it added, and only them" {
    nd_distro rhel
    NOVA_DOCKER_USERNS_REMAP=per-guest
    mkdir -p "${ND_ENGINE_SUBUID%/*}"
    echo "stack:100000:65536" > "$ND_ENGINE_SUBUID"
    chmod 0640 "$ND_ENGINE_SUBUID"
    local inode
    inode=$(stat -c %i "$ND_ENGINE_SUBUID")
    # no subgid yet: the plugin makes it
    run_stack pre-install
    [ "$(cat "$ND_ENGINE_SUBGID")" = "$CONTAINERS_LINE" ]
    grep -qxF "file $ND_ENGINE_SUBGID" "$NOVA_DOCKER_STATE_DIR/installed"
    # what the host adds meanwhile stays
    echo "nova:165536:65536" >> "$ND_ENGINE_SUBUID"
    run nd_phase clean
    [ "$status" -eq 0 ]
    [ "$(cat "$ND_ENGINE_SUBUID")" = "$(printf 'stack:100000:65536\nnova:165536:65536')" ]
    [ "$(stat -c '%i %a' "$ND_ENGINE_SUBUID")" = "$inode 640" ]
    [ ! -e "$ND_ENGINE_SUBGID" ]
}

@test "RHEL with DOCKER_PACKAGE_SOURCE=docker-ce keeps Docker, from Docker's repository" {
    nd_distro rhel
    DOCKER_PACKAGE_SOURCE=docker-ce
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^dnf install -y docker-ce docker-ce-cli containerd.io$' | grep -q .
    [ -z "$(nd_calls 'podman')" ]
}
