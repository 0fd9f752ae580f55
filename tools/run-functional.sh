#!/usr/bin/env bash
# The functional tier (tox -e functional -- [FILTER...]): the selected tests
# but the networking and native thread ones in one process, under eventlet
# as Nova's harness wants; then the native thread ones in a process without
# eventlet (OS_NOVA_DISABLE_EVENTLET_PATCHING=1, which Nova's monkey_patch
# and so tests/functional/__init__.py honour); then each selected
# networking test in a process of its own, so that the privsep daemons and
# os-vif state one test starts cannot carry into the next. A filter that
# selects none of a kind runs no pass for it.
#
# usage: tools/run-functional.sh [FILTER...]   (stestr's regex filters)

set -o nounset
set -o pipefail

NETWORK_TESTS=.test_network.
# The watcher on native threads, as nova-compute without eventlet runs it.
NATIVE_THREAD_TESTS=.test_events.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# select_tests <filter...>: the selected ids, split into $WORK/others,
# $WORK/threads and $WORK/network
function select_tests {
    # stestr lists tests only in a repository (a fresh clone has none)
    if [[ ! -d .stestr ]]; then
        stestr init > /dev/null || return 1
    fi
    if ! stestr list "$@" > "$WORK/all" 2> "$WORK/list-errors"; then
        cat "$WORK/list-errors" >&2
        return 1
    fi
    grep -vF -e "$NETWORK_TESTS" -e "$NATIVE_THREAD_TESTS" "$WORK/all" \
        > "$WORK/others"
    grep -F "$NATIVE_THREAD_TESTS" "$WORK/all" > "$WORK/threads"
    grep -F "$NETWORK_TESTS" "$WORK/all" > "$WORK/network"
    if [[ ! -s $WORK/all ]]; then
        echo "no functional test matches: $*" >&2
        return 1
    fi
}

function main {
    local rc=0 combine=() network
    select_tests "$@" || return 1
    if [[ -s $WORK/others ]]; then
        stestr run --concurrency 1 --load-list "$WORK/others" || rc=1
        combine=(--combine)
    fi
    if [[ -s $WORK/threads ]]; then
        OS_NOVA_DISABLE_EVENTLET_PATCHING=1 stestr run --concurrency 1 \
            "${combine[@]}" --load-list "$WORK/threads" || rc=1
        combine=(--combine)
    fi
    if [[ -s $WORK/network ]]; then
        # The isolated mode lists its tests again by filter (it ignores
        # --load-list): one anchored filter a selected test.
        mapfile -t network < <(sed 's/.*/^&$/' "$WORK/network")
        # stestr's isolated mode exits 1 even when every test passes: the
        # verdict is that of the recorded results.
        stestr run --isolated "${combine[@]}" "${network[@]}"
        stestr last > /dev/null || rc=1
    fi
    return "$rc"
}

main "$@"
