#!/usr/bin/env bash
# shellcheck disable=SC2317 # steps run through e2e_step, e2e_finish by trap
#
# The e2e gate: a real DevStack with this plugin, in a systemd container on
# this machine's Docker engine, driven by the openstack CLI and Tempest.
#
# usage: tests/e2e/run.sh            (or: tox -e e2e)
#
# Settings (environment):
#   E2E_GIT_BASE   where DevStack clones OpenStack from: a URL, or a
#                  directory of bare clones <dir>/openstack/<name>.git
#                  (tests/e2e/make-mirror.sh makes one); https://opendev.org
#   E2E_FILES      files DevStack would download, copied into its $FILES:
#                  the cirros rootfs (cirros-<version>-<arch>-lxc.tar.xz)
#                  and, if bootstrap.pypa.io is reachable, nothing else;
#                  ../shared/cirros beside this checkout
#   E2E_LOGS       where the logs go, whatever happens; .e2e/logs/<time>
#   E2E_RECORD     where the report is copied; tests/e2e/LAST_RUN.md
#   E2E_PROFILE    full: Tempest's whole compute API (tempest.api.compute);
#                  quick: its server tests only (tempest.api.compute.servers);
#                  full
#   E2E_TEMPEST_REGEX   the Tempest tests run; overrides E2E_PROFILE's
#   E2E_NETWORKING ovs: Neutron's OVS and L3 agents on a userspace Open
#                  vSwitch, servers with ports and the docs' networking
#                  walk-through (fixed and floating IPs), Neutron's metadata
#                  agent, and Tempest logs into its servers (validation);
#                  none: the Neutron API only, servers without ports,
#                  no validation (quicker); ovs
#   E2E_HORIZON    1: Horizon (DevStack's horizon service, under Apache);
#                  0: none; 1
#   E2E_CINDER     1: Cinder with the gate's loop file backend stand-in and
#                  the volumes walk-through; 0: no Cinder; 1
#   E2E_HEAT       1: Heat and its stack walk-through (with
#                  E2E_NETWORKING=ovs only); 0: no Heat; 1
#   E2E_BROWSER    1: after the cloud steps, tests/e2e/browser's walk-through
#                  of Horizon in Debian's chromium on this machine (installed
#                  then, with Playwright in a venv of E2E_WORK), screenshots
#                  in E2E_LOGS/browser; 0: not; 1 with E2E_HORIZON=1 and
#                  E2E_NETWORKING=ovs, else 0
#   E2E_USERNS_REMAP  the engine's userns-remap in the gate's DevStack
#                  (NOVA_DOCKER_USERNS_REMAP): "auto" (the plugin's default:
#                  the gate's new engine is remapped), "default" or "off";
#                  without it the guests' users cannot become their root
#                  (sudo, ping), and Tempest's tests that need that are
#                  left out (tempest-exclude-no-userns.txt); auto
#   E2E_NODES      1: one all-in-one node; 2: and, once the cloud steps
#                  and the browser's are done, a compute-only subnode
#                  (nova-compute, Placement's client, Neutron's OVS agent)
#                  in a second container, $E2E_NAME-sub, host name
#                  devstack-sub, on the same network with an engine of its
#                  own; vxlan between the nodes' userspace Open vSwitch,
#                  tools/discover_hosts.sh, both computes checked up, the
#                  moves between the nodes (guest/multinode-steps: resize,
#                  cold migration, shelve-offload and unshelve, evacuate)
#                  and Tempest with [compute] min_compute_nodes = 2; needs
#                  E2E_NETWORKING=ovs; 1
#   E2E_KEEP=1     leave the containers running for a look inside
#
# Every container and volume it starts is removed at the end.

set -o nounset
set -o pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$E2E_DIR/../.." && pwd)

