#!/usr/bin/env bats
#
# stack test-config: Tempest's images and feature flags.
# Against the harness (or the real DevStack functions when DEVSTACK_DIR is
# set); helpers/plugin has what the plugin's bats files share.

load helpers/fake_devstack
load helpers/plugin

setup() {
    nd_setup
}

# --- test-config -----------------------------------------------------------

@test "test-config: Tempest uses the image and skips what containers lack" {
    echo "cirros the-image-id" > "$ND_STATE/glance"
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$TEMPEST_CONFIG" compute image_ref)" = the-image-id ]
    # no second image: the same one
    [ "$(iniget "$TEMPEST_CONFIG" compute image_ref_alt)" = the-image-id ]
    local feature
    for feature in live_migration stable_rescue; do
        [ "$(iniget "$TEMPEST_CONFIG" compute-feature-enabled "$feature")" = False ]
    done
    for feature in console_output interface_attach resize cold_migration \
        shelve rescue; do
        [ "$(iniget "$TEMPEST_CONFIG" compute-feature-enabled "$feature")" = True ]
    done
    # validation is left as DevStack's lib/tempest wrote it
    [ -z "$(iniget "$TEMPEST_CONFIG" validation run_validation)" ]
    # no local image (not the node that built it): scenario left alone
    [ -z "$(iniget "$TEMPEST_CONFIG" scenario img_file)" ]
}

@test "test-config: the guest's view on (config drive, files, password); the serial console left as DevStack set it" {
    echo "cirros the-image-id" > "$ND_STATE/glance"
    iniset "$TEMPEST_CONFIG" compute-feature-enabled serial_console True
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    local feature
    for feature in config_drive personality change_password; do
        [ "$(iniget "$TEMPEST_CONFIG" compute-feature-enabled "$feature")" = True ]
    done
    [ "$(iniget "$TEMPEST_CONFIG" compute-feature-enabled serial_console)" = True ]
}

@test "test-config: the second image is image_ref_alt" {
    printf 'cirros the-image-id\ncirros-alt the-alt-id\n' > "$ND_STATE/glance"
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$TEMPEST_CONFIG" compute image_ref)" = the-image-id ]
    [ "$(iniget "$TEMPEST_CONFIG" compute image_ref_alt)" = the-alt-id ]
}

@test "test-config: scenario tests get the cirros image as a zstd docker archive Tempest does not unpack" {
    echo "cirros the-image-id" > "$ND_STATE/glance"
    echo "nova-docker/cirros:$CIRROS_VERSION" > "$ND_STATE/docker-images"
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    local file=$FILES/nova-docker-cirros-$CIRROS_VERSION.tar.zst
    [ "$(zstd -dc "$file")" = "docker save of nova-docker/cirros:$CIRROS_VERSION" ]
    # Tempest's image_create unpacks what tarfile opens
    run python3 -c 'import sys, tarfile; sys.exit(tarfile.is_tarfile(sys.argv[1]))' "$file"
    [ "$status" -eq 0 ]
    [ "$(iniget "$TEMPEST_CONFIG" scenario img_file)" = "$file" ]
    [ "$(iniget "$TEMPEST_CONFIG" scenario img_container_format)" = docker ]
    [ "$(iniget "$TEMPEST_CONFIG" scenario img_disk_format)" = raw ]
}

@test "test-config: with Cinder, no extend of attached volumes; without, no volume flags" {
    echo "cirros the-image-id" > "$ND_STATE/glance"
    ENABLED_SERVICES+=,c-api,c-sch,c-vol
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$TEMPEST_CONFIG" volume-feature-enabled extend_attached_volume)" = False ]
    [ "$(iniget "$TEMPEST_CONFIG" volume-feature-enabled extend_attached_encrypted_volume)" = False ]
    local feature
    for feature in volume_multiattach swap_volume attach_encrypted_volume; do
        [ "$(iniget "$TEMPEST_CONFIG" compute-feature-enabled "$feature")" = False ]
    done
    rm "$TEMPEST_CONFIG"
    ENABLED_SERVICES=${ENABLED_SERVICES%,c-api,c-sch,c-vol}
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    [ -z "$(iniget "$TEMPEST_CONFIG" volume-feature-enabled extend_attached_volume)" ]
}

@test "test-config: nothing without tempest" {
    ENABLED_SERVICES=key,n-cpu,g-api
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    [ ! -e "$TEMPEST_CONFIG" ]
}
