# cohort-sync: `make local` runs the whole pipeline on this machine, `make test` runs every test,
# `make bench` measures what a change costs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A JDK >= 21 is needed (Lambda java21); the machine default may be older. find-jdk.sh prints one
# (JAVA_HOME if it qualifies, else the newest under /usr/lib/jvm) or explains in one line.
JAVA_HOME := $(shell scripts/find-jdk.sh)
ifeq ($(JAVA_HOME),)
$(error no JDK >= 21 found (see the line above); set JAVA_HOME to one)
endif
export JAVA_HOME
export PATH := $(JAVA_HOME)/bin:$(PATH)
MVN ?= mvn -B -ntp

.PHONY: help test local e2e-scale cli bench chaos load build lint clean build-WebhookFunction build-SenderFunction

help:
	@echo "make local   run webhook -> queue -> sender locally (moto + a Segment sink)"
	@echo "             LAMBDA_RUNTIME=ric make local: the sam-build packages under the real Lambda runtime client"
	@echo "make test    run every test (unit, integration on moto, end-to-end, cfn-lint); EMULATOR=localstack: on LocalStack (Docker)"
	@echo "make e2e-scale  a 20,000-user cohort end to end on the local stack (6-10 min; not in make test)"
	@echo "make cli ARGS=\"rejected --stack cohort-sync\"   the operator tool (or bin/cohort-sync ...): rejected, replay, backfill, status (ARGS=--help)"
	@echo "make bench   cost, throughput and cold start on moto, priced (~10 min; writes target/bench/)"
	@echo "             BENCH_OPTS=-Dbench.only=cold-start: the cold starts alone (first request without / after SnapStart priming)"
	@echo "make chaos   seeded chaos schedules through both handlers (SEED=…, RUNS=…); fails on a broken promise"
	@echo "make load    a burst of concurrent webhook pages on the local stack; prints throughput and latency"
	@echo "sam build    package the three functions (calls make build-WebhookFunction / build-SenderFunction / build-ReconcilerFunction)"

# EMULATOR picks the integration suites' AWS emulator (README "Develop"): unset or moto, moto_server; localstack,
# LocalStack in Docker through Testcontainers. Any other value, or localstack without a Docker engine, stops here
# with one line before a suite runs. The testkit is built quietly for the check (its log: target/emulator-check.log).
# --enable-native-access: Testcontainers' Docker check loads JNA, which JDK 24+ would warn about in four lines.
define emulator-check
	@if [ -n "$${EMULATOR:-}" ] && [ "$${EMULATOR}" != moto ]; then \
		mkdir -p target; \
		$(MVN) -q -DskipTests -pl testkit -am package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt \
			-Dmdep.includeScope=runtime > target/emulator-check.log 2>&1 \
			|| { echo "building the testkit for the EMULATOR check failed: see target/emulator-check.log" >&2; exit 1; }; \
		java --enable-native-access=ALL-UNNAMED -cp "testkit/target/classes:$$(cat testkit/target/classpath.txt)" \
			io.cohortsync.testkit.Emulator || exit 1; \
	fi
endef

test: ## every test: unit (surefire), integration + end-to-end (failsafe, on moto or EMULATOR=localstack), template lint
	$(emulator-check)
	$(MVN) verify
	@if [ -f template.yaml ]; then echo "cfn-lint template.yaml"; cfn-lint template.yaml; fi

# The whole pipeline in the foreground until Ctrl-C: moto (started here unless AWS_ENDPOINT_URL names
# an emulator; EMULATOR=localstack starts LocalStack in Docker instead, or says in one line that there is no
# Docker engine), the real handlers behind an API Gateway / SQS event-source stand-in, and a Segment sink
# (or SEGMENT_ENDPOINT). Dummy credentials: nothing here talks to real AWS. LAMBDA_RUNTIME=ric runs each
# function's sam-build package (built like `sam build`, reused from target/sam-packages/) under the real
# Lambda runtime client instead of in this JVM (README "Quick start"); the two switches combine.
local:
	$(MVN) -q -DskipTests -pl local -am package dependency:build-classpath \
		-Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-testing} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-testing} \
		AWS_REGION=$${AWS_REGION:-us-east-1} \
		java --enable-native-access=ALL-UNNAMED -cp "local/target/classes:$$(cat local/target/classpath.txt)" \
		io.cohortsync.local.LocalMain

# LocalPipelineScaleE2EIT alone (README "Quick start"): one 20,000-user cohort through two full syncs, a
# rename and racing diffs on the local stack; prints its wall time per phase. Excluded from `make test`
# (local/pom.xml) because moto makes it take 6-10 minutes here. Only this module's failsafe run:
# -Dtest=none and the it.test name skip every other test of the modules -am builds.
e2e-scale:
	$(emulator-check)
	$(MVN) -pl local -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
		-Dit.test=LocalPipelineScaleE2EIT -Dfailsafe.failIfNoSpecifiedTests=false

