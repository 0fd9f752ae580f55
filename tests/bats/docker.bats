#!/usr/bin/env bats
#
# The plugin against the real Docker engine: the cirros image built from the
# real release rootfs, and the driver's containers stopped and removed.
# Only ``openstack`` (and sudo) are fakes. Skips without Docker or the rootfs.

load helpers/fake_devstack

setup() {
    nd_require_docker
    nd_setup
    # the real docker CLI, not the recorder
    rm "$ND_BIN/docker"
    CIRROS_VERSION=0.5.3
    CIRROS_ARCH=x86_64
    ND_ID=nd-bats-$$-$BATS_TEST_NUMBER-$RANDOM
    NOVA_DOCKER_CIRROS_IMAGE=nova-docker-bats/cirros:$ND_ID
}

teardown() {
    if [[ -n "${ND_ID:-}" ]]; then
        # also what a failed docker run left behind
        docker ps -aq --filter "label=nd-bats=$ND_ID" | xargs -r docker rm -f > /dev/null 2>&1 || true
        # the image and the second one the extra phase makes of it
        docker rmi -f "$NOVA_DOCKER_CIRROS_IMAGE" \
            "$NOVA_DOCKER_CIRROS_IMAGE-alt" > /dev/null 2>&1 || true
    fi
}

# only_our_containers: the plugin lists containers by the driver's label;
# a docker wrapper narrows "ps" to this test's containers, so that no other
# container on this machine is ever touched
only_our_containers() {
    local real
    real=$(command -v docker)
    cat > "$ND_BIN/docker" <<EOF
#!/bin/bash
echo "docker \$*" >> "\$ND_CALLS"
args=()
for arg in "\$@"; do
    args+=("\$arg")
    [[ "\$arg" == ps ]] && args+=(--filter "label=nd-bats=$ND_ID")
done
exec "$real" "\${args[@]}"
EOF
    chmod 0755 "$ND_BIN/docker"
}

# start_container <label args...>: a running container of the cirros image
start_container() {
    docker run -d --network none --label "nd-bats=$ND_ID" "$@" "$NOVA_DOCKER_CIRROS_IMAGE" /bin/sleep 600
}

@test "extra: cirros from the release rootfs, without a registry, into Glance" {
    nd_require_cirros_rootfs
    cp "$ROOTFS" "$FILES/"
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    # the cached rootfs was used, nothing downloaded
    [ -z "$(nd_calls '^curl')" ]
    nd_calls '^openstack .* image create cirros --container-format docker --disk-format raw --public --property os_admin_user=cirros$' | grep -q .

    # what Glance got is a docker save tarball of the image...
    local upload=$ND_STATE/upload-cirros
    [ -s "$upload" ]
    tar -tf "$upload" | grep -qx manifest.json
    docker rmi "$NOVA_DOCKER_CIRROS_IMAGE" > /dev/null
    run docker load -i "$upload"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Loaded image: $NOVA_DOCKER_CIRROS_IMAGE"* ]]

    # ...that starts /sbin/init and is cirros
    [ "$(docker image inspect -f '{{json .Config.Cmd}}' "$NOVA_DOCKER_CIRROS_IMAGE")" = '["/sbin/init"]' ]
    run docker run --rm --network none "$NOVA_DOCKER_CIRROS_IMAGE" cat /etc/cirros/version
    [ "$status" -eq 0 ]
    [ "$output" = 0.5.3 ]
}

@test "extra: a second run finds the image in Glance and builds nothing" {
    nd_require_cirros_rootfs
    cp "$ROOTFS" "$FILES/"
    nd_phase stack extra
    docker rmi "$NOVA_DOCKER_CIRROS_IMAGE" > /dev/null
    : > "$ND_CALLS"
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^docker')" ]
    run ! docker image inspect "$NOVA_DOCKER_CIRROS_IMAGE"
}

@test "unstack and clean remove only this host's driver's containers" {
    nd_require_cirros_rootfs
    docker import --change 'CMD ["/sbin/init"]' "$ROOTFS" "$NOVA_DOCKER_CIRROS_IMAGE" > /dev/null
    only_our_containers
    local ours other another_host
    ours=$(start_container --label org.openstack.nova.instance_uuid=6b2b4e4e-0000-4000-8000-000000000001 \
        --label "org.openstack.nova.host=$(uname -n)")
    other=$(start_container)
    # another nova-compute's, on the same engine
    another_host=$(start_container --label org.openstack.nova.instance_uuid=6b2b4e4e-0000-4000-8000-000000000002 \
        --label org.openstack.nova.host=another-compute)

    run nd_phase unstack
    [ "$status" -eq 0 ]
    run ! docker inspect "$ours"
    [ "$(docker inspect -f '{{.State.Running}}' "$other")" = true ]
    [ "$(docker inspect -f '{{.State.Running}}' "$another_host")" = true ]
    docker image inspect "$NOVA_DOCKER_CIRROS_IMAGE" > /dev/null

    run nd_phase clean
    [ "$status" -eq 0 ]
    [ "$(docker inspect -f '{{.State.Running}}' "$other")" = true ]
    # the image it built stays while another container uses it...
    docker image inspect "$NOVA_DOCKER_CIRROS_IMAGE" > /dev/null
    # ...and goes with the next clean
    docker rm -f "$other" "$another_host" > /dev/null
    run nd_phase clean
    [ "$status" -eq 0 ]
    run ! docker image inspect "$NOVA_DOCKER_CIRROS_IMAGE"
}

@test "nova_docker_wait_for_engine: the real engine answers" {
    source "$ND_REPO/devstack/lib/nova_docker"
    run nova_docker_wait_for_engine
    [ "$status" -eq 0 ]
}

@test "engine options: the quota probe asks the real engine, and leaves nothing" {
    source "$ND_REPO/devstack/lib/nova_docker"
    local storage
    storage=$(docker info --format '{{.Driver}} {{range .DriverStatus}}{{if eq (index . 0) "Backing Filesystem"}}{{index . 1}}{{end}}{{end}}')
    if [[ "$storage" != "overlay2 extfs" ]]; then
        skip "the engine's storage is '$storage'; this test knows the answer for overlay2 on extfs"
    fi
    run nd_engine_check_quota
    [ "$status" -ne 0 ]
    # the engine's own refusal, as it gave it
    [[ "$output" == *"The Docker engine cannot limit a container's root disk: Error response from daemon: --storage-opt is supported only for overlay over xfs with 'pquota' mount option"* ]]
    [ -z "$(docker images -q 'nova-docker/quota-probe')" ]
    run ! grep -q quota-probe < <(docker ps -a --format '{{.Image}}')
}

@test "extra: with the serial console, the engine takes the image with a login on its console" {
    nd_require_cirros_rootfs
    cp "$ROOTFS" "$FILES/"
    ENABLED_SERVICES+=,n-sproxy
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    run docker run --rm --network none "$NOVA_DOCKER_CIRROS_IMAGE" cat /etc/inittab
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "::respawn:/bin/login" ]
    [[ "$output" == *"#::ctrlaltdel:/sbin/reboot"* ]]
    [[ "$output" == *"::sysinit:/etc/init.d/rc.sysinit"* ]]
}