E2E_GIT_BASE=${E2E_GIT_BASE:-https://opendev.org}
E2E_FILES=${E2E_FILES:-$REPO_DIR/../shared/cirros}
E2E_WORK=${E2E_WORK:-$REPO_DIR/.e2e}
E2E_LOGS=${E2E_LOGS:-$E2E_WORK/logs/$(date -u +%Y%m%d-%H%M%S)}
E2E_RECORD=${E2E_RECORD-$E2E_DIR/LAST_RUN.md}
E2E_KEEP=${E2E_KEEP:-0}
E2E_NETWORKING=${E2E_NETWORKING:-ovs}
E2E_PROFILE=${E2E_PROFILE:-full}
E2E_HORIZON=${E2E_HORIZON:-1}
E2E_CINDER=${E2E_CINDER:-1}
E2E_HEAT=${E2E_HEAT:-1}
E2E_USERNS_REMAP=${E2E_USERNS_REMAP:-auto}
E2E_NODES=${E2E_NODES:-1}
# What the driver lacks (volumes, consoles, resize...) skips by the plugin's
# tempest.conf
E2E_TEMPEST_REGEX=${E2E_TEMPEST_REGEX:-}
E2E_TEMPEST_CONCURRENCY=${E2E_TEMPEST_CONCURRENCY:-2}

E2E_IMAGE=nova-docker-e2e
E2E_BASE_IMAGE=nova-docker-e2e-base:bookworm
E2E_REGISTRY_IMAGE=debian:bookworm
E2E_NAME=nova-docker-e2e-$$
E2E_VOLUME=$E2E_NAME-docker
E2E_SUB_NAME=$E2E_NAME-sub
E2E_SUB_VOLUME=$E2E_SUB_NAME-docker
E2E_NETWORK=nova-docker-e2e
# With two nodes, the OVS agents' tunnels: a network of their own, each
# node's second interface
E2E_TUNNEL_NETWORK=nova-docker-e2e-tunnel
E2E_SUDO=
if [[ $EUID -ne 0 ]]; then
    E2E_SUDO=sudo
fi
E2E_CIRROS_VERSION=${E2E_CIRROS_VERSION:-}
E2E_PLUGIN_COMMIT=

function e2e_log {
    echo "[e2e $(date -u +%H:%M:%S)] $*" >&2
}

function e2e_die {
    e2e_log "ERROR: $*"
    exit 1
}

# shellcheck source=tests/e2e/lib/steps
source "$E2E_DIR/lib/steps"
# shellcheck source=tests/e2e/lib/host
source "$E2E_DIR/lib/host"
# shellcheck source=tests/e2e/lib/image
source "$E2E_DIR/lib/image"
# shellcheck source=tests/e2e/lib/container
source "$E2E_DIR/lib/container"
# shellcheck source=tests/e2e/lib/devstack
source "$E2E_DIR/lib/devstack"
# shellcheck source=tests/e2e/lib/subnode
source "$E2E_DIR/lib/subnode"
# shellcheck source=tests/e2e/lib/report
source "$E2E_DIR/lib/report"
# shellcheck source=tests/e2e/lib/browser
source "$E2E_DIR/lib/browser"

function e2e_prepare {
    e2e_check_settings
    e2e_browser_check_settings
    E2E_TEMPEST_REGEX=${E2E_TEMPEST_REGEX:-$(e2e_profile_regex)}
    e2e_host_setup
    if [[ -d $E2E_GIT_BASE && ! -d $E2E_GIT_BASE/openstack/devstack.git ]]; then
        e2e_die "E2E_GIT_BASE=$E2E_GIT_BASE has no openstack/devstack.git"
    fi
    mkdir -p "$E2E_WORK" "$E2E_LOGS"
    : > "$E2E_LOGS/steps.txt"
    # a network of the gate's own: it does not depend on docker0
    if ! docker network inspect "$E2E_NETWORK" > /dev/null 2>&1; then
        docker network create "$E2E_NETWORK" > /dev/null
    fi
    if e2e_two_nodes && ! docker network inspect "$E2E_TUNNEL_NETWORK" \
            > /dev/null 2>&1; then
        docker network create --internal "$E2E_TUNNEL_NETWORK" > /dev/null
    fi
    e2e_plugin_repo
    e2e_files
}

function e2e_stack {
    e2e_install_devstack
    e2e_guest ./stack.sh > "$E2E_LOGS/stack.txt" 2>&1
    local rc=$?
    tail -n 30 "$E2E_LOGS/stack.txt"
    e2e_record_commits
    return "$rc"
}

function e2e_cloud {
    e2e_guest_steps cloud e2e_guest env "E2E_NETWORKING=$E2E_NETWORKING" \
        "E2E_CINDER=$E2E_CINDER" "E2E_HEAT=$(e2e_heat)" \
        "$E2E_GUEST_DIR/gate/guest/cloud-steps"
}

function e2e_tempest {
    local rc
    e2e_guest_steps tempest e2e_guest env \
        "E2E_TEMPEST_REGEX=$E2E_TEMPEST_REGEX" \
        "E2E_TEMPEST_CONCURRENCY=$E2E_TEMPEST_CONCURRENCY" \
        "E2E_USERNS_REMAP=$E2E_USERNS_REMAP" \
        "$E2E_GUEST_DIR/gate/guest/tempest"
    rc=$?
    e2e_keep_tempest_results
    return "$rc"
}

# e2e_restack: unstack.sh and stack.sh again; Glance then has one cirros
function e2e_restack {
    local count
    e2e_guest ./unstack.sh > "$E2E_LOGS/unstack.txt" 2>&1 || return 1
    e2e_guest ./stack.sh > "$E2E_LOGS/restack.txt" 2>&1 || {
        tail -n 30 "$E2E_LOGS/restack.txt"
        return 1
    }
    count=$(e2e_guest openstack --os-cloud devstack image list --name cirros \
            -f value -c ID | wc -l)
    e2e_log "images named cirros after re-stack: $count"
    [[ $count -eq 1 ]]
}

function e2e_clean {
    e2e_guest ./clean.sh > "$E2E_LOGS/clean.txt" 2>&1
}

function e2e_finish {
    local rc=$? result=PASSED
    if [[ $rc -ne 0 ]] || grep -q ' FAILED$' "$E2E_LOGS/steps.txt" 2>/dev/null; then
        result=FAILED
    fi
    e2e_collect_logs
    e2e_write_report "$result" "$SECONDS"
    if [[ $E2E_KEEP == 1 ]]; then
        e2e_log "kept: docker exec -it $E2E_NAME bash; then docker rm -f $E2E_NAME; docker volume rm $E2E_VOLUME"
        if e2e_two_nodes; then
            e2e_log "kept: docker exec -it $E2E_SUB_NAME bash; then docker rm -f $E2E_SUB_NAME; docker volume rm $E2E_SUB_VOLUME"
        fi
    else
        e2e_remove
    fi
    e2e_log "$result in $SECONDS s; logs in $E2E_LOGS"
    [[ $result == PASSED ]]
}

function main {
    local image failed=0
    SECONDS=0
    e2e_prepare
    trap e2e_finish EXIT
    image=$(e2e_build_image) || exit 1
    e2e_step container e2e_start_container "$image" || exit 1
    e2e_step stack e2e_stack || exit 1
    e2e_step cloud e2e_cloud || failed=1
    if [[ $E2E_BROWSER == 1 ]]; then
        e2e_step browser e2e_browser || failed=1
    fi
    # the subnode joins after the cloud steps, which look for their
    # servers in the controller's engine, and before Tempest, which then
    # has two hosts to move servers between
    if e2e_two_nodes; then
        e2e_join_subnode "$image" || exit 1
        e2e_step multinode e2e_multinode_steps || failed=1
    fi
    e2e_step tempest e2e_tempest || failed=1
    if e2e_two_nodes; then
        e2e_step subnode-unstack e2e_unstack_subnode || failed=1
    fi
    e2e_step restack e2e_restack || exit 1
    e2e_step clean e2e_clean || failed=1
    exit $failed
}

main "$@"
