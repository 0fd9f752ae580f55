#!/usr/bin/env bats
#
# tools/lib/glance: docker among Glance's container_formats. A rule
# without hooks, the same for both front ends.

setup() {
    source "$BATS_TEST_DIRNAME/../../tools/lib/glance"
}

@test "Glance's default list (none set) has docker already" {
    run nd_glance_container_formats "" ""
    [ "$status" -eq 1 ]
    [ -z "$output" ]
}

@test "an explicit list without docker gets it appended, nothing dropped" {
    [ "$(nd_glance_container_formats ami,ari,bare "")" = ami,ari,bare,docker ]
}

@test "a list with docker is left as it is, wherever docker stands" {
    run nd_glance_container_formats bare,docker,ovf ""
    [ "$status" -eq 1 ]
    run nd_glance_container_formats docker ""
    [ "$status" -eq 1 ]
    # a name that only contains docker is another format
    [ "$(nd_glance_container_formats bare,dockerfile "")" = bare,dockerfile,docker ]
}

@test "the deprecated [DEFAULT] list counts where [image_format] has none, and is carried over" {
    [ "$(nd_glance_container_formats "" bare,ovf)" = bare,ovf,docker ]
    run nd_glance_container_formats "" bare,docker
    [ "$status" -eq 1 ]
    # [image_format] wins
    [ "$(nd_glance_container_formats bare bare,docker)" = bare,docker ]
}
