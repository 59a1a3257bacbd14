"""`python -m services.intake`: run the intake service as its own process."""

from services.runtime.run import serve

from .app import create_app
from .settings import IntakeSettings

if __name__ == "__main__":
    settings = IntakeSettings()
    serve(create_app(settings), settings)
