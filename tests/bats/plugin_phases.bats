#!/usr/bin/env bats
#
# The plugin across nodes and phases: multi-node, unstack and clean,
# whole stack.sh runs.
# Against the harness (or the real DevStack functions when DEVSTACK_DIR is
# set); helpers/plugin has what the plugin's bats files share.

load helpers/fake_devstack
load helpers/plugin

setup() {
    nd_setup
}

# --- multi-node ------------------------------------------------------------

@test "multi-node: a compute-only subnode gets Docker, the driver and n-cpu only" {
    ENABLED_SERVICES=n-cpu,placement-client,ovn-controller
    put_rootfs_in_files
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*install docker.io$' | grep -q .
    nd_calls '^pip install .*-e' | grep -q .
    [ "$(iniget "$NOVA_CPU_CONF" DEFAULT compute_driver)" = docker.DockerDriver ]
    [ ! -e "$GLANCE_API_CONF" ]
    [ -z "$(nd_calls '^openstack')" ]
    [ -z "$(nd_calls '^docker .* (import|save)')" ]
}

@test "multi-node: a Glance-only controller gets the image, no nova-docker" {
    ENABLED_SERVICES=key,g-api,mysql,rabbit
    VIRT_DRIVER=libvirt
    printf '[image_format]\ncontainer_formats = bare\n' > "$GLANCE_API_CONF"
    put_rootfs_in_files
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^pip')" ]
    [ -z "$(nd_calls '^apt-get .*catatonit')" ]
    [ ! -e "$NOVA_CPU_CONF" ]
    [ ! -e "$NOVA_CONF_DIR/rootwrap.d/docker.filters" ]
    [ "$(iniget "$GLANCE_API_CONF" image_format container_formats)" = bare,docker ]
    [ -e "$ND_STATE/upload-cirros" ]
}

@test "the plugin does nothing where neither n-cpu nor g-api runs" {
    ENABLED_SERVICES=key,mysql,rabbit,tempest
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    run nd_phase unstack
    run nd_phase clean
    [ ! -s "$ND_CALLS" ]
}

# --- unstack and clean -----------------------------------------------------

@test "unstack: removes this host's containers (instances, sandboxes, kept sources), found by its host label, keeps the image" {
    printf 'c1\nc2\n' > "$ND_STATE/docker-ps"
    run nd_phase unstack
    [ "$status" -eq 0 ]
    nd_calls "^docker .* ps -q -a --filter label=org.openstack.nova.host=$(uname -n)$" | grep -q .
    nd_calls '^docker .* rm -f c1 c2$' | grep -q .
    [ -z "$(nd_calls ' rmi ')" ]
}

@test "unstack: the host label is nova's [DEFAULT] host where nova-cpu.conf sets it" {
    printf '[DEFAULT]\nhost = compute-7\n' > "$NOVA_CPU_CONF"
    run nd_phase unstack
    [ "$status" -eq 0 ]
    nd_calls '^docker .* ps -q -a --filter label=org.openstack.nova.host=compute-7$' | grep -q .
}

@test "unstack: no containers, or no engine, is fine" {
    run nd_phase unstack
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls ' rm ')" ]
    nd_docker down
    run nd_phase unstack
    [ "$status" -eq 0 ]
}

@test "clean: removes the containers and takes back what the plugin installed" {
    nd_installed ca-certificates
    put_rootfs_in_files
    run_stack $ALL_PHASES
    printf 'c1\n' > "$ND_STATE/docker-ps"
    run nd_phase clean
    [ "$status" -eq 0 ]
    nd_calls "^docker .* ps -q -a --filter label=org.openstack.nova.host=$(uname -n)$" | grep -q .
    nd_calls '^docker .* rm -f c1$' | grep -q .
    # both cirros images the extra phase built
    nd_calls "^docker .* rmi nova-docker/cirros:$CIRROS_VERSION$" | grep -q .
    nd_calls "^docker .* rmi nova-docker/cirros:$CIRROS_VERSION-alt$" | grep -q .
    # zstd for Tempest's scenario image (test-config)
    nd_calls '^apt-get .*purge docker.io catatonit lxcfs zstd$' | grep -q .
    nd_calls '^systemctl stop lxcfs$' | grep -q .
    nd_calls '^gpasswd -d stack docker$' | grep -q .
    nd_calls '^pip uninstall -y novadocker$' | grep -q .
    [ ! -e "$NOVA_CONF_DIR/rootwrap.d/docker.filters" ]
    [ ! -e "$NOVA_DOCKER_STATE_DIR/installed" ]
    grep -qxF ca-certificates "$ND_STATE/packages"
}

