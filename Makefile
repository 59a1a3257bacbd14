# The two commands of the README, and a few helpers. Everything runs inside the locked uv env.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: up test bootstrap stack-start stack-stop lint typecheck schemas asyncapi

up: bootstrap ## the whole system on the local default: stack, four services, health
	@$(UV) run --frozen python -m deploy.local.up $(ARGS)

test: ## every test suite against the real Kafka broker and MongoDB, the console in Chromium
	@deploy/local/bootstrap.sh --browser
	@$(UV) run --frozen pytest $(PYTEST_ARGS)

bootstrap:
	@deploy/local/bootstrap.sh

stack-start: bootstrap ## only Kafka and MongoDB, in the background
	@$(UV) run --frozen python -m deploy.local.stack start

stack-stop:
	@$(UV) run --frozen python -m deploy.local.stack stop

lint:
	@$(UV) run --frozen ruff check .

typecheck:
	@$(UV) run --frozen mypy contracts services deploy

schemas: ## regenerate contracts/schemas after a model change (refuses breaking changes)
	@$(UV) run --frozen python -m contracts.schemas

asyncapi: ## regenerate contracts/asyncapi after a change of schemas, topics or subscriptions
	@$(UV) run --frozen python -m deploy.asyncapi
