# cohort-sync: `make local` runs the whole pipeline on this machine, `make test` runs every test.
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

.PHONY: help test build lint clean

help:
	@echo "make local   run webhook -> queue -> sender locally (moto + a Segment sink)"
	@echo "make test    run every test (unit, integration on moto, end-to-end, cfn-lint)"

test: ## every test: unit (surefire), integration + end-to-end (failsafe, on moto), template lint
	$(MVN) verify
	@if [ -f template.yaml ]; then echo "cfn-lint template.yaml"; cfn-lint template.yaml; fi

build:
	$(MVN) -DskipTests package

clean:
	$(MVN) -q clean