@test "clean: leaves a Docker that was there before" {
    nd_installed docker.io
    nd_installed catatonit
    nd_installed lxcfs
    nd_installed zstd
    echo docker > "$ND_STATE/member-stack"
    put_rootfs_in_files
    run_stack $ALL_PHASES
    run nd_phase clean
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '(purge|remove|gpasswd)')" ]
    [ -z "$(nd_calls '^systemctl stop')" ]
    grep -qxF docker.io "$ND_STATE/packages"
}

@test "clean: LXCFS that was there before: the drop-in goes, the package and its mounts stay" {
    nd_installed lxcfs
    run_stack pre-install
    : > "$ND_CALLS"
    run nd_phase clean
    [ "$status" -eq 0 ]
    [ ! -e "$ND_ROOT/$LXCFS_DROPIN" ]
    [ ! -e "$(dirname "$ND_ROOT/$LXCFS_DROPIN")" ]
    nd_calls '^systemctl daemon-reload$' | grep -q .
    [ -z "$(nd_calls '^systemctl (stop|restart) lxcfs')" ]
    grep -qxF lxcfs "$ND_STATE/packages"
    grep -q fuse.lxcfs "$NOVA_DOCKER_MOUNTINFO"
    # Docker and catatonit, installed by the plugin, went
    nd_calls '^apt-get .*purge docker.io catatonit$' | grep -q .
}

@test "clean: only catatonit and LXCFS installed by the plugin: a Docker that was there keeps running" {
    nd_installed docker.io
    run_stack pre-install
    run nd_phase clean
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*purge catatonit lxcfs$' | grep -q .
    [ -z "$(nd_calls '^systemctl stop docker')" ]
    grep -qxF docker.io "$ND_STATE/packages"
}

@test "clean: removes Docker's repository files it added" {
    DOCKER_PACKAGE_SOURCE=docker-ce
    run_stack pre-install
    [ -e "$NOVA_DOCKER_APT_DIR/sources.list.d/docker.list" ]
    run nd_phase clean
    [ "$status" -eq 0 ]
    [ ! -e "$NOVA_DOCKER_APT_DIR/sources.list.d/docker.list" ]
    [ ! -e "$NOVA_DOCKER_APT_DIR/keyrings/docker.asc" ]
    nd_calls '^apt-get .*purge docker-ce docker-ce-cli containerd.io catatonit lxcfs$' | grep -q .
}

@test "all phases also run under stack.sh's NOUNSET=1" {
    if nd_real_devstack; then
        skip "DevStack's own setup_develop and apt_get are not nounset-clean"
    fi
    put_rootfs_in_files
    export ND_NOUNSET=1
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    run nd_phase unstack
    [ "$status" -eq 0 ]
    run nd_phase clean
    [ "$status" -eq 0 ]
}

@test "stack, unstack, stack again gives the same cloud" {
    put_rootfs_in_files
    run_stack $ALL_PHASES
    nd_snapshot "$BATS_TEST_TMPDIR/one"
    nd_phase unstack
    : > "$ND_STATE/glance"
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    nd_snapshot "$BATS_TEST_TMPDIR/two"
    diff -r "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
}

@test "stack, clean, stack again installs everything again" {
    put_rootfs_in_files
    run_stack $ALL_PHASES
    nd_snapshot "$BATS_TEST_TMPDIR/one"
    nd_phase unstack
    nd_phase clean
    : > "$ND_STATE/glance"
    : > "$ND_CALLS"
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*install docker.io$' | grep -q .
    nd_snapshot "$BATS_TEST_TMPDIR/two"
    diff -r "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
}
