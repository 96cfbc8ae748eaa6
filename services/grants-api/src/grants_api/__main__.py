from baton.server import main
from grants_api.commands import COMMANDS
from grants_api.config import GrantsSettings
from grants_api.main import SERVICE, create_app

if __name__ == "__main__":
    main(SERVICE, GrantsSettings, create_app, extra_commands=COMMANDS)
