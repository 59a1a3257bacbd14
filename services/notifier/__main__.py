"""`python -m services.notifier`: run the notifier service as its own process."""

from services.runtime.run import serve

from .app import create_app
from .settings import NotifierSettings

if __name__ == "__main__":
    settings = NotifierSettings()
    serve(create_app(settings), settings)
