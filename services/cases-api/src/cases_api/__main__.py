from baton.server import main
from cases_api.commands import COMMANDS
from cases_api.config import CasesSettings
from cases_api.main import SERVICE, create_app

if __name__ == "__main__":
    main(SERVICE, CasesSettings, create_app, extra_commands=COMMANDS)
