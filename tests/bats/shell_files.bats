#!/usr/bin/env bats
#
# tools/shell-files: what the linters' tiers (shellcheck, bashate) check.

load helpers/fake_devstack

setup() {
    REPO=$BATS_TEST_TMPDIR/repo
    mkdir -p "$REPO/tools" "$REPO/lib"
    cp "$ND_REPO/tools/shell-files" "$REPO/tools/"
    git -C "$REPO" init -q
}

@test "every tracked file that runs bash or sh, and nothing else" {
    printf '#!/usr/bin/env bash\necho a\n' > "$REPO/new-script"
    printf '#!/bin/bash\n# sourced\n' > "$REPO/lib/functions"
    printf '#!/bin/sh\nexit 0\n' > "$REPO/lib/posix"
    printf '#!/usr/bin/env python3\n' > "$REPO/tool.py"
    printf '#!/usr/bin/env bats\n' > "$REPO/test.bats"
    printf 'no shebang\n' > "$REPO/notes"
    : > "$REPO/empty"
    printf '#!/bin/bash\n' > "$REPO/untracked"
    git -C "$REPO" add tools new-script lib tool.py test.bats notes empty
    run "$REPO/tools/shell-files"
    [ "$status" -eq 0 ]
    [ "$output" = "lib/functions
lib/posix
new-script
tools/shell-files" ]
}

@test "this repository's own: the plugin, the gate's libraries and itself" {
    run "$ND_REPO/tools/shell-files"
    [ "$status" -eq 0 ]
    for path in devstack/plugin.sh devstack/lib/nova_docker \
            tests/e2e/lib/report tests/e2e/guest/tempest \
            tools/nova-docker-provision tools/shell-files .ci/run; do
        [[ $'\n'"$output"$'\n' == *$'\n'"$path"$'\n'* ]]
    done
    [[ "$output" != *".bats"* ]]
}
