"""`python -m services.sla_monitor`: run the sla_monitor service as its own process."""

from services.runtime.run import serve

from .app import create_app
from .settings import SlaMonitorSettings

if __name__ == "__main__":
    settings = SlaMonitorSettings()
    serve(create_app(settings), settings)
