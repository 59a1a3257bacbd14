"""`python -m services.console`: run the console as its own process."""

import uvicorn

from services.runtime.logs import configure_logging

from .app import create_app
from .settings import ConsoleSettings

if __name__ == "__main__":
    settings = ConsoleSettings()
    configure_logging(settings.service_name, settings.log_level)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                log_config=None, loop="asyncio",
                timeout_graceful_shutdown=int(settings.graceful_timeout_s))