# The operator tool (README "Operator commands"): `make cli ARGS="replay --stack cohort-sync"`, the same as
# `bin/cohort-sync replay --stack cohort-sync` (the launcher builds the CLI when its sources changed). Talks to real
# AWS through the SDK's default credential and region chains, or to `make local` with --local.
cli:
	@MVN="$(MVN)" bin/cohort-sync $(if $(ARGS),$(ARGS),--help)

# The real handlers on moto + a Segment stand-in: every AWS request counted and priced with
# bench/prices.json, against the floor and a naive design; CPU per page; cold start of the packages
# the build-* targets below make. Prints a Markdown table, writes target/bench/results.{json,md}.
# Not part of `make test` (bench/README.md). Dummy credentials: nothing here talks to real AWS.
# BENCH_OPTS passes sizes, e.g. BENCH_OPTS='-Dbench.fullSyncUsers=100000'.
bench:
	$(MVN) -q -DskipTests -pl bench -am package dependency:build-classpath \
		-Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing AWS_REGION=us-east-1 \
		java $(BENCH_OPTS) -cp "bench/target/classes:$$(cat bench/target/classpath.txt)" io.cohortsync.bench.BenchMain .

# Full syncs of 10k, 100k and 1M users with 1% exits and a rename of a 1M-user cohort (clean, and with a
# crash mid-rename), through the real webhook and reconciler handlers on in-memory ports billed by
# DynamoDB's rules: page time, reconcile time, CPU and heap, units, calls, the per-partition limits'
# least wall time (computed), 10M extrapolated. Prints the tables, writes target/bench/scale.{json,md};
# exits 1 if a promise broke. Not part of `make test` (ScaleSmokeTest is). No emulator, no network.
# SCALE_OPTS passes sizes, e.g. SCALE_OPTS='-Dscale.sizes=10000,100000 -Dscale.renameUsers=100000'.
.PHONY: bench-scale
bench-scale:
	$(MVN) -q -DskipTests -pl bench -am package dependency:build-classpath \
		-Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
	java $(SCALE_OPTS) -cp "bench/target/classes:$$(cat bench/target/classpath.txt)" io.cohortsync.bench.ScaleMain .

# The reliability suite's drivers (reliability/README.md), on their own moto_server like `make local`.
SEED ?= 20261128
RUNS ?= 50
RELIABILITY_BUILD = $(MVN) -q -DskipTests -pl reliability -am package dependency:build-classpath \
	-Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
RELIABILITY_JAVA = AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-testing} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-testing} \
	AWS_REGION=$${AWS_REGION:-us-east-1} java -cp "reliability/target/classes:$$(cat reliability/target/classpath.txt)"

chaos: ## RUNS seeded schedules from SEED; prints the table, exits 1 if any promise broke
	$(RELIABILITY_BUILD)
	$(RELIABILITY_JAVA) io.cohortsync.reliability.chaos.ChaosMain --seed $(SEED) --runs $(RUNS)

load: ## 50 concurrent 1,000-user pages plus concurrent replays on the local stack; prints the figures
	$(RELIABILITY_BUILD)
	$(RELIABILITY_JAVA) io.cohortsync.reliability.load.LoadMain

build:
	$(MVN) -DskipTests package

clean:
	$(MVN) -q clean

# `sam build` (BuildMethod: makefile, CodeUri: .) copies the repo to a scratch directory and runs
# `make build-<LogicalId>` there with ARTIFACTS_DIR set. The Lambda Java runtime puts the artifact
# root and every lib/*.jar on the classpath, so: the function's classes at the root, its runtime
# dependencies (the shared module's jar included) in lib/. One Maven run builds just that module and
# what it needs (-am) from a clean state and copies its runtime scope; nothing goes to ~/.m2.
build-WebhookFunction:
	$(call package-function,webhook)

build-SenderFunction:
	$(call package-function,sender)

.PHONY: build-ReconcilerFunction
build-ReconcilerFunction:
	$(call package-function,reconciler)

define package-function
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
	@test -f functions/$(1)/pom.xml || { echo "functions/$(1)/pom.xml not found" >&2; exit 1; }
	$(MVN) -q -Dmaven.test.skip=true -Dlambda-runtime.skip=true -pl functions/$(1) -am clean package \
		dependency:copy-dependencies -DincludeScope=runtime
	@# Only the function module's own runtime scope: -am also builds modules it needs for its tests
	@# (testkit), whose target/dependency must not reach the package. `clean` keeps stale jars out.
	@# maven.test.skip: test sources are not even compiled, since no package contains them.
	@# lambda-runtime.skip: testkit's copy of the Lambda runtime client (for tests) is not needed here.
	mkdir -p "$(ARTIFACTS_DIR)/lib"
	cp functions/$(1)/target/dependency/*.jar "$(ARTIFACTS_DIR)/lib/"
	cp -R functions/$(1)/target/classes/. "$(ARTIFACTS_DIR)/"
	@# The SDK's Apache and Netty clients are excluded in the root pom; fail loudly if one slips back in.
	@if ls "$(ARTIFACTS_DIR)/lib" | grep -E '^(apache-client|apache5-client|netty-nio-client)-'; then \
		echo "an SDK HTTP client we do not use reached the $(1) package (see the root pom's exclusions)" >&2; exit 1; fi
endef
