#!/usr/bin/env bats
#
# devstack/settings: the plugin's defaults, and local.conf's values over them.
# Against the harness (or the real DevStack functions when DEVSTACK_DIR is
# set); helpers/plugin has what the plugin's bats files share.

load helpers/fake_devstack
load helpers/plugin

setup() {
    nd_setup
}

# --- settings --------------------------------------------------------------

@test "settings: defaults" {
    [ "$NOVA_DOCKER_DIR" = "$ND_REPO" ]
    [ "$DOCKER_PACKAGE_SOURCE" = distro ]
    # the engine and its socket: by the distribution (lib/nova_docker)
    [ -z "$NOVA_DOCKER_ENGINE" ]
    [ -z "$NOVA_DOCKER_API_URL" ]
    [ "$DEFAULT_IMAGE_NAME" = cirros ]
    [ "$NOVA_DOCKER_ALT_IMAGE_NAME" = cirros-alt ]
    # validation is DevStack's to set (lib/tempest's default)
    [ -z "${TEMPEST_RUN_VALIDATION+set}" ]
    [ "$NOVA_DOCKER_STATE_DIR" = "$DATA_DIR/nova-docker" ]
    [ "$NOVA_DOCKER_LXCFS" = True ]
    [ "$NOVA_DOCKER_LXCFS_OPTIONS" = "--enable-cfs --enable-loadavg" ]
    unset NOVA_DOCKER_DIR
    source "$ND_REPO/devstack/settings"
    [ "$NOVA_DOCKER_DIR" = "$DEST/nova-docker" ]
}

@test "settings: local.conf values win" {
    DOCKER_PACKAGE_SOURCE=docker-ce NOVA_DOCKER_API_URL=tcp://127.0.0.1:2375 \
        DEFAULT_IMAGE_NAME=mycirros TEMPEST_RUN_VALIDATION=False
    unset NOVA_DOCKER_ALT_IMAGE_NAME
    source "$ND_REPO/devstack/settings"
    [ "$DOCKER_PACKAGE_SOURCE" = docker-ce ]
    [ "$NOVA_DOCKER_API_URL" = tcp://127.0.0.1:2375 ]
    [ "$DEFAULT_IMAGE_NAME" = mycirros ]
    [ "$NOVA_DOCKER_ALT_IMAGE_NAME" = mycirros-alt ]
    [ "$TEMPEST_RUN_VALIDATION" = False ]
}

@test "settings: do not set VIRT_DRIVER (too late for stackrc)" {
    VIRT_DRIVER=libvirt
    source "$ND_REPO/devstack/settings"
    [ "$VIRT_DRIVER" = libvirt ]
    run grep -E '^[^#]*VIRT_DRIVER=' "$ND_REPO/devstack/settings"
    [ "$status" -eq 1 ]
}
