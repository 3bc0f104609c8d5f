# Rookery: `make run` serves on :8080, `make test` runs every check. See README.md.
.PHONY: run test e2e realworld fuzz soak postman openapi api-doc config-doc migrate fmt lint clean bench bench-quick bench-media

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

# The Postman collection run by newman against the real service, and the OpenAPI check.
e2e:
	bash scripts/e2e.sh

# The RealWorld (Conduit) API, run by newman with postman/realworld.postman_collection.json.
realworld:
	bash scripts/realworld.sh

# Rewrites the Postman collections from postman/build.py and postman/realworld.py.
postman:
	python3 postman/build.py
	python3 postman/realworld.py

# Rewrites docs/CONFIGURATION.md's settings table from config/default.toml.
config-doc:
	python3 scripts/config_doc.py

# Prints the OpenAPI document (also served at /api/openapi.json).
openapi:
	@cargo run --quiet -- openapi

# Rewrites docs/API.md, the endpoint reference, from the OpenAPI document.
api-doc:
	mkdir -p var && cargo run --quiet -- openapi >var/openapi.json
	python3 scripts/api_reference.py var/openapi.json

# Seeds a data set, drives load at several concurrency levels, writes bench/RESULTS.md.
bench:
	bash scripts/bench.sh full

# The same at a small scale, in about two minutes.
bench-quick:
	bash scripts/bench.sh quick

# schemathesis against the live OpenAPI document; fails on any 5xx or off-schema answer.
fuzz:
	bash scripts/fuzz.sh

# Ten minutes of mixed load with client disconnects, then `rookery check`; bench/SOAK.md.
soak:
	bash scripts/soak.sh

bench-media:
	bash scripts/bench-media.sh

migrate:
	cargo run --quiet -- migrate

fmt:
	cargo fmt --all

lint:
	cargo clippy --all-targets -- -D warnings

clean:
	cargo clean
	rm -rf .venv var node_modules
