from baton.server import main
from identity_api.commands import COMMANDS
from identity_api.config import IdentitySettings
from identity_api.main import SERVICE, create_app

if __name__ == "__main__":
    main(SERVICE, IdentitySettings, create_app, extra_commands=COMMANDS)
