# unsub-recon — every target is one line; `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
STAMP := node_modules/.installed

help: ## list the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund && touch $(STAMP)

install: $(STAMP) ## install dependencies (npm ci) and build dist/
	npm run build

build: $(STAMP) ## compile TypeScript to dist/ (what bin/unsub-recon.js runs)
	npm run build

check: $(STAMP) ## format check, lint, typecheck, then every test
	npx biome format . && npx biome lint . && npx tsc --noEmit && $(MAKE) test

format: $(STAMP) ## rewrite files with the project's formatting
	npx biome check --write .

test: install ## run every test (installs first when needed)
	npx vitest run

reliability: install ## full fault, crash, bad-input and security matrices, then regenerate RELIABILITY.md
	RELIABILITY_FULL=1 UNSUB_SKIP_BUILD=1 npx vitest run test/reliability; status=$$?; npx tsx test/reliability/render.ts; exit $$status

demo: install ## run the main job on the built-in provider simulators
	bash pipelines/demo.sh

bench: install ## benchmarks; figures printed and written to bench/RESULTS.md
	node --expose-gc --import tsx bench/run.ts

clean: ## remove build output and generated data (keeps node_modules)
	rm -rf dist data/runs data/sandbox data/demo data/*.duckdb data/*.duckdb.wal

.PHONY: help install build check format test demo bench clean reliability
