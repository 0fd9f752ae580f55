load /work/main/tests/bats/helpers/fake_devstack
setup() { nd_setup; }
@test dbg {
  run nd_phase stack pre-install
  echo "status=$status" >&3
  echo "$output" | tail -20 >&3
  cat $ND_CALLS >&3
}
