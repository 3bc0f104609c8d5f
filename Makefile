# Rookery: `make run` serves on :8080, `make test` runs every check. See README.md.
.PHONY: run test migrate fmt lint clean bench-media

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

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
	rm -rf .venv var
