"""`python -m services.routing`: run the routing service as its own process."""

from services.runtime.run import serve

from .app import create_app
from .settings import RoutingSettings

if __name__ == "__main__":
    settings = RoutingSettings()
    serve(create_app(settings), settings)
