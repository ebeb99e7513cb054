# The lab: real Debian kernels (scripts/lab/kernels.list) booted in qemu from an initramfs,
# running the real-kernel test suites inside each guest.
#   make lab                      every kernel (amd64 5.10 / 6.1 / 6.12 / 7.x, arm64 6.1)
#   make lab KERNELS=6.1          one kernel (a name, a version of this machine's arch, or an arch)
#   make lab-fetch                only download and check the kernels (.deps/lab/kernels), the
#                                 BTF fixtures' own kernels for check --verify included
#   make lab-list-check           the fixture rows of kernels.list are current (make check)
#   make lab-flake RUNS=20        the whole lab RUNS times in a row; each run's verdict and the
#                                 boots/crashes its retries absorbed go to build/lab/flake-runs.jsonl
.PHONY: lab lab-fetch lab-list-check lab-flake
lab: deps
	$(MAKE) -s all native
	node scripts/lab/lab.mjs $(if $(KERNELS),--kernels "$(KERNELS)")

lab-flake: deps
	$(MAKE) -s all native
	node scripts/lab/flake-runs.mjs --runs $(or $(RUNS),20) $(if $(KERNELS),--kernels "$(KERNELS)")

lab-fetch:
	scripts/lab/fetch-kernels.sh

lab-list-check:
	node scripts/lab/fixture-kernels.mjs --check
