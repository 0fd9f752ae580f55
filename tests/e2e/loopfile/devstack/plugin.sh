#!/bin/bash
#
# The e2e gate's Cinder backend stand-in, as a DevStack plugin: volumes are
# sparse files in $CINDER_STATE_PATH/loopfile-volumes, attached through loop
# devices (the gate's kernel has no device-mapper, iSCSI or NFS). Enable it
# with:
#
#   enable_plugin nova-docker-e2e-loopfile <repository> <branch>
#   CINDER_ENABLED_BACKENDS=loopfile:loopfile-1
#
# lib/cinder calls {configure,cleanup}_cinder_backend_loopfile for the
# backends of type loopfile; this file only defines them, and installs the
# driver and its rootwrap filters once configure_cinder has written
# Cinder's own (it replaces rootwrap.d).

function _e2e_loopfile_dir {
    echo "$CINDER_STATE_PATH/loopfile-volumes"
}

# configure_cinder_backend_loopfile <backend name>
function configure_cinder_backend_loopfile {
    local be_name=$1
    iniset "$CINDER_CONF" "$be_name" volume_backend_name "$be_name"
    iniset "$CINDER_CONF" "$be_name" volume_driver e2e_loopfile.driver.LoopFileDriver
    iniset "$CINDER_CONF" "$be_name" loopfile_volumes_dir "$(_e2e_loopfile_dir)"
}

# cleanup_cinder_backend_loopfile <backend name>: the files go, and the
# loop devices they are attached to (a mounted one is freed at its unmount)
function cleanup_cinder_backend_loopfile {
    local f dev
    for f in "$(_e2e_loopfile_dir)"/volume-* "$(_e2e_loopfile_dir)"/snapshot-*; do
        [[ -f $f ]] || continue
        for dev in $(losetup --list --noheadings --output NAME --associated "$f"); do
            sudo losetup --detach "$dev"
        done
        rm -f "$f"
    done
}

# install_e2e_loopfile: cinder-volume's Python imports e2e_loopfile from
# this checkout; its losetup commands go through Cinder's rootwrap
function install_e2e_loopfile {
    local purelib
    purelib=$("$CINDER_BIN_DIR/python3" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') || \
        die $LINENO "No Python for cinder-volume in $CINDER_BIN_DIR"
    echo "$E2E_LOOPFILE_DIR" | sudo tee "$purelib/nova-docker-e2e-loopfile.pth" > /dev/null
    sudo install -o root -g root -m 0644 "$E2E_LOOPFILE_DIR/loopfile.filters" \
        "$CINDER_CONF_DIR/rootwrap.d/nova-docker-e2e-loopfile.filters"
}

if is_service_enabled c-vol && [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    echo_summary "Installing the e2e gate's loop file Cinder backend"
    install_e2e_loopfile
fi
